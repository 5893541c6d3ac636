// Internal: the float steps of the quantized panel kernels on AArch64 (quant_panels.h), shared by
// the NEON, dot-product and i8mm tiers. Include it after panel_driver.h inside the anonymous
// namespace of a kernel's translation unit, below its target pragma (see panel_driver.h).
//
// A panel's 16 rows are four int32x4 / float32x4 registers: register q holds rows 4q..4q+3.

// acc = fma(float(dot), d_w · d_a, acc) for the 16 rows of one block and one token: the same IEEE
// operations, in the same order, as the portable path (f16 → f32 is exact; the convert of an
// int32 below 2^24 is exact; vfmaq_f32 is a fused multiply-add like std::fma).
inline void apply_block_scales(const uint16_t* scales, float a_scale, const int32x4_t (&dots)[4],
                               float32x4_t (&acc)[4]) {
  const float32x4_t da = vdupq_n_f32(a_scale);
  for (int q = 0; q < 4; ++q) {
    const float32x4_t wd = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(scales + 4 * q)));
    acc[q] = vfmaq_f32(acc[q], vcvtq_f32_s32(dots[q]), vmulq_f32(wd, da));
  }
}

inline void store_results(const PanelTask& task, int64_t t, const float32x4_t (&acc)[4]) {
  if (task.lo == 0 && task.hi == kPanelRows) {
    float* y = task.p->y + t * task.p->y_stride + task.row0;
    for (int q = 0; q < 4; ++q) vst1q_f32(y + 4 * q, acc[q]);
    return;
  }
  float values[kPanelRows];
  for (int q = 0; q < 4; ++q) vst1q_f32(values + 4 * q, acc[q]);
  store_panel_lanes(task, t, values);
}

// The stored weights as signed bytes: Q8_0 q + 128 → q; Q4_0 nibble → q − 8 (low and high nibbles).
inline int8x16_t q8_signed(const uint8_t* p) {
  return vreinterpretq_s8_u8(veorq_u8(vld1q_u8(p), vdupq_n_u8(0x80)));
}
inline int8x16_t q4_low_signed(uint8x16_t bytes) {
  return vsubq_s8(vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0f))), vdupq_n_s8(8));
}
inline int8x16_t q4_high_signed(uint8x16_t bytes) {
  return vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4)), vdupq_n_s8(8));
}

inline void zero(float32x4_t (&v)[4]) {
  for (auto& x : v) x = vdupq_n_f32(0.0f);
}
inline void zero(int32x4_t (&v)[4]) {
  for (auto& x : v) x = vdupq_n_s32(0);
}
