#pragma once
// What a converted-weight cache file was built from, as text: the weight type, the engine's
// weight layout version, and for config.json and every safetensors file (or shard) its size,
// modification time, inode, a hash of its header and a hash of 16 slices of its data. Any change to the checkpoint, the weight type or
// the packing code gives another key.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "kernels/weight_matrix.h"

namespace gemma4 {

// 64-bit FNV-1a: checksums of cache headers and short names; not a cryptographic hash.
uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);

// Throws gemma4::Error when a checkpoint file cannot be read.
std::string weight_cache_key(const std::filesystem::path& model_dir, WeightType type);

// The cache file's name for this folder and type: "<folder>-<hash of its absolute path>-<type>.g4wcache" (not a model file: `gemma4 convert` writes those).
std::string weight_cache_file_name(const std::filesystem::path& model_dir, WeightType type);

}  // namespace gemma4
