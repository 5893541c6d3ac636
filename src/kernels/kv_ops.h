#pragma once
// Vector primitives over KV-cache rows stored as float32, float16 or bfloat16.
#include <cstdint>
#include <optional>
#include <string_view>

namespace gemma4 {

enum class KvType : uint8_t { F32, F16, BF16 };

std::string_view kv_type_name(KvType t);
std::optional<KvType> parse_kv_type(std::string_view name);
size_t kv_type_size(KvType t);

// dst[0..n) = src converted to `type`.
void kv_store(const float* src, int64_t n, KvType type, void* dst);
// Σ q[i] * k[i] with k in `type`.
float kv_dot(const float* q, const void* k, KvType type, int64_t n);
// acc[i] += a * v[i] with v in `type`.
void kv_axpy(float a, const void* v, KvType type, int64_t n, float* acc);

// The query heads that share one KV head against `len` cached rows at once, so each row is read and
// converted once for all of them. Every result has exactly the bits of the one-at-a-time calls:
//   kv_dot_heads:  scores[h * len + t] = kv_dot(q + h * n, rows[t], type, n)
//   kv_axpy_heads: for t in order, for every h: kv_axpy(weights[h * len + t], rows[t], type, n,
//                  out + h * out_stride)
void kv_dot_heads(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type, int64_t n,
                  float* scores);
void kv_axpy_heads(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                   int64_t n, float* out, int64_t out_stride);

}  // namespace gemma4
