#include "model/synth/synth_random.h"

#include <cmath>
#include <cstring>

#include "gemma4/error.h"
#include "kernels/numeric.h"

namespace gemma4::synth {
namespace {

// splitmix64 finaliser: a strong enough mix of a counter for test weights, and branch-free.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct UniformRange {
  float center;
  float half_width;
};

UniformRange range_for(const SynthTensor& tensor) {
  switch (tensor.init) {
    case InitKind::kNorm:
      return {1.0f, 0.1f};
    case InitKind::kLayerScalar:
      return {0.75f, 0.25f};
    case InitKind::kEmbedding:
      return {0.0f, 0.02f * std::sqrt(3.0f)};  // uniform(-a, a) has std a / sqrt(3)
    case InitKind::kMatrix: {
      const auto& shape = tensor.spec.shape;
      const double cols = shape.empty() ? 1.0 : static_cast<double>(std::max<int64_t>(shape.back(), 1));
      return {0.0f, static_cast<float>(std::sqrt(3.0 / cols))};
    }
  }
  return {0.0f, 0.0f};
}

// Top 24 bits of a 32-bit draw -> value in [center - half, center + half).
inline float to_value(uint32_t bits, UniformRange r) {
  const float unit = static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
  return r.center + r.half_width * (2.0f * unit - 1.0f);
}

}  // namespace

void fill_synth_bf16(const SynthTensor& tensor, uint64_t seed, size_t tensor_index, size_t byte_offset,
                     uint8_t* out, size_t len) {
  if (tensor.spec.dtype != io::DType::BF16)
    throw Error("synthetic tensor '" + tensor.spec.name + "' must be BF16");
  if (byte_offset % 4 != 0 || len % 2 != 0)
    throw Error("synthetic fill of '" + tensor.spec.name + "' needs chunks that start 4-byte aligned");
  const UniformRange range = range_for(tensor);
  const uint64_t stream = mix64(seed ^ mix64(tensor_index + 1));
  // One 64-bit draw yields the two BF16 values of one 4-byte pair.
  const size_t first_pair = byte_offset / 4;
  const size_t pairs = len / 4;
  for (size_t p = 0; p < pairs; ++p) {
    const uint64_t r = mix64(stream + first_pair + p);
    const uint16_t lo = f32_to_bf16(to_value(static_cast<uint32_t>(r), range));
    const uint16_t hi = f32_to_bf16(to_value(static_cast<uint32_t>(r >> 32), range));
    // Little-endian element order, independent of the host.
    out[4 * p + 0] = static_cast<uint8_t>(lo & 0xff);
    out[4 * p + 1] = static_cast<uint8_t>(lo >> 8);
    out[4 * p + 2] = static_cast<uint8_t>(hi & 0xff);
    out[4 * p + 3] = static_cast<uint8_t>(hi >> 8);
  }
  if (len % 4 == 2) {  // odd element count: the last value is the low half of the next draw
    const uint64_t r = mix64(stream + first_pair + pairs);
    const uint16_t lo = f32_to_bf16(to_value(static_cast<uint32_t>(r), range));
    out[len - 2] = static_cast<uint8_t>(lo & 0xff);
    out[len - 1] = static_cast<uint8_t>(lo >> 8);
  }
}

}  // namespace gemma4::synth
