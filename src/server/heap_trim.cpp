#include "server/heap_trim.h"

#include <atomic>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gemma4::server {

void bound_heap_retention() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

void trim_heap() {
#if defined(__GLIBC__)
  // malloc_trim walks and locks every arena in turn; one trimmer at a time is enough.
  static std::atomic<bool> trimming{false};
  if (trimming.exchange(true)) return;
  malloc_trim(0);
  trimming.store(false);
#endif
}

}  // namespace gemma4::server
