#pragma once
// Internal: the per-path implementations behind kernels/ops.h and kernels/kv_ops.h. The public
// functions pick one with active_kernel_path(); tests call both and compare.
#include <cstdint>

#include "kernels/kv_ops.h"

namespace gemma4 {

double sum_squares_portable(const float* x, int64_t n);
double sum_squares_avx2(const float* x, int64_t n);
// out = x * inv * w (w may be null).
void scale_by_weights_avx2(const float* x, const float* w, float inv, int64_t n, float* out);
void apply_rope_avx2(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos, const float* sin);
void gelu_tanh_mul_avx2(const float* gate, const float* up, int64_t n, float* out);
void softmax_avx2(float* x, int64_t n, float* max_out, float* sum_out);
void softcap_avx2(float* x, int64_t n, float cap);
void add_avx2(float* y, const float* x, int64_t n);
void scale_avx2(float* y, float s, int64_t n);
void mul_avx2(float* y, const float* x, int64_t n);
float dot_f32_avx2(const float* a, const float* b, int64_t n);

void kv_store_avx2(const float* src, int64_t n, KvType type, void* dst);
float kv_dot_avx2(const float* q, const void* k, KvType type, int64_t n);
void kv_axpy_avx2(float a, const void* v, KvType type, int64_t n, float* acc);
void kv_dot_heads_avx2(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                       int64_t n, float* scores);
void kv_axpy_heads_avx2(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                        int64_t n, float* out, int64_t out_stride);

// AVX-512 forms (kv_ops_avx512.cpp), taken on the AVX2 path when vnni_supported().
float kv_dot_avx512(const float* q, const void* k, KvType type, int64_t n);
void kv_axpy_avx512(float a, const void* v, KvType type, int64_t n, float* acc);
void kv_dot_heads_avx512(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                         int64_t n, float* scores);
void kv_axpy_heads_avx512(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                          int64_t n, float* out, int64_t out_stride);

// NEON forms (ops_neon.cpp, kv_ops_neon.cpp), taken on every AArch64 path (is_arm_path).
double sum_squares_neon(const float* x, int64_t n);
void scale_by_weights_neon(const float* x, const float* w, float inv, int64_t n, float* out);
void apply_rope_neon(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos, const float* sin);
void add_neon(float* y, const float* x, int64_t n);
void scale_neon(float* y, float s, int64_t n);
void mul_neon(float* y, const float* x, int64_t n);
float dot_f32_neon(const float* a, const float* b, int64_t n);
void gelu_tanh_mul_neon(const float* gate, const float* up, int64_t n, float* out);
void softmax_neon(float* x, int64_t n, float* max_out, float* sum_out);
void softcap_neon(float* x, int64_t n, float cap);
float kv_dot_neon(const float* q, const void* k, KvType type, int64_t n);
void kv_axpy_neon(float a, const void* v, KvType type, int64_t n, float* acc);
void kv_dot_heads_neon(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                       int64_t n, float* scores);
void kv_axpy_heads_neon(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                        int64_t n, float* out, int64_t out_stride);

}  // namespace gemma4
