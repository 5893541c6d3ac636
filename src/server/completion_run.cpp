#include "server/completion_run.h"

#include "server/api_error.h"

namespace gemma4::server {

using json = nlohmann::json;

CompletionRun::CompletionRun(Backend& backend, CompletionPlan plan, Metrics& metrics, Clock::time_point arrived)
    : plan_(std::move(plan)), metrics_(metrics), arrived_(arrived),
      header_(new_response_header(plan_.endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-", plan_.model)),
      job_(backend, plan_.request, plan_.n, plan_.seed) {
  for (int i = 0; i < plan_.n; ++i) choices_.push_back(ChoiceState{plan_.make_choice(i), std::nullopt, std::nullopt});
}

void CompletionRun::time_token(ChoiceState& choice, Clock::time_point at) {
  if (choice.last_token_at) {
    metrics_.observe_inter_token_latency(std::chrono::duration<double>(at - *choice.last_token_at).count());
  } else {
    metrics_.observe_time_to_first_token(std::chrono::duration<double>(at - arrived_).count());
  }
  choice.last_token_at = at;
}

std::vector<json> CompletionRun::apply(JobEvent& event) {
  ChoiceState& choice = choices_[static_cast<size_t>(event.choice)];
  if (event.kind == JobEvent::Kind::token) {
    if (event.token.token >= 0) time_token(choice, event.at);
    return choice.builder->on_token(event.token);
  }
  ++done_count_;
  choice.result = std::move(event.result);
  return choice.builder->on_finish(*choice.result);
}

Usage CompletionRun::usage() const {
  Usage u;
  for (size_t i = 0; i < choices_.size(); ++i) {
    const RequestResult& r = *choices_[i].result;
    if (i == 0) {
      // The choices share one prompt: it is counted once, as OpenAI does for n > 1.
      u.prompt_tokens = r.prompt_tokens;
      u.cached_tokens = r.cached_tokens;
    }
    u.completion_tokens += r.completion_tokens;
    u.reasoning_tokens += choices_[i].builder->reasoning_tokens();
  }
  return u;
}

std::optional<ApiError> CompletionRun::engine_failure() const {
  for (const auto& choice : choices_) {
    if (choice.result && choice.result->error) return from_engine_error(*choice.result->error);
  }
  for (const auto& choice : choices_) {
    if (choice.result && choice.result->finish == FinishReason::Cancelled) {
      ApiError e(503, "The request was cancelled because the server is shutting down.", "server_error", "",
                 "shutting_down");
      e.retry_after_seconds = 5;
      return e;
    }
  }
  return std::nullopt;
}

json CompletionRun::chunk(json choices) const {
  json out = plan_.endpoint == Endpoint::chat ? chat_chunk(header_, std::move(choices))
                                              : text_completion_chunk(header_, std::move(choices));
  if (plan_.include_usage) out["usage"] = nullptr;  // the spec: null on every chunk but the last
  return out;
}

std::optional<json> CompletionRun::wait_for_response(const std::function<bool()>& client_gone) {
  while (!all_done()) {
    std::vector<JobEvent> events = job_.next_events(std::chrono::milliseconds(50));
    for (JobEvent& event : events) apply(event);
    if (client_gone && client_gone()) {
      job_.cancel();
      return std::nullopt;
    }
  }
  if (const auto failure = engine_failure()) throw *failure;
  json choices = json::array();
  for (const auto& choice : choices_) choices.push_back(choice.builder->final_choice(*choice.result));
  return plan_.endpoint == Endpoint::chat ? chat_completion(header_, std::move(choices), usage())
                                          : text_completion(header_, std::move(choices), usage());
}

std::string CompletionRun::next_sse(std::chrono::milliseconds timeout) {
  std::string out;
  if (finished_) return out;
  if (!opened_) {
    opened_ = true;
    for (auto& choice : choices_) {
      for (json& c : choice.builder->opening()) out += sse_event(chunk(json::array({std::move(c)})));
    }
  }
  for (JobEvent& event : job_.next_events(out.empty() ? timeout : std::chrono::milliseconds(0))) {
    for (json& c : apply(event)) out += sse_event(chunk(json::array({std::move(c)})));
  }
  if (!all_done()) return out;
  if (const auto failure = engine_failure()) {
    out += sse_event(error_body(*failure));
  } else if (plan_.include_usage) {
    json usage_chunk = chunk(json::array());
    usage_chunk["usage"] = usage_json(usage());
    out += sse_event(usage_chunk);
  }
  out += kSseDone;
  finished_ = true;
  return out;
}

}  // namespace gemma4::server
