#pragma once
// Everything one request carries through the engine: its parameters, its sampler, incremental
// decoder and stop matcher, its KV sequence while it runs, and the handle its submitter waits on.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "gemma4/engine.h"
#include "kv/kv_cache.h"

namespace gemma4 {

using EngineClock = std::chrono::steady_clock;

// What submit() returns; the engine thread completes it.
class RequestCompletion : public RequestHandle {
 public:
  explicit RequestCompletion(uint64_t id) : id_(id) {}
  uint64_t id() const override { return id_; }
  void cancel() override { cancel_requested_ = true; }
  RequestResult wait() override;
  bool done() const override;

  bool cancel_requested() const { return cancel_requested_.load(); }
  void complete(RequestResult result);

 private:
  uint64_t id_;
  std::atomic<bool> cancel_requested_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  RequestResult result_;
};

struct RequestState {
  RequestState(uint64_t id, Request request, TokenCallback callback, std::vector<int32_t> stop_ids,
               const Tokenizer& tokenizer);

  uint64_t id;
  Request request;
  TokenCallback callback;
  std::vector<int32_t> stop_ids;
  std::shared_ptr<RequestCompletion> completion;

  Sampler sampler;
  IncrementalDecoder decoder;
  StopStringMatcher stops;
  // With a grammar: its state after the generated tokens, and the mask buffer of each step.
  std::optional<TokenMatcher> grammar;
  TokenMask allowed;

  // The prompt and the tokens generated so far: what the KV sequence must hold, plus the last
  // sampled token, which is fed next.
  std::vector<int32_t> context;
  std::unique_ptr<KvSequence> sequence;  // while running
  int draft_limit = 0;                   // draft tokens per decode step (0: plain decoding)
  // A speculative step's rows: the last sampled token, then the drafts it is checked with.
  std::vector<int32_t> draft_rows;
  int64_t admitted_order = 0;            // larger: admitted later (preempted first)

  RequestResult result;
  bool first_admission = true;
  EngineClock::time_point submitted, admitted, first_token, last_token;

  int64_t fed() const { return sequence ? sequence->length() : 0; }
  int64_t pending() const { return static_cast<int64_t>(context.size()) - fed(); }
};

}  // namespace gemma4
