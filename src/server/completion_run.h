#pragma once
// One completion request from submission to its last byte, for chat and text completions alike:
// the GenerationJob's events are fed to one ChoiceBuilder per choice, timed for the latency
// histograms, and turned into either one JSON response or a sequence of SSE events.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/backend.h"
#include "server/choice_builder.h"
#include "server/generation_job.h"
#include "server/metrics.h"
#include "server/openai_json.h"

namespace gemma4::server {

enum class Endpoint { chat, text };

struct CompletionPlan {
  Endpoint endpoint = Endpoint::chat;
  Request request;  // prompt included
  int n = 1;
  uint64_t seed = 0;
  bool include_usage = false;
  std::string model;  // the name responses carry
  std::function<std::unique_ptr<ChoiceBuilder>(int index)> make_choice;
};

class CompletionRun {
 public:
  // Submits the request's choices; throws EngineError when the engine refuses them.
  CompletionRun(Backend& backend, CompletionPlan plan, Metrics& metrics, Clock::time_point arrived);

  // Non-streaming: waits for every choice and returns the response object. Polls client_gone()
  // while waiting; when it turns true the request is cancelled and nullopt returned. Throws
  // ApiError when a choice failed inside the engine.
  std::optional<nlohmann::json> wait_for_response(const std::function<bool()>& client_gone);

  // Streaming: the SSE text that became ready, waiting up to `timeout` for it (empty when nothing
  // did). After the last choice finished it ends with the usage chunk (when asked for) and
  // "data: [DONE]", and finished() turns true.
  std::string next_sse(std::chrono::milliseconds timeout);
  bool finished() const { return finished_; }

  void cancel() { job_.cancel(); }

 private:
  struct ChoiceState {
    std::unique_ptr<ChoiceBuilder> builder;
    std::optional<RequestResult> result;
    std::optional<Clock::time_point> last_token_at;
  };

  // Feeds one event to its choice; returns the chunk choices it produced.
  std::vector<nlohmann::json> apply(JobEvent& event);
  void time_token(ChoiceState& choice, Clock::time_point at);
  bool all_done() const { return done_count_ == static_cast<int>(choices_.size()); }
  Usage usage() const;
  // Why the response cannot be given as generated: a choice failed inside the engine, or the
  // engine cancelled it (shutdown) while the client was still there. nullopt when all is well.
  std::optional<ApiError> engine_failure() const;
  nlohmann::json chunk(nlohmann::json choices) const;

  CompletionPlan plan_;
  Metrics& metrics_;
  Clock::time_point arrived_;
  ResponseHeader header_;
  std::vector<ChoiceState> choices_;
  int done_count_ = 0;
  bool opened_ = false;
  bool finished_ = false;
  GenerationJob job_;  // last: destroyed (cancelled and joined) first
};

}  // namespace gemma4::server
