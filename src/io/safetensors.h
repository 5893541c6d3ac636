#pragma once
// Read-only access to safetensors checkpoints through mmap: a single `model.safetensors` or a
// sharded set listed by `model.safetensors.index.json`. Every header is validated when opened
// (JSON shape, dtype names, shapes, offsets in bounds, sizes = shape × dtype, no overlaps) and
// every error names the file and the tensor.
#include <cstdint>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::io {

enum class DType : uint8_t { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

std::string_view dtype_name(DType d);  // "F32", "BF16", ... as spelled in safetensors headers
size_t dtype_size(DType d);

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mapped file; nullptr when the file is read (Checkpoint::acquire)
  uint64_t nbytes = 0;  // 64-bit on every target: E2B's per-layer table is 4.7 GB, past a wasm32 size_t
  uint64_t file_offset = 0;  // where its bytes start in `file`
  std::filesystem::path file;  // the file that holds it, for error messages

  int64_t numel() const;
};

class MappedFile;  // defined in io/mapped_file.h
class FileReader;  // defined in io/file_reader.h

// How a checkpoint is read. By default every file is memory-mapped. With `keep_on_disk` set, the
// files are read instead of mapped: no tensor has `data`; Checkpoint::acquire() reads one into
// the heap when it is needed and release() frees it (after converting it), and the tensors
// `keep_on_disk` names are meant never to be read whole (read their rows through reader() at
// file_offset, e.g. with io::FileRowSource). The WebAssembly build reads this way: its mmap copies
// the whole file in, and E2B's tensors (4.6 GB besides the per-layer table) do not fit its 4 GB
// heap at once.
struct CheckpointReadOptions {
  std::function<bool(std::string_view tensor_name)> keep_on_disk;
};

// Where in its file a safetensors file lies: the whole file, or a section of a model file
// (io/model_file.h).
struct FileSection {
  uint64_t offset = 0;
  uint64_t length = UINT64_MAX;  // to the end of the file
};

class SafetensorsFile {
 public:
  // Maps and validates one .safetensors file (the bytes of `section`). Throws gemma4::Error naming
  // the file on any defect.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path,
                                               const CheckpointReadOptions& read = {},
                                               const FileSection& section = {});

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }
  const MappedFile* mapping() const { return mapping_.get(); }  // nullptr when read, not mapped
  const std::shared_ptr<const FileReader>& reader() const { return reader_; }  // set when read

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  std::shared_ptr<const FileReader> reader_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint folder, whichever layout it uses.
class Checkpoint {
 public:
  // `dir` holds model.safetensors, or model.safetensors.index.json plus its shards; or `dir` is
  // one .safetensors file, or a model file (io/model_file.h: its section of stored tensors).
  static Checkpoint open(const std::filesystem::path& dir, const CheckpointReadOptions& read = {});

  const TensorView* find(std::string_view name) const;  // nullptr when absent
  const TensorView& get(std::string_view name) const;   // throws gemma4::Error naming it
  std::vector<std::string> names() const;
  const std::filesystem::path& dir() const { return dir_; }
  // The file that holds tensor `t` (its reader() is set when the checkpoint was read, not mapped).
  const SafetensorsFile& file_of(const TensorView& t) const;
  size_t heap_bytes() const;  // tensor bytes read into the heap and not released (0 when mapped)

  // The bytes of tensor `t`: its mapping, or (a checkpoint that is read) a copy read into the heap
  // now and kept until release(t). Throws gemma4::Error naming the file when the read fails.
  const uint8_t* acquire(const TensorView& t) const;
  // The bytes of `t` if they are in memory now (mapped, or acquired and not released), else nullptr.
  const uint8_t* held(const TensorView& t) const;

  // Done with tensor `t` (converted): a read copy is freed; a mapping's pages are given back to the
  // OS (they leave the resident set; a later read maps them in again from the page cache).
  void release(const TensorView& t) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*, std::less<>> by_name_;
  // Read copies by tensor; shared so that a moved Checkpoint keeps them. Loads run on one thread,
  // the mutex only keeps concurrent readers (a test, a tool) safe.
  struct ReadCopies;
  std::shared_ptr<ReadCopies> copies_;
};

// ---- Writing (for `gemma4 synth`, tests and fixture generators) ----

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

// Writes a safetensors file tensor by tensor, never holding more than one tensor in memory:
// fill(i, out, nbytes) must write exactly the nbytes bytes of specs[i] into `out`; it is not
// called for tensors of zero bytes.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const std::function<void(size_t index, uint8_t* out, size_t nbytes)>& fill,
                       const std::map<std::string, std::string>& metadata = {});

// The bytes of a safetensors file before its data (header length and header), for writers that
// write the data themselves (a model file's tensor section): the tensors follow in `specs` order.
std::string safetensors_prefix(const std::vector<TensorSpec>& specs,
                               const std::map<std::string, std::string>& metadata = {});

// Bytes a tensor of this spec occupies; throws gemma4::Error on a negative or overflowing shape.
size_t tensor_nbytes(const TensorSpec& spec);

// Same file layout, for tensors too large to hold at once: fill(i, byte_offset, out, len) writes
// bytes [byte_offset, byte_offset + len) of specs[i] into `out`. Each tensor is requested in
// consecutive chunks of `chunk_bytes` (rounded up to a multiple of 8, so chunks start on element
// boundaries) and a shorter last chunk. The file is written to `path.tmp` and renamed at the end.
using ChunkFill = std::function<void(size_t index, size_t byte_offset, uint8_t* out, size_t len)>;
void write_safetensors_chunked(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                               const ChunkFill& fill, const std::map<std::string, std::string>& metadata = {},
                               size_t chunk_bytes = size_t{64} << 20);

}  // namespace gemma4::io
