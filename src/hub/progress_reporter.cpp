#include "hub/progress_reporter.h"

namespace gemma4::hub {

namespace {
constexpr double kRateWindowSeconds = 5.0;
constexpr auto kInterval = std::chrono::milliseconds(250);
}  // namespace

ProgressReporter::ProgressReporter(ProgressCallback callback, DownloadProgress initial,
                                   const std::atomic<uint64_t>& bytes_done, const std::atomic<int>& files_done)
    : callback_(std::move(callback)), base_(std::move(initial)), bytes_done_(bytes_done), files_done_(files_done) {
  if (callback_) thread_ = std::thread([this] { run(); });
}

ProgressReporter::~ProgressReporter() {
  if (!callback_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  DownloadProgress last = snapshot();
  last.finished = true;
  last.bytes_per_second = last.elapsed_seconds > 0 ? last.bytes_done / last.elapsed_seconds : 0;  // the average
  callback_(last);
}

DownloadProgress ProgressReporter::snapshot() {
  DownloadProgress p = base_;
  p.bytes_done = std::min(bytes_done_.load(), p.bytes_total);
  p.files_done = files_done_.load();
  p.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  samples_.emplace_back(p.elapsed_seconds, p.bytes_done);
  while (samples_.size() > 2 && samples_.front().first < p.elapsed_seconds - kRateWindowSeconds) samples_.pop_front();
  const auto& [t0, b0] = samples_.front();
  if (p.elapsed_seconds > t0 && p.bytes_done >= b0) p.bytes_per_second = (p.bytes_done - b0) / (p.elapsed_seconds - t0);
  return p;
}

void ProgressReporter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, kInterval, [this] { return stop_; })) {
    lock.unlock();
    callback_(snapshot());
    lock.lock();
  }
}

}  // namespace gemma4::hub
