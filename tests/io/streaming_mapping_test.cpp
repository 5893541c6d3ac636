#include "io/streaming_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gemma4::io {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHugePage = size_t{2} << 20;

class StreamingMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("g4-streaming-" + std::to_string(::getpid()) + ".bin");
    // 5 MiB + a ragged tail: more than one huge page, and not a whole number of small ones.
    bytes_.resize(5 * (size_t{1} << 20) + 123);
    for (size_t i = 0; i < bytes_.size(); ++i) bytes_[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
    fd_ = ::open(path_.c_str(), O_RDONLY);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    fs::remove(path_);
  }

  fs::path path_;
  std::vector<uint8_t> bytes_;
  int fd_ = -1;
};

TEST_F(StreamingMappingTest, MapsTheWholeFileAtAHugePageBoundary) {
  const uint8_t* data = map_for_streaming(fd_, bytes_.size());
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % kHugePage, 0u);
  populate_mapping(data, bytes_.size());
  EXPECT_EQ(std::memcmp(data, bytes_.data(), bytes_.size()), 0);
  const int64_t huge = huge_mapped_bytes(data);
  EXPECT_GE(huge, 0) << "our own mapping is listed in /proc/self/smaps";
  EXPECT_LE(huge, static_cast<int64_t>(bytes_.size()));
  ::munmap(const_cast<uint8_t*>(data), bytes_.size());
}

TEST_F(StreamingMappingTest, TwoMappingsOfTheSameFileDoNotOverlapAndReadAlike) {
  const uint8_t* a = map_for_streaming(fd_, bytes_.size());
  const uint8_t* b = map_for_streaming(fd_, bytes_.size());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a + bytes_.size() <= b || b + bytes_.size() <= a);
  EXPECT_EQ(std::memcmp(a, b, bytes_.size()), 0);
  ::munmap(const_cast<uint8_t*>(a), bytes_.size());
  EXPECT_EQ(std::memcmp(b, bytes_.data(), bytes_.size()), 0) << "unmapping one left the other intact";
  ::munmap(const_cast<uint8_t*>(b), bytes_.size());
}

TEST_F(StreamingMappingTest, DroppingThePageCacheKeepsTheContents) {
  drop_from_page_cache(fd_);
  const uint8_t* data = map_for_streaming(fd_, bytes_.size());
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(std::memcmp(data, bytes_.data(), bytes_.size()), 0);
  ::munmap(const_cast<uint8_t*>(data), bytes_.size());
}

TEST(HugePagesPossible, FollowsTheKernelSetting) {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!setting || !std::getline(setting, line)) GTEST_SKIP() << "no THP setting on this kernel";
  EXPECT_EQ(huge_pages_possible(), line.find("[never]") == std::string::npos) << line;
}

TEST_F(StreamingMappingTest, EmptyOrUnmappableInputsFailCleanly) {
  EXPECT_EQ(map_for_streaming(fd_, 0), nullptr);
  EXPECT_EQ(map_for_streaming(-1, 4096), nullptr);
  // An address that starts no mapping has no entry to read.
  auto heap = std::make_unique<uint8_t[]>(64);
  EXPECT_EQ(huge_mapped_bytes(heap.get() + 1), -1);
}

}  // namespace
}  // namespace gemma4::io
