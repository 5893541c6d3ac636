#pragma once
// The two ends of a model file (io/model_file.h) that know about weights: the store that serves a
// file's converted matrices to load_weights(), and `gemma4 convert`, which writes one.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "model/weights.h"

namespace gemma4 {

// The converted matrices of a model file, for load_weights(): mapped in place, or (`read`, as the
// WebAssembly build loads) read into the heap one at a time. Each is checked against its checksum
// when it is served. Throws gemma4::Error naming the file when its matrices are not in `type` or
// were converted for another weight layout.
std::unique_ptr<ConvertedWeightStore> open_model_file_weights(const std::filesystem::path& file, WeightType type,
                                                              bool read);

struct ConvertOptions {
  WeightType weight_type = WeightType::Q4_0;
  ThreadPool* pool = nullptr;
  std::function<void(double fraction)> progress;  // of the conversion (then the file is written)
};

struct ConvertResult {
  uint64_t file_bytes = 0;
  size_t matrices = 0;       // converted
  size_t stored_tensors = 0; // kept as they were (norms, scalars, embedding tables)
};

// Loads the model folder `model_dir` at `options.weight_type` and writes it as one model file at
// `out` (through `out`.tmp, renamed when complete). The vision and audio towers of a multimodal
// checkpoint are left out. Throws gemma4::Error naming what failed.
ConvertResult convert_to_model_file(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                                    const ConvertOptions& options);

}  // namespace gemma4
