#include "io/streaming_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace gemma4::io {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

const uint8_t* map_for_streaming(int fd, size_t size, uint64_t offset) {
  if (size == 0) return nullptr;
  // Reserve size + 2 MiB of address space, put the file at its first 2 MiB boundary, and give the
  // rest back: file offset 0 (and so a 2 MiB-aligned `offset`) then sits on a huge-page boundary,
  // as PMD mappings require.
  void* reserved = ::mmap(nullptr, size + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return nullptr;
  auto* base = static_cast<uint8_t*>(reserved);
  auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(base) + kHugePage - 1) / kHugePage * kHugePage);
  void* mapped = ::mmap(aligned, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, static_cast<off_t>(offset));
  if (mapped == MAP_FAILED) {
    ::munmap(reserved, size + kHugePage);
    return nullptr;
  }
  if (aligned > base) ::munmap(base, static_cast<size_t>(aligned - base));
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  uint8_t* tail = aligned + (size + page - 1) / page * page;
  uint8_t* reserved_end = base + size + kHugePage;
  if (tail < reserved_end) ::munmap(tail, static_cast<size_t>(reserved_end - tail));
#ifdef MADV_HUGEPAGE
  (void)::madvise(aligned, size, MADV_HUGEPAGE);
#endif
  return aligned;
}

void populate_mapping(const uint8_t* data, size_t size) {
  auto* p = const_cast<uint8_t*>(data);
#ifdef MADV_POPULATE_READ
  if (::madvise(p, size, MADV_POPULATE_READ) == 0) return;
#endif
  (void)::madvise(p, size, MADV_WILLNEED);
}

int64_t huge_mapped_bytes(const uint8_t* data) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return -1;
  char start[32];
  std::snprintf(start, sizeof start, "%" PRIxPTR "-", reinterpret_cast<uintptr_t>(data));
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    const bool header = !line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
                        line.find('-') != std::string::npos && line.find(':') > line.find(' ');
    if (header) {
      if (inside) return -1;  // our area ended without the field
      inside = line.rfind(start, 0) == 0;
      continue;
    }
    if (inside && line.rfind("FilePmdMapped:", 0) == 0) {
      long long kib = 0;
      if (std::sscanf(line.c_str() + 14, "%lld", &kib) != 1) return -1;
      return static_cast<int64_t>(kib) * 1024;
    }
  }
  return -1;
}

bool huge_pages_possible() {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!setting || !std::getline(setting, line)) return true;
  return line.find("[never]") == std::string::npos;
}

void drop_from_page_cache(int fd) {
  // Dirty pages are not dropped: write them first.
  (void)::fdatasync(fd);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

}  // namespace gemma4::io
