#include "server/generation_job.h"

namespace gemma4::server {

void EventQueue::push(JobEvent event) {
  {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

std::vector<JobEvent> EventQueue::pop_all(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !events_.empty(); });
  std::vector<JobEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

GenerationJob::GenerationJob(Backend& backend, const Request& request, int n, uint64_t seed)
    : queue_(std::make_shared<EventQueue>()), cancelled_(std::make_shared<std::atomic<bool>>(false)) {
  try {
    for (int i = 0; i < n; ++i) {
      Request copy = request;
      copy.sampling.seed = seed + static_cast<uint64_t>(i);
      // The callback owns what it touches (shared_ptrs), so it stays valid whatever the HTTP side does.
      auto callback = [queue = queue_, cancelled = cancelled_, i](const TokenEvent& token) {
        JobEvent event;
        event.kind = JobEvent::Kind::token;
        event.choice = i;
        event.token = token;
        event.at = Clock::now();
        queue->push(std::move(event));
        return !cancelled->load();
      };
      handles_.push_back(backend.submit(std::move(copy), std::move(callback)));
    }
  } catch (...) {
    for (auto& handle : handles_) {
      handle->cancel();
      handle->wait();
    }
    throw;
  }
  for (int i = 0; i < n; ++i) {
    waiters_.emplace_back([handle = handles_[static_cast<size_t>(i)], queue = queue_, i] {
      JobEvent event;
      event.kind = JobEvent::Kind::done;
      event.choice = i;
      event.result = handle->wait();
      event.at = Clock::now();
      queue->push(std::move(event));
    });
  }
}

void GenerationJob::cancel() {
  cancelled_->store(true);
  for (auto& handle : handles_) handle->cancel();
}

GenerationJob::~GenerationJob() {
  for (auto& handle : handles_) {
    if (!handle->done()) handle->cancel();
  }
  for (auto& waiter : waiters_) waiter.join();
}

}  // namespace gemma4::server
