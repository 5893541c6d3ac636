#pragma once
// Reads byte ranges of one file with pread, without mapping it. On the WebAssembly build this is
// the file edge: emscripten's file system turns each read into a call on the JS side (Node's
// fs.readSync under NODERAWFS, File.slice + FileReaderSync under WORKERFS), so only the bytes
// asked for enter the wasm heap.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace gemma4::io {

class FileReader {
 public:
  // Opens `path` read-only. Throws gemma4::Error naming the file when it is missing, is not a
  // regular file or cannot be opened.
  static FileReader open(const std::filesystem::path& path);

  FileReader() = default;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  FileReader(FileReader&& other) noexcept;
  FileReader& operator=(FileReader&& other) noexcept;
  ~FileReader();

  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Copies bytes [offset, offset + length) into `out`. Throws gemma4::Error naming the file when
  // the range runs past the end or the read fails. Safe from several threads at once.
  void read(uint64_t offset, size_t length, uint8_t* out) const;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace gemma4::io
