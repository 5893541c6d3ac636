#pragma once
// The single-file model (`.g4w`): everything a load needs in one file that `gemma4 convert` writes
// and both engines (native and WebAssembly) read. A converted file skips the conversion, is a
// third smaller than the checkpoint (for E2B at q4_0) and is one download in a browser.
//
// Layout (little-endian). Every blob starts at a multiple of 4096 (the first matrix at a multiple
// of 2 MiB), so that the native engine maps the matrices in place, in huge pages, and a browser
// reads each one with a single Range request:
//   [0, 64)     header {magic "G4WMODEL", format version, weight layout version, index offset,
//               index bytes, file bytes, index checksum, header checksum, reserved}, padded to 4096
//   blobs       the small files the model folder had (config.json, tokenizer.json,
//               generation_config.json, ...); one safetensors section with every tensor that is
//               used as stored (norms, scalars, the embedding tables, looked up row by row); and
//               the converted matrices, in the engine's own layout of the weight type
//   index       JSON {format, weight_type, source, files: [{name, offset, bytes, xxh3}],
//               checkpoint: {offset, bytes}, tensors: [{name, xxh3}],
//               matrices: [{name, type, rows, cols, offset, bytes, xxh3}]}
// Checksums are XXH3-64 (xxhash), as 16 hex digits. The header and index are checked at every
// open; a file's and a matrix's checksum when it is read (they are read whole); the stored
// tensors' by verify(), since the tables among them are never read whole.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_reader.h"
#include "io/safetensors.h"

namespace gemma4::io {

inline constexpr uint32_t kModelFileFormatVersion = 1;
inline constexpr uint64_t kModelFileAlignment = 4096;
// In a file of more than 64 MiB before them, the matrices follow one another from a 2 MiB
// boundary: the native engine maps them in huge pages.
inline constexpr uint64_t kModelFileMatrixAlignment = uint64_t{2} << 20;

// XXH3-64 of `bytes`, the checksum of every blob.
uint64_t content_checksum(const void* bytes, size_t length);

// True when `path` is a regular file that starts with the model file's magic.
bool is_model_file(const std::filesystem::path& path);

// The text of the model's file `name` (e.g. "config.json"): `model`/`name` in a model folder, the
// embedded copy in a model file; nullopt when there is none. Throws gemma4::Error naming the file
// when it exists but cannot be read (or does not match its checksum).
std::optional<std::string> read_model_text(const std::filesystem::path& model, std::string_view name);

struct ModelFileMatrix {
  std::string name;
  std::string type;  // a weight type name: "q4_0", "q8_0", "bf16", ...
  int64_t rows = 0, cols = 0;
  uint64_t offset = 0, bytes = 0;
  uint64_t checksum = 0;
};

struct ModelFileBlob {
  std::string name;
  uint64_t offset = 0, bytes = 0;
  uint64_t checksum = 0;
};

class ModelFile {
 public:
  // Opens `path` and checks its header and index (magic, versions, checksums, every blob inside
  // the file and aligned). Throws gemma4::Error naming the file and the defect.
  static ModelFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::string& weight_type() const { return weight_type_; }
  const std::string& source() const { return source_; }  // what it was converted from
  // The engine's weight layout (kWeightLayoutVersion) its matrices are in.
  uint32_t layout_version() const { return layout_version_; }
  uint64_t size() const { return reader_->size(); }
  const std::shared_ptr<const FileReader>& reader() const { return reader_; }

  // The embedded file `name` (e.g. "config.json"), checksum verified; nullopt when it has none.
  std::optional<std::string> text(std::string_view name) const;
  const std::vector<ModelFileBlob>& files() const { return files_; }
  // The safetensors section of the tensors used as stored.
  FileSection checkpoint() const { return checkpoint_; }
  const std::vector<ModelFileMatrix>& matrices() const { return matrices_; }
  const ModelFileMatrix* matrix(std::string_view name) const;
  // Throws gemma4::Error naming the matrix when `bytes` (its `m.bytes` bytes) do not match its checksum.
  void check_matrix(const ModelFileMatrix& m, const uint8_t* bytes) const;

  // Reads every blob and checks its checksum (the stored tensors included); throws gemma4::Error
  // naming the first one that does not match. `progress` gets the fraction of the file checked.
  void verify(const std::function<void(double)>& progress = {}) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const FileReader> reader_;
  std::string weight_type_, source_;
  uint32_t layout_version_ = 0;
  std::vector<ModelFileBlob> files_;
  std::vector<ModelFileBlob> tensor_checksums_;  // name and checksum only
  FileSection checkpoint_;
  std::vector<ModelFileMatrix> matrices_;
};

// Writes a model file blob by blob (no more than one matrix in memory at a time) into
// `path`.tmp, renamed to `path` by finish(). Order: files, then the checkpoint section, then
// matrices, then finish().
class ModelFileWriter {
 public:
  ModelFileWriter(const std::filesystem::path& path, std::string weight_type, std::string source,
                  uint32_t layout_version);
  ~ModelFileWriter();  // removes the temporary file unless finish() succeeded
  ModelFileWriter(const ModelFileWriter&) = delete;
  ModelFileWriter& operator=(const ModelFileWriter&) = delete;

  void add_file(const std::string& name, std::string_view text);
  // The stored tensors: fill(i, out, nbytes) writes the bytes of specs[i].
  void add_checkpoint(const std::vector<TensorSpec>& specs,
                      const std::function<void(size_t index, uint8_t* out, size_t nbytes)>& fill);
  void add_matrix(const std::string& name, std::string_view type, int64_t rows, int64_t cols,
                  const uint8_t* bytes, uint64_t length);
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gemma4::io
