#pragma once
// Internal: AArch64 NEON exp and tanh for the vectorized kernels (ops_neon.cpp). The same
// operations in the same order as simd_math_avx2.h (range reduction, Cephes polynomials, fused
// multiply-adds where it has them), so an element gets the same bits as on the AVX2 path: IEEE
// add, multiply, divide and fma are exactly rounded on both.
#include <arm_neon.h>

namespace gemma4::simd {

inline float32x4_t exp_f32x4(float32x4_t x) {
  // Below this the result is subnormal or zero; flush to zero (softmax and tanh only need that).
  const float32x4_t lowest = vdupq_n_f32(-87.33654f);
  const uint32x4_t zero_mask = vcltq_f32(x, lowest);
  x = vminq_f32(x, vdupq_n_f32(88.3762626647949f));
  x = vmaxq_f32(x, lowest);
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));  // ties to even
  // x - n·ln2 in two steps so the reduction stays exact.
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  // n can reach 128 at the top of the range: scale by 2^(n-1) twice to stay representable.
  const int32x4_t ni = vcvtq_s32_f32(n);  // n is integral: truncation is exact
  const int32x4_t half_exp = vshrq_n_s32(ni, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half_exp, bias), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, half_exp), bias), 23));
  const float32x4_t result = vmulq_f32(vmulq_f32(p, s1), s2);
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(result), zero_mask));
}

inline float32x4_t tanh_f32x4(float32x4_t x) {
  const float32x4_t ax = vabsq_f32(x);
  // |x| ≥ 0.625: 1 - 2 / (e^{2|x|} + 1), sign restored afterwards.
  const float32x4_t e = exp_f32x4(vaddq_f32(ax, ax));
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t big_abs = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, one)));
  const uint32x4_t sign_bit = vdupq_n_u32(0x80000000u);
  const float32x4_t big = vreinterpretq_f32_u32(
      vorrq_u32(vreinterpretq_u32_f32(big_abs), vandq_u32(vreinterpretq_u32_f32(x), sign_bit)));
  // |x| < 0.625: odd polynomial (Cephes tanhf coefficients).
  const float32x4_t z = vmulq_f32(x, x);
  float32x4_t p = vdupq_n_f32(-5.70498872745e-3f);
  p = vfmaq_f32(vdupq_n_f32(2.06390887954e-2f), p, z);
  p = vfmaq_f32(vdupq_n_f32(-5.37397155531e-2f), p, z);
  p = vfmaq_f32(vdupq_n_f32(1.33314422036e-1f), p, z);
  p = vfmaq_f32(vdupq_n_f32(-3.33332819422e-1f), p, z);
  const float32x4_t small = vfmaq_f32(x, vmulq_f32(p, z), x);
  return vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.625f)), small, big);
}

}  // namespace gemma4::simd
