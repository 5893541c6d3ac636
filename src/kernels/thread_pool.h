#pragma once
// A fixed set of worker threads for fork-join parallelism inside one forward pass.
// The calling thread takes part in the work, so ThreadPool(1) runs everything inline.
//
// Decode issues a few hundred small parallel regions per token, so the fork-join latency matters:
// idle workers spin on an atomic generation counter for a short while before they fall asleep
// on a condition variable, and the caller spins (then yields) while waiting for them.
// The caller never waits for an idle worker to show up: it only waits for the tasks, so a
// descheduled worker (an oversubscribed machine) costs nothing unless it holds a task.
// A run() issued from inside a task of the same pool executes inline, so nesting cannot deadlock.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/function_ref.h"

namespace gemma4 {

class ThreadPool {
 public:
  // num_threads <= 1 runs everything inline; above max_threads() throws gemma4::Error.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // Calls fn(task, thread) for every task in [0, num_tasks) and returns when all are done.
  // Tasks are handed out dynamically; `thread` is in [0, size()) and identifies per-thread scratch.
  // An exception thrown by a task is rethrown here (the first one, after every task finished).
  void run(int64_t num_tasks, FunctionRef<void(int64_t task, int thread)> fn);

  // Splits [0, n) into contiguous ranges of at least `grain` items (about one per thread, or more
  // for balance) and calls fn(begin, end, thread) for each.
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t begin, int64_t end, int thread)> fn);

 private:
  void worker_loop(int thread);
  void work_on_current_job(int thread);
  void wait_for_generation(uint64_t seen);
  void run_inline(int64_t num_tasks, FunctionRef<void(int64_t, int)> fn);

  int num_threads_;
  std::vector<std::thread> workers_;

  // Serialises run() calls issued by different outside threads.
  std::mutex run_mutex_;

  // The current job. generation_ is even while a job is open and odd while closed; the job fields
  // are written only while it is odd and no worker is inside (workers_inside_ == 0).
  const FunctionRef<void(int64_t, int)>* job_ = nullptr;
  int64_t job_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
  std::atomic<int64_t> finished_tasks_{0};
  std::atomic<int> workers_inside_{0};
  std::atomic<uint64_t> generation_{1};
  std::atomic<bool> stopping_{false};

  std::mutex error_mutex_;
  std::exception_ptr first_error_;

  // Sleeping workers wait here.
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

// Number of hardware threads, at least 1.
int hardware_threads();

// The most threads a pool may have: kThreadsPerCore x hardware_threads(), and never less than
// kMinThreadLimit (so small machines can still test oversubscription). More threads cannot speed
// up compute-bound work, and an unchecked count (--threads 100000) exhausts the process table.
inline constexpr int kThreadsPerCore = 4;
inline constexpr int kMinThreadLimit = 16;
int max_threads();

}  // namespace gemma4
