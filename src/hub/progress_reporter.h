#pragma once
// Calls a ProgressCallback from its own thread a few times a second while files download, with a
// rate measured over the last few seconds, and once more at the end (finished = true).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "gemma4/hub.h"

namespace gemma4::hub {

class ProgressReporter {
 public:
  ProgressReporter(ProgressCallback callback, DownloadProgress initial, const std::atomic<uint64_t>& bytes_done,
                   const std::atomic<int>& files_done);
  ~ProgressReporter();  // reports the final state

 private:
  DownloadProgress snapshot();
  void run();

  ProgressCallback callback_;
  DownloadProgress base_;
  const std::atomic<uint64_t>& bytes_done_;
  const std::atomic<int>& files_done_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::deque<std::pair<double, uint64_t>> samples_;  // (seconds, bytes) over the rate window
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gemma4::hub
