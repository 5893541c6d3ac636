#pragma once
// A read-only memory mapping of a whole file, unmapped when the object dies. Checkpoints are read
// through mappings so that tensors are paged in on demand and can be dropped again after use.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace gemma4::io {

class MappedFile {
 public:
  // Maps `path` read-only. Throws gemma4::Error naming the file when it is missing, is not a
  // regular file, cannot be read, or is empty (an empty mapping is never a valid checkpoint).
  static MappedFile open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Drops the resident pages fully inside [offset, offset + length). Partial pages at either end
  // are kept because they may hold bytes of a neighbouring tensor that is still in use.
  void advise_dontneed(size_t offset, size_t length) const;
  // Hints that [offset, offset + length) will be read soon (sequentially).
  void advise_willneed(size_t offset, size_t length) const;

 private:
  void unmap() noexcept;

  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gemma4::io
