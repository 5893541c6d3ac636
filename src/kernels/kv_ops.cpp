#include "kernels/kv_ops.h"

#include <cstring>

#include "kernels/cpu_dispatch.h"
#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/ops_kernels.h"

namespace gemma4 {

std::string_view kv_type_name(KvType t) {
  switch (t) {
    case KvType::F32: return "f32";
    case KvType::F16: return "f16";
    case KvType::BF16: return "bf16";
  }
  return "?";
}

std::optional<KvType> parse_kv_type(std::string_view name) {
  for (KvType t : {KvType::F32, KvType::F16, KvType::BF16})
    if (kv_type_name(t) == name) return t;
  return std::nullopt;
}

size_t kv_type_size(KvType t) { return t == KvType::F32 ? 4 : 2; }

namespace {
inline float load(const void* p, KvType type, int64_t i) {
  switch (type) {
    case KvType::F32: return static_cast<const float*>(p)[i];
    case KvType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case KvType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
  return 0.0f;
}
}  // namespace

void kv_store(const float* src, int64_t n, KvType type, void* dst) {
  if (active_kernel_path() == KernelPath::Avx2) return kv_store_avx2(src, n, type, dst);
  switch (type) {
    case KvType::F32: std::memcpy(dst, src, n * sizeof(float)); break;
    case KvType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_f16(src[i]);
      break;
    case KvType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_bf16(src[i]);
      break;
  }
}

// The AVX2 path has an AVX-512 tier on the machines that run the VNNI matmuls (vnni_supported()
// also honours GEMMA4_KERNELS=avx2).
float kv_dot(const float* q, const void* k, KvType type, int64_t n) {
  if (active_kernel_path() == KernelPath::Avx2)
    return vnni_supported() ? kv_dot_avx512(q, k, type, n) : kv_dot_avx2(q, k, type, n);
  if (is_arm_path(active_kernel_path())) return kv_dot_neon(q, k, type, n);
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += q[i] * load(k, type, i);
  return acc;
}

void kv_axpy(float a, const void* v, KvType type, int64_t n, float* acc) {
  if (active_kernel_path() == KernelPath::Avx2)
    return vnni_supported() ? kv_axpy_avx512(a, v, type, n, acc) : kv_axpy_avx2(a, v, type, n, acc);
  if (is_arm_path(active_kernel_path())) return kv_axpy_neon(a, v, type, n, acc);
  for (int64_t i = 0; i < n; ++i) acc[i] += a * load(v, type, i);
}

void kv_dot_heads(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type, int64_t n,
                  float* scores) {
  if (active_kernel_path() == KernelPath::Avx2) {
    if (vnni_supported()) return kv_dot_heads_avx512(q, heads, rows, len, type, n, scores);
    return kv_dot_heads_avx2(q, heads, rows, len, type, n, scores);
  }
  if (is_arm_path(active_kernel_path())) return kv_dot_heads_neon(q, heads, rows, len, type, n, scores);
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h) scores[h * len + t] = kv_dot(q + h * n, rows[t], type, n);
}

void kv_axpy_heads(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                   int64_t n, float* out, int64_t out_stride) {
  if (active_kernel_path() == KernelPath::Avx2) {
    if (vnni_supported()) return kv_axpy_heads_avx512(weights, heads, rows, len, type, n, out, out_stride);
    return kv_axpy_heads_avx2(weights, heads, rows, len, type, n, out, out_stride);
  }
  if (is_arm_path(active_kernel_path()))
    return kv_axpy_heads_neon(weights, heads, rows, len, type, n, out, out_stride);
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h) kv_axpy(weights[h * len + t], rows[t], type, n, out + h * out_stride);
}

}  // namespace gemma4
