#include "kernels/thread_pool.h"

#include <algorithm>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "gemma4/error.h"

namespace gemma4 {

namespace {

// The pool whose task the current thread is executing, and its thread index there (for inline
// nested runs, which must keep using the scratch slot of the thread they run on).
thread_local const ThreadPool* current_pool = nullptr;
thread_local int current_thread = 0;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// About 20-50 µs of pause instructions: long enough to bridge the gap between the parallel
// regions of one decode step, short enough not to burn a core when the engine is idle.
constexpr int kWorkerSpinIterations = 1 << 13;
// The caller spins this long before it starts yielding its core to the workers.
constexpr int kCallerSpinIterations = 1 << 11;

struct PoolScope {
  PoolScope(const ThreadPool* pool, int thread)
      : saved_pool(current_pool), saved_thread(current_thread) {
    current_pool = pool;
    current_thread = thread;
  }
  ~PoolScope() {
    current_pool = saved_pool;
    current_thread = saved_thread;
  }
  const ThreadPool* saved_pool;
  int saved_thread;
};

}  // namespace

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int max_threads() { return std::max(kMinThreadLimit, kThreadsPerCore * hardware_threads()); }

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  if (num_threads_ > max_threads())
    throw Error("thread count " + std::to_string(num_threads) + " is above the limit of " +
                std::to_string(max_threads()) + " on this machine (" + std::to_string(hardware_threads()) +
                " hardware threads)");
  workers_.reserve(num_threads_ - 1);
  for (int t = 1; t < num_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stopping_.store(true);
    generation_.fetch_add(2);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work_on_current_job(int thread) {
  PoolScope scope(this, thread);
  for (;;) {
    int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= job_tasks_) return;
    try {
      (*job_)(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!first_error_) first_error_ = std::current_exception();
    }
    finished_tasks_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::wait_for_generation(uint64_t seen) {
  for (int i = 0; i < kWorkerSpinIterations; ++i) {
    if (generation_.load(std::memory_order_acquire) != seen) return;
    cpu_relax();
    // Under oversubscription (more threads than cores) spinning only delays the thread we wait for.
    if ((i & 255) == 255) std::this_thread::yield();
  }
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  sleepers_.fetch_add(1);
  wake_.wait(lock, [&] { return generation_.load() != seen; });
  sleepers_.fetch_sub(1);
}

void ThreadPool::worker_loop(int thread) {
  uint64_t seen = 1;  // the initial, closed generation
  for (;;) {
    wait_for_generation(seen);
    const uint64_t g = generation_.load();
    seen = g;
    if (stopping_.load()) return;
    if (g % 2 != 0) continue;  // a job that closed before we got here
    // Announce ourselves, then make sure the job is still open: run() closes the job before it
    // waits for workers_inside_ to drop to zero, so one of the two sides sees the other.
    workers_inside_.fetch_add(1);
    if (generation_.load() == g) work_on_current_job(thread);
    workers_inside_.fetch_sub(1, std::memory_order_release);
  }
}

void ThreadPool::run_inline(int64_t num_tasks, FunctionRef<void(int64_t, int)> fn) {
  const int thread = current_pool == this ? current_thread : 0;
  PoolScope scope(this, thread);
  for (int64_t t = 0; t < num_tasks; ++t) fn(t, thread);
}

void ThreadPool::run(int64_t num_tasks, FunctionRef<void(int64_t, int)> fn) {
  if (num_tasks <= 0) return;
  // A nested call from one of our own tasks runs inline: the workers are busy with the outer job.
  if (num_threads_ == 1 || num_tasks == 1 || current_pool == this) {
    run_inline(num_tasks, fn);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  job_ = &fn;
  job_tasks_ = num_tasks;
  first_error_ = nullptr;
  next_task_.store(0, std::memory_order_relaxed);
  finished_tasks_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1);  // odd -> even: the job is open
  if (sleepers_.load() > 0) {
    // Taking the lock orders this notify after a sleeper's predicate check (no lost wake-up).
    { std::lock_guard<std::mutex> lock(sleep_mutex_); }
    wake_.notify_all();
  }
  work_on_current_job(0);
  auto wait_until = [](auto&& done) {
    for (int i = 0; !done(); ++i) {
      if (i < kCallerSpinIterations) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  };
  wait_until([&] { return finished_tasks_.load(std::memory_order_acquire) == job_tasks_; });
  generation_.fetch_add(1);  // even -> odd: closed; late workers back off without touching the job
  wait_until([&] { return workers_inside_.load(std::memory_order_acquire) == 0; });
  job_ = nullptr;
  if (first_error_) {
    std::exception_ptr error = first_error_;
    first_error_ = nullptr;
    std::rethrow_exception(error);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t max_chunks = std::max<int64_t>(1, n / grain);
  int64_t chunks = std::min<int64_t>(max_chunks, static_cast<int64_t>(num_threads_) * 4);
  if (num_threads_ == 1) chunks = 1;
  int64_t per = (n + chunks - 1) / chunks;
  run(chunks, [&](int64_t c, int thread) {
    int64_t begin = c * per;
    int64_t end = std::min(n, begin + per);
    if (begin < end) fn(begin, end, thread);
  });
}

}  // namespace gemma4
