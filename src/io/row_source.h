#pragma once
// Rows of one 2-D table (the per-layer embedding table) fetched one at a time. The native build
// reads them from the checkpoint mapping; the WebAssembly build reads each row from the file on
// demand (io/file_reader.h) so that the 4.7 GB table of E2B never enters the wasm heap.
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "io/file_reader.h"

namespace gemma4::io {

class RowSource {
 public:
  virtual ~RowSource() = default;
  size_t row_bytes() const { return row_bytes_; }
  int64_t rows() const { return rows_; }
  // The bytes of row `row` (0 <= row < rows()): a pointer into the source, or `scratch` (row_bytes()
  // long) filled with them.
  virtual const uint8_t* row(int64_t row, uint8_t* scratch) const = 0;

 protected:
  RowSource(int64_t rows, size_t row_bytes) : rows_(rows), row_bytes_(row_bytes) {}

 private:
  int64_t rows_;
  size_t row_bytes_;
};

// Rows inside memory that outlives the source (a mapped or loaded tensor).
class MemoryRowSource : public RowSource {
 public:
  MemoryRowSource(const uint8_t* data, int64_t rows, size_t row_bytes) : RowSource(rows, row_bytes), data_(data) {}
  const uint8_t* row(int64_t row, uint8_t* scratch) const override;

 private:
  const uint8_t* data_;
};

struct RowReadStats {
  int64_t lookups = 0;     // rows asked for
  int64_t file_reads = 0;  // rows read from the file (cache misses)
  uint64_t bytes_read = 0;
};

// Rows read from a file at `offset + row * row_bytes`, the last `cache_rows` rows asked kept in a
// least-recently-used cache (a prompt repeats tokens; decoding asks one row per step).
class FileRowSource : public RowSource {
 public:
  FileRowSource(std::shared_ptr<const FileReader> file, uint64_t offset, int64_t rows, size_t row_bytes,
                size_t cache_rows = 64);
  const uint8_t* row(int64_t row, uint8_t* scratch) const override;
  RowReadStats stats() const;

 private:
  std::shared_ptr<const FileReader> file_;
  uint64_t offset_;
  size_t cache_rows_;
  mutable std::mutex mutex_;
  mutable std::list<std::pair<int64_t, std::vector<uint8_t>>> lru_;  // most recent first
  mutable std::unordered_map<int64_t, decltype(lru_)::iterator> index_;
  mutable RowReadStats stats_;
};

}  // namespace gemma4::io
