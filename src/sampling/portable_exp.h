#pragma once
// exp() for sampling weights, written in plain float arithmetic so that (1) every platform computes
// bit-identical weights, keeping seeded draws reproducible where libm implementations differ, and
// (2) loops over a 262,144-entry vocabulary auto-vectorise. Relative error is about 2 ulp.
#include <bit>
#include <cstdint>

namespace gemma4 {

// exp(x) for x <= 0 (the sampler's scaled logits minus their max); below the smallest normal float
// the result is 0, so -inf gives 0. NaN gives a meaningless finite value (never UB): callers
// filter NaN. Only selects, no branches, so loops calling it vectorise.
inline float portable_exp(float x) {
  constexpr float kLowest = -87.33654f;  // exp(kLowest) ~ FLT_MIN, the smallest normal float
  const float floored = x > kLowest ? x : kLowest;  // NaN lands here too
  const float clamped = floored > 0.0f ? 0.0f : floored;
  // Round to nearest integer with the 1.5 * 2^23 trick: no libm call, vectorises everywhere.
  constexpr float kRoundingShift = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + kRoundingShift) - kRoundingShift;
  // r = x - n ln2, with ln2 split in two so the subtraction stays exact (Cody-Waite).
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  // Minimax polynomial for exp(r) on [-ln2/2, ln2/2] (Cephes expf coefficients).
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);
  return x < kLowest ? 0.0f : p * scale;
}

}  // namespace gemma4
