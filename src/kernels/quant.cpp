#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/numeric.h"

namespace gemma4 {

void quantize_row_q8_0(const float* x, int64_t n, void* out) {
  auto* blocks = static_cast<BlockQ8_0*>(out);
  for (int64_t b = 0; b < n / kQ8BlockSize; ++b) {
    const float* xb = x + b * kQ8BlockSize;
    float amax = 0.0f;
    for (int i = 0; i < kQ8BlockSize; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = f32_to_f16(d);
    // Round half away from zero like lround, but in a form the compiler vectorizes (lround is a
    // libm call per weight and dominated load time).
    for (int i = 0; i < kQ8BlockSize; ++i) {
      const float v = xb[i] * id;
      blocks[b].q[i] = static_cast<int8_t>(static_cast<int>(v + (v >= 0.0f ? 0.5f : -0.5f)));
    }
  }
}

void dequantize_row_q8_0(const void* in, int64_t n, float* out) {
  const auto* blocks = static_cast<const BlockQ8_0*>(in);
  for (int64_t b = 0; b < n / kQ8BlockSize; ++b) {
    float d = f16_to_f32(blocks[b].d);
    for (int i = 0; i < kQ8BlockSize; ++i) out[b * kQ8BlockSize + i] = d * blocks[b].q[i];
  }
}

void quantize_row_q4_0(const float* x, int64_t n, void* out) {
  // Written branch-free so the compiler vectorizes it: quantizing E2B at load is 2.3 B weights.
  auto* blocks = static_cast<BlockQ4_0*>(out);
  constexpr int kHalf = kQ4BlockSize / 2;
  for (int64_t b = 0; b < n / kQ4BlockSize; ++b) {
    const float* xb = x + b * kQ4BlockSize;
    // The value of largest magnitude maps to -8 so the full signed range is used (on a tie of
    // +m and -m, the one that comes first).
    float mx = xb[0], mn = xb[0];
    for (int i = 1; i < kQ4BlockSize; ++i) {
      mx = std::max(mx, xb[i]);
      mn = std::min(mn, xb[i]);
    }
    float extreme = -mn > mx ? mn : mx;
    if (-mn == mx && mn != mx) {
      for (int i = 0; i < kQ4BlockSize; ++i)
        if (xb[i] == mn || xb[i] == mx) {
          extreme = xb[i];
          break;
        }
    }
    const float d = extreme / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = f32_to_f16(d);
    uint8_t q[kQ4BlockSize];
    for (int i = 0; i < kQ4BlockSize; ++i) {
      // |x·id| <= 8, so x·id + 8.5 lies in [0.5, 16.5]: truncation is floor here.
      int v = static_cast<int>(xb[i] * id + 8.5f);
      q[i] = static_cast<uint8_t>(std::min(15, std::max(0, v)));
    }
    for (int j = 0; j < kHalf; ++j) blocks[b].q[j] = static_cast<uint8_t>(q[j] | (q[j + kHalf] << 4));
  }
}

void dequantize_row_q4_0(const void* in, int64_t n, float* out) {
  const auto* blocks = static_cast<const BlockQ4_0*>(in);
  for (int64_t b = 0; b < n / kQ4BlockSize; ++b) {
    float d = f16_to_f32(blocks[b].d);
    for (int j = 0; j < kQ4BlockSize / 2; ++j) {
      out[b * kQ4BlockSize + j] = d * ((blocks[b].q[j] & 0x0f) - 8);
      out[b * kQ4BlockSize + j + kQ4BlockSize / 2] = d * ((blocks[b].q[j] >> 4) - 8);
    }
  }
}

void resize_activations(QuantizedActivations& out, int64_t rows, int64_t blocks, bool with_block_bias) {
  out.rows = rows;
  out.blocks = blocks;
  out.scales.resize(rows * blocks);
  out.quants.resize(rows * blocks * 32);
  out.block_bias.resize(with_block_bias ? rows * blocks : 0);
}

void quantize_activations_portable(const float* x, int64_t rows, int64_t stride, int64_t cols,
                                   int32_t bias_offset, QuantizedActivations& out) {
  const int64_t blocks = cols / 32;
  resize_activations(out, rows, blocks, bias_offset != 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + r * stride + b * 32;
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      out.scales[r * blocks + b] = d;
      int8_t* q = out.quants.data() + (r * blocks + b) * 32;
      for (int i = 0; i < 32; ++i) q[i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
      if (bias_offset != 0) {
        int32_t sum = 0;
        for (int i = 0; i < 32; ++i) sum += q[i];
        out.block_bias[r * blocks + b] = -bias_offset * sum;
      }
    }
  }
}

int32_t dot_block_q8_0(const BlockQ8_0& w, const int8_t* a) {
  int32_t sum = 0;
  for (int i = 0; i < 32; ++i) sum += static_cast<int32_t>(w.q[i]) * a[i];
  return sum;
}

int32_t dot_block_q4_0(const BlockQ4_0& w, const int8_t* a) {
  int32_t sum = 0;
  for (int j = 0; j < 16; ++j) {
    sum += ((w.q[j] & 0x0f) - 8) * static_cast<int32_t>(a[j]);
    sum += ((w.q[j] >> 4) - 8) * static_cast<int32_t>(a[j + 16]);
  }
  return sum;
}

}  // namespace gemma4
