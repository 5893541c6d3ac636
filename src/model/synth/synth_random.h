#pragma once
// Deterministic random BF16 values for synthetic checkpoints. Each value depends only on
// (seed, tensor index, element index), so chunking and threading never change the output.
//
// Distributions (uniform, chosen so a forward pass stays numerically sane):
//   kMatrix      [rows, cols]: mean 0, std 1/sqrt(cols) (like N(0,1)/sqrt(fan_in))
//   kNorm        1 +- 0.1 (Gemma 4 norms multiply by the stored weight directly)
//   kLayerScalar 0.5 .. 1.0
//   kEmbedding   mean 0, std 0.02
#include <cstddef>
#include <cstdint>

#include "model/synth/synth_checkpoint.h"

namespace gemma4::synth {

// Fills `out` with bytes [byte_offset, byte_offset + len) of tensor `tensor_index` (a BF16 tensor);
// byte_offset must be a multiple of 4 (len may end on an odd element at the tensor's end).
void fill_synth_bf16(const SynthTensor& tensor, uint64_t seed, size_t tensor_index, size_t byte_offset,
                     uint8_t* out, size_t len);

}  // namespace gemma4::synth
