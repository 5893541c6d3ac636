#include "kernels/thread_pool.h"

#include <algorithm>

namespace gemma4 {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  for (int t = 1; t < num_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work_on_current_job(int thread) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (job_ != nullptr && next_task_ < job_tasks_) {
    int64_t task = next_task_++;
    const auto* job = job_;
    lock.unlock();
    (*job)(task, thread);
    lock.lock();
    if (++finished_tasks_ == job_tasks_) done_.notify_all();
  }
}

void ThreadPool::worker_loop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    work_on_current_job(thread);
  }
}

void ThreadPool::run(int64_t num_tasks, const std::function<void(int64_t, int)>& fn) {
  if (num_tasks <= 0) return;
  if (num_threads_ == 1 || num_tasks == 1) {
    for (int64_t t = 0; t < num_tasks; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_tasks_ = num_tasks;
    next_task_ = 0;
    finished_tasks_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  work_on_current_job(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return finished_tasks_ == job_tasks_; });
  job_ = nullptr;
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t, int)>& fn) {
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
