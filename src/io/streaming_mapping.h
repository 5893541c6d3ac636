#pragma once
// Read-only mappings of files whose every byte is streamed once per token (the converted-weight
// cache). Mapped in 4 KiB pages, each page of such a stream costs a TLB miss and stops the
// hardware prefetcher; the page cache can hold the file in 2 MiB folios and map them whole, but
// only when the mapping is 2 MiB-aligned, asks for huge pages, and the file was read into the
// cache that way. These functions arrange all three; every step is a hint the kernel may decline,
// and nothing here changes what the mapping reads.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace gemma4::io {

// Maps [offset, offset + size) of `fd` read-only at a 2 MiB-aligned address with MADV_HUGEPAGE
// (`offset`: a multiple of the page size; a multiple of 2 MiB for huge pages). Returns nullptr
// when the mapping fails; release with munmap(data, size).
const uint8_t* map_for_streaming(int fd, size_t size, uint64_t offset = 0);

// Faults the whole mapping in now (so the first forward pass does not), through the same fault
// path that builds 2 MiB folios; falls back to asynchronous read-ahead on kernels without
// MADV_POPULATE_READ.
void populate_mapping(const uint8_t* data, size_t size);

// Bytes of the mapping at `data` that the kernel maps with 2 MiB entries (FilePmdMapped in
// /proc/self/smaps); -1 when that cannot be read.
int64_t huge_mapped_bytes(const uint8_t* data);

// False when transparent huge pages are off ("[never]" in
// /sys/kernel/mm/transparent_hugepage/enabled); true otherwise, or when that cannot be read.
bool huge_pages_possible();

// Writes the file's dirty pages out and drops it from the page cache, so that the next mapping
// reads it afresh (into 2 MiB folios when the filesystem supports them).
void drop_from_page_cache(int fd);

}  // namespace gemma4::io
