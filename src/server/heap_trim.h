#pragma once
// Returning freed memory to the system after requests with large bodies.
//
// glibc malloc gives each busy thread its own arena and keeps what a request freed there for
// reuse; with dozens of HTTP threads, a few large or pathological bodies (megabytes of text, or
// many small JSON nodes) leave every arena holding its high-water mark, and RSS climbs by
// hundreds of MB though nothing leaks. Trimming after such requests hands the pages back.
#include <cstddef>

namespace gemma4::server {

// Bodies at least this large trigger a trim when their request ends.
inline constexpr size_t kTrimAfterBodyBytes = size_t{256} << 10;

// Fixes glibc's mmap threshold (which otherwise rises to 32 MiB after the first large free), so
// blocks of 1 MiB and more are mapped on their own and unmapped when freed, in every arena.
// Call once at server start; does nothing on other C libraries.
void bound_heap_retention();

// Releases free heap memory in all arenas (malloc_trim); skipped while another thread trims.
void trim_heap();

// Trims when it goes out of scope, after the request's buffers are freed, if the body was large.
class TrimHeapAfterRequest {
 public:
  explicit TrimHeapAfterRequest(size_t body_bytes) : trim_(body_bytes >= kTrimAfterBodyBytes) {}
  ~TrimHeapAfterRequest() {
    if (trim_) trim_heap();
  }
  TrimHeapAfterRequest(const TrimHeapAfterRequest&) = delete;
  TrimHeapAfterRequest& operator=(const TrimHeapAfterRequest&) = delete;

 private:
  bool trim_;
};

}  // namespace gemma4::server
