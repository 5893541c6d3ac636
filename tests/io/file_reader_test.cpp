// io::FileReader reads the bytes asked for wherever they lie: past 2 GB and 4 GB of a file (E2B's
// model.safetensors is 9.3 GB) and into buffers past 2 GB of the address space. The same test runs
// on the WebAssembly build (wasm_file_reader_test), whose file system calls once took offsets and
// addresses as signed 32-bit numbers.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gemma4/error.h"
#include "io/file_reader.h"
#include "io/row_source.h"
#include "io/safetensors.h"

namespace gemma4::io {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// A sparse file of `size` bytes with `marker(offset)` written at each of `offsets` (through lseek
// and write, which carry 64-bit offsets on every build).
class SparseFile {
 public:
  SparseFile(uint64_t size, const std::vector<uint64_t>& offsets)
      : path_(std::filesystem::temp_directory_path() / ("gemma4-file-reader-" + std::to_string(::getpid()))) {
    const int fd = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    EXPECT_GE(fd, 0);
    for (uint64_t at : offsets) write_at(fd, at, marker(at));
    write_at(fd, size - 1, "z");
    ::close(fd);
  }
  ~SparseFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

  static std::string marker(uint64_t offset) { return "at " + std::to_string(offset) + "!"; }

 private:
  static void write_at(int fd, uint64_t offset, const std::string& bytes) {
    ASSERT_EQ(::lseek(fd, static_cast<off_t>(offset), SEEK_SET), static_cast<off_t>(offset));
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  std::filesystem::path path_;
};

std::string read_string(const FileReader& file, uint64_t offset, size_t length, uint8_t* out) {
  file.read(offset, length, out);
  return std::string(reinterpret_cast<const char*>(out), length);
}

TEST(FileReader, ReadsPastTwoAndFourGigabytesOfAFile) {
  const std::vector<uint64_t> offsets = {1000, 2 * kGiB + 5, 4 * kGiB + 1000, 5 * kGiB - 64};
  SparseFile sparse(5 * kGiB, offsets);
  const FileReader file = FileReader::open(sparse.path());
  EXPECT_EQ(file.size(), 5 * kGiB);
  uint8_t buffer[64];
  for (uint64_t at : offsets) {
    const std::string want = SparseFile::marker(at);
    EXPECT_EQ(read_string(file, at, want.size(), buffer), want) << "at " << at;
  }
  // A read that starts below 4 GB and ends above it.
  file.read(4 * kGiB - 8, 16, buffer);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer), 16), std::string(16, '\0'));
  EXPECT_THROW(file.read(5 * kGiB - 4, 8, buffer), Error);
}

TEST(FileReader, ReadsIntoBuffersPastTwoGigabytesOfMemory) {
  const uint64_t at = 4 * kGiB + 1000;
  SparseFile sparse(4 * kGiB + 4096, {at});
  const FileReader file = FileReader::open(sparse.path());
  // Blocks of 256 MB until one lies past 2 GB of the address space (on wasm32 too: its heap
  // grows to 4 GB).
  std::vector<std::unique_ptr<uint8_t[]>> blocks;
  const size_t block = 256 << 20;
  uint8_t* high = nullptr;
  while (!high && blocks.size() < 16) {
    blocks.emplace_back(new uint8_t[block]);
    if (reinterpret_cast<uintptr_t>(blocks.back().get()) > uintptr_t{2} * kGiB) high = blocks.back().get() + block - 64;
  }
  ASSERT_NE(high, nullptr);
  const std::string want = SparseFile::marker(at);
  EXPECT_EQ(read_string(file, at, want.size(), high), want);
}

// A tensor past 4 GB (E2B's per-layer table: [262144, 8960] bf16, 4.7 GB) has its true size on
// every build, and its last row is where the size says: a 32-bit size once wrapped it to 0.4 GB
// on the WebAssembly build, and every row lookup read the wrong bytes without an error.
TEST(FileReader, ATensorPastFourGigabytesKeepsItsSizeAndRows) {
  constexpr int64_t rows = 262144, cols = 8960;
  constexpr uint64_t row_bytes = cols * 2, nbytes = rows * row_bytes;
  std::string header = R"({"t":{"dtype":"BF16","shape":[262144,8960],"data_offsets":[0,)" + std::to_string(nbytes) + "]}}";
  while ((8 + header.size()) % 8) header += ' ';
  const uint64_t data = 8 + header.size();
  const uint64_t last_row = data + (rows - 1) * row_bytes;
  SparseFile sparse(data + nbytes, {last_row});
  {
    const int fd = ::open(sparse.path().c_str(), O_WRONLY);
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
    ASSERT_EQ(::pwrite(fd, len, 8, 0), 8);
    ASSERT_EQ(::pwrite(fd, header.data(), header.size(), 8), static_cast<ssize_t>(header.size()));
    ::close(fd);
  }
  const Checkpoint ckpt = Checkpoint::open(sparse.path(), {.keep_on_disk = [](std::string_view) { return true; }});
  const TensorView& t = ckpt.get("t");
  EXPECT_EQ(t.nbytes, nbytes);
  EXPECT_EQ(t.file_offset, data);
  const FileRowSource table(ckpt.file_of(t).reader(), t.file_offset, rows, static_cast<size_t>(t.nbytes / rows));
  std::vector<uint8_t> scratch(table.row_bytes());
  const uint8_t* row = table.row(rows - 1, scratch.data());
  const std::string marker = SparseFile::marker(last_row);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(row), marker.size()), marker);
  if (sizeof(size_t) < 8) EXPECT_THROW(ckpt.acquire(t), Error);  // never whole into a 4 GB heap
}

}  // namespace
}  // namespace gemma4::io
