#pragma once
// A fixed set of worker threads for fork-join parallelism inside one forward pass.
// The calling thread takes part in the work, so ThreadPool(1) runs everything inline.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gemma4 {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // Calls fn(task, thread) for every task in [0, num_tasks) and returns when all are done.
  // Tasks are handed out dynamically; `thread` is in [0, size()) and identifies per-thread scratch.
  void run(int64_t num_tasks, const std::function<void(int64_t task, int thread)>& fn);

  // Splits [0, n) into contiguous ranges of at least `grain` items (about one per thread, or more
  // for balance) and calls fn(begin, end, thread) for each.
  void parallel_for(int64_t n, int64_t grain,
                    const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  void worker_loop(int thread);
  void work_on_current_job(int thread);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t job_tasks_ = 0;
  int64_t next_task_ = 0;
  int64_t finished_tasks_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

// Number of hardware threads, at least 1.
int hardware_threads();

}  // namespace gemma4
