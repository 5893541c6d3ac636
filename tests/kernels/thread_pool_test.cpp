// ThreadPool: every task runs exactly once, for many pool and job sizes, nested runs, exceptions.
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include "gemma4/error.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gemma4 {
namespace {

TEST(ThreadPool, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8, max_threads()}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t tasks : {0, 1, 2, 5, 63, 64, 65, 1000}) {
      std::vector<std::atomic<int>> count(tasks);
      std::atomic<bool> bad_thread{false};
      pool.run(tasks, [&](int64_t t, int thread) {
        if (thread < 0 || thread >= threads) bad_thread = true;
        count[t].fetch_add(1);
      });
      for (int64_t t = 0; t < tasks; ++t) ASSERT_EQ(count[t].load(), 1) << "threads=" << threads << " task " << t;
      EXPECT_FALSE(bad_thread);
    }
  }
}

TEST(ThreadPool, ManySmallJobsInARow) {
  // Decode-like: thousands of tiny regions back to back must neither lose nor repeat work.
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int job = 0; job < 5000; ++job) {
    pool.run(4, [&](int64_t t, int) { sum.fetch_add(t + 1); });
  }
  EXPECT_EQ(sum.load(), 5000 * 10);
}

TEST(ThreadPool, ParallelForCoversRangeOnce) {
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 3, 16, 17, 1000, 4097}) {
      for (int64_t grain : {1, 4, 100}) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int) {
          ASSERT_LT(b, e);
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << "/" << grain << " at " << i;
      }
    }
  }
}

TEST(ThreadPool, PerThreadScratchIsNeverShared) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> busy(4);
  std::atomic<bool> overlap{false};
  pool.run(400, [&](int64_t, int thread) {
    if (busy[thread].fetch_add(1) != 0) overlap = true;
    std::this_thread::yield();  // widen the window in which an overlap would show
    busy[thread].fetch_sub(1);
  });
  EXPECT_FALSE(overlap);
}

TEST(ThreadPool, NestedRunExecutesInline) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(8 * 16);
  pool.run(8, [&](int64_t outer, int thread) {
    pool.run(16, [&](int64_t inner, int inner_thread) {
      EXPECT_EQ(inner_thread, thread);  // same thread, same scratch slot
      hits[outer * 16 + inner].fetch_add(1);
    });
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, ExceptionsReachTheCaller) {
  ThreadPool pool(3);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.run(50,
                        [&](int64_t t, int) {
                          ran.fetch_add(1);
                          if (t == 17) throw std::runtime_error("task 17 failed");
                        }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 50);  // the other tasks still ran
  // The pool is still usable afterwards.
  std::atomic<int> after{0};
  pool.run(10, [&](int64_t, int) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPool, WorkersWakeAfterSleeping) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.run(2, [&](int64_t, int) { count.fetch_add(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // long enough for workers to sleep
  std::atomic<bool> worker_ran{false};
  for (int attempt = 0; attempt < 50 && !worker_ran; ++attempt) {
    pool.run(64, [&](int64_t, int thread) {
      if (thread == 1) worker_ran = true;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
  }
  EXPECT_TRUE(worker_ran);
}

// A thread count far above the cores is refused before any thread starts (--threads 100000 once
// started 100,000 threads and exhausted the process table).
TEST(ThreadPool, RefusesCountsAboveTheLimit) {
  EXPECT_GE(max_threads(), 4 * hardware_threads());
  EXPECT_GE(max_threads(), kMinThreadLimit);
  try {
    ThreadPool pool(100000);
    FAIL() << "expected gemma4::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("thread count 100000 is above the limit of " + std::to_string(max_threads())),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(ThreadPool(max_threads() + 1), Error);
  ThreadPool at_limit(max_threads());
  EXPECT_EQ(at_limit.size(), max_threads());
}

}  // namespace
}  // namespace gemma4
