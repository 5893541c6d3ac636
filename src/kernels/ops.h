#pragma once
// Element-wise and row-wise operations of the Gemma 4 forward pass, on float32 activations.
#include <cstdint>

namespace gemma4 {

// out = x / sqrt(mean(x²) + eps) * w   (w may be null: no scale). out may alias x.
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// Rotate-half RoPE on one head vector of size head_dim in place: dimension i pairs with
// i + head_dim/2 for i < rotated_pairs (the rest stay unchanged). cos/sin hold rotated_pairs values.
void apply_rope(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos,
                const float* sin);

// gelu_pytorch_tanh(gate) * up, element-wise, into out (may alias gate).
void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out);
void gelu_tanh_inplace(float* x, int64_t n);

// x = softmax(x) over n values (numerically stable). When given, *max_out receives max(x) and
// *sum_out Σ exp(x - max) (what blocked attention needs to merge partial softmaxes).
void softmax_inplace(float* x, int64_t n, float* max_out = nullptr, float* sum_out = nullptr);

// y += x; y *= s; x = cap * tanh(x / cap)
void add_inplace(float* y, const float* x, int64_t n);
void scale_inplace(float* y, float s, int64_t n);
void softcap_inplace(float* x, int64_t n, float cap);
void mul_inplace(float* y, const float* x, int64_t n);

float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace gemma4
