#include "io/row_source.h"

#include <cstring>
#include <string>
#include <utility>

#include "gemma4/error.h"

namespace gemma4::io {

const uint8_t* MemoryRowSource::row(int64_t row, uint8_t*) const {
  return data_ + static_cast<size_t>(row) * row_bytes();
}

FileRowSource::FileRowSource(std::shared_ptr<const FileReader> file, uint64_t offset, int64_t rows,
                             size_t row_bytes, size_t cache_rows)
    : RowSource(rows, row_bytes), file_(std::move(file)), offset_(offset), cache_rows_(cache_rows) {
  const uint64_t end = offset + static_cast<uint64_t>(rows) * row_bytes;
  if (end > file_->size())
    throw Error(file_->path().string() + ": table of " + std::to_string(rows) + " rows at offset " +
                std::to_string(offset) + " runs past the end of the file");
}

const uint8_t* FileRowSource::row(int64_t row, uint8_t* scratch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.lookups;
  auto hit = index_.find(row);
  if (hit != index_.end()) {
    lru_.splice(lru_.begin(), lru_, hit->second);
    std::memcpy(scratch, hit->second->second.data(), row_bytes());
    return scratch;
  }
  file_->read(offset_ + static_cast<uint64_t>(row) * row_bytes(), row_bytes(), scratch);
  ++stats_.file_reads;
  stats_.bytes_read += row_bytes();
  if (cache_rows_ == 0) return scratch;
  if (lru_.size() >= cache_rows_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(row, std::vector<uint8_t>(scratch, scratch + row_bytes()));
  index_[row] = lru_.begin();
  return scratch;
}

RowReadStats FileRowSource::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace gemma4::io
