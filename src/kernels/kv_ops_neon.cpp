// AArch64 NEON forms of the attention primitives (kernels/kv_ops.h) over f32 / f16 / bf16 rows,
// shared by every AArch64 tier. f16 rows widen with fcvtl (exact), bf16 rows with a 16-bit shift.
// kv_axpy does the portable path's operations per element (a · v, then the add; no fused
// multiply-add), so the weighted sums give its bits; kv_dot sums 16 lanes, then the tail.
// The many-heads forms call the one-head forms per head and row, so they have their bits exactly.
#include "kernels/ops_kernels.h"

#include <cstring>

#include "kernels/numeric.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace gemma4 {

namespace {
inline float load1(const void* p, KvType type, int64_t i) {
  switch (type) {
    case KvType::F32: return static_cast<const float*>(p)[i];
    case KvType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case KvType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
  return 0.0f;
}

#if defined(__aarch64__)
inline float32x4_t load4(const void* p, KvType type, int64_t i) {
  switch (type) {
    case KvType::F32: return vld1q_f32(static_cast<const float*>(p) + i);
    case KvType::F16:
      return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(static_cast<const uint16_t*>(p) + i)));
    case KvType::BF16:
      return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(static_cast<const uint16_t*>(p) + i), 16));
  }
  return vdupq_n_f32(0.0f);
}
#endif
}  // namespace

float kv_dot_neon(const float* q, const void* k, KvType type, int64_t n) {
  int64_t i = 0;
  float sum = 0.0f;
#if defined(__aarch64__)
  float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
  for (; i + 16 <= n; i += 16)
    for (int c = 0; c < 4; ++c) acc[c] = vfmaq_f32(acc[c], vld1q_f32(q + i + 4 * c), load4(k, type, i + 4 * c));
  sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
#endif
  for (; i < n; ++i) sum += q[i] * load1(k, type, i);
  return sum;
}

void kv_axpy_neon(float a, const void* v, KvType type, int64_t n, float* acc) {
  int64_t i = 0;
#if defined(__aarch64__)
  const float32x4_t av = vdupq_n_f32(a);
  for (; i + 4 <= n; i += 4) vst1q_f32(acc + i, vaddq_f32(vld1q_f32(acc + i), vmulq_f32(av, load4(v, type, i))));
#endif
  for (; i < n; ++i) acc[i] += a * load1(v, type, i);
}

void kv_dot_heads_neon(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type, int64_t n,
                       float* scores) {
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h) scores[h * len + t] = kv_dot_neon(q + h * n, rows[t], type, n);
}

void kv_axpy_heads_neon(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                        int64_t n, float* out, int64_t out_stride) {
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h) kv_axpy_neon(weights[h * len + t], rows[t], type, n, out + h * out_stride);
}

}  // namespace gemma4
