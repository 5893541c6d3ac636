#pragma once
// A 2-D weight matrix [rows = output features, cols = input features] in one of the engine's
// weight types. Float types are plain row-major; block-quantized types are stored in row panels
// (kernels/quant_panels.h). `data` points either into an owned buffer (kept alive by `owner`) or into a
// memory-mapped checkpoint.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gemma4 {

class ThreadPool;

enum class WeightType : uint8_t { F32, BF16, F16, Q8_0, Q4_0 };

// Bumped whenever the in-memory layout of a converted matrix changes (block formats, packing):
// converted-weight caches written by an older layout are then rebuilt.
constexpr int kWeightLayoutVersion = 3;  // 2: Q8_0 / Q4_0 in 16-row panels; 3: scales beside their block pair

std::string_view weight_type_name(WeightType t);
std::optional<WeightType> parse_weight_type(std::string_view name);

// Source element types a matrix can be converted from (what safetensors stores).
enum class SourceType : uint8_t { F32, F16, BF16 };

struct WeightMatrix {
  WeightType type = WeightType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;

  size_t byte_size() const;
};

// Bytes one row of `cols` values occupies in type `t` (for Q types: in llama.cpp's row-major blocks,
// which the panel layout keeps per weight).
size_t row_bytes(WeightType t, int64_t cols);
// Bytes of a whole rows × cols matrix in its in-memory layout (Q types: 16-row panels, the last one
// padded; see kernels/quant_panels.h).
size_t matrix_bytes(WeightType t, int64_t rows, int64_t cols);

// Converts (and quantizes, for Q types) a row-major source matrix into type `target`.
// When the source is already in the target float type, the result points at `src` without a copy
// unless `copy` is true. Quantized types need cols to be a multiple of their block size.
WeightMatrix make_weight_matrix(SourceType src_type, const void* src, int64_t rows, int64_t cols,
                                WeightType target, bool copy = false);

// Same, with the conversion spread over `pool` (null: on the calling thread). Results are
// identical to the single-threaded overload.
WeightMatrix make_weight_matrix(SourceType src_type, const void* src, int64_t rows, int64_t cols,
                                WeightType target, bool copy, ThreadPool* pool);

// Storage for converted weights; large buffers are aligned to and backed by huge pages where the
// OS allows it.
std::shared_ptr<uint8_t> allocate_weight_buffer(size_t bytes);

// Decodes row `r` of `m` into `out[cols]` as float32 (exact for float types, dequantized for Q).
void dequantize_row(const WeightMatrix& m, int64_t r, float* out);

}  // namespace gemma4
