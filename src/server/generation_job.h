#pragma once
// The engine requests behind one HTTP request (n choices), and the per-request queue that carries
// their events from the engine thread to the HTTP thread. The token callback only appends to the
// queue under a mutex and returns, so a slow client never stalls the engine's step loop.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gemma4/engine.h"
#include "server/backend.h"

namespace gemma4::server {

using Clock = std::chrono::steady_clock;

struct JobEvent {
  enum class Kind { token, done };
  Kind kind = Kind::token;
  int choice = 0;
  TokenEvent token;       // Kind::token
  RequestResult result;   // Kind::done
  Clock::time_point at;   // when the engine produced it
};

// Mutex + condition variable queue; push never blocks for long.
class EventQueue {
 public:
  void push(JobEvent event);
  // Waits up to `timeout` for events and returns all that are queued (maybe none).
  std::vector<JobEvent> pop_all(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<JobEvent> events_;
};

class GenerationJob {
 public:
  // Submits `n` copies of `request`, choice i sampling with seed + i. Throws the EngineError of a
  // refused submit (choices already accepted are cancelled first).
  GenerationJob(Backend& backend, const Request& request, int n, uint64_t seed);
  // Cancels choices still running and waits for them to finish (within one engine step).
  ~GenerationJob();
  GenerationJob(const GenerationJob&) = delete;
  GenerationJob& operator=(const GenerationJob&) = delete;

  int choices() const { return static_cast<int>(handles_.size()); }
  std::vector<JobEvent> next_events(std::chrono::milliseconds timeout) { return queue_->pop_all(timeout); }
  // The client is gone: stop every choice. Safe to call repeatedly.
  void cancel();

 private:
  std::shared_ptr<EventQueue> queue_;
  std::shared_ptr<std::atomic<bool>> cancelled_;
  std::vector<std::shared_ptr<RequestHandle>> handles_;
  // One per choice: waits for the engine's result and queues it, so the HTTP thread learns of
  // the end without polling.
  std::vector<std::thread> waiters_;
};

}  // namespace gemma4::server
