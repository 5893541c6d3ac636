// A decoded token allocates nothing: after the first steps have grown the scratch buffers, the
// forward pass (matmuls, attention, thread-pool regions, LM head) runs on reused memory only.
// Counted with a replaced global operator new, on every weight-type family and kernel path.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "gemma4/model.h"
#include "kernels/cpu_dispatch.h"
#include "test_util.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (std::getenv("TRAP_ON_ALLOC")) __builtin_trap();
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace gemma4 {
namespace {

int32_t argmax(const std::vector<float>& logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void check_no_allocations(const std::string& dtype, KernelPath path) {
  SCOPED_TRACE(dtype + " path=" + std::string(kernel_path_name(path)));
  if (!kernel_path_supported(path)) return;
  const KernelPath previous = set_kernel_path(path);
  auto model = Model::load(testing::tiny_a_dir(), {.dtype = dtype, .threads = 2});
  Session session(model, {.max_context = 256, .kv_type = "f16"});
  std::vector<float> logits;
  const std::vector<int32_t> prompt = {2, 105, 23, 107, 36, 56, 50, 52, 29, 70, 88};
  session.append(prompt, &logits);
  int32_t token = argmax(logits);
  for (int step = 0; step < 3; ++step) {  // let every buffer reach its decode size
    session.append({&token, 1}, &logits);
    token = argmax(logits);
  }
  allocations = 0;
  counting = true;
  for (int step = 0; step < 20; ++step) {
    session.append({&token, 1}, &logits);
    token = argmax(logits);
  }
  counting = false;
  set_kernel_path(previous);
  EXPECT_EQ(allocations.load(), 0) << "heap allocations in 20 decode steps";
}

TEST(DecodeAllocations, NoHeapAllocationPerDecodedToken) {
  for (const char* dtype : {"q8_0", "f32", "q4_0"}) {
    check_no_allocations(dtype, KernelPath::Portable);
    check_no_allocations(dtype, KernelPath::Avx2);
  }
}

}  // namespace
}  // namespace gemma4
