#include "gemma4/generate.h"

#include <algorithm>
#include <chrono>

#include "gemma4/error.h"

namespace gemma4 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
  }
  return "?";
}

int64_t reuse_prefix(Session& session, const std::vector<int32_t>& prompt) {
  const auto& cached = session.tokens();
  // Keep at least the last prompt token to feed: its logits start the generation.
  int64_t limit = std::min<int64_t>(static_cast<int64_t>(cached.size()), static_cast<int64_t>(prompt.size()) - 1);
  int64_t common = 0;
  while (common < limit && cached[common] == prompt[common]) ++common;
  if (!session.truncate(common)) {
    session.clear();
    common = 0;
  }
  return common;
}

GenerateResult generate(Session& session, const Tokenizer& tokenizer, const GenerateRequest& request,
                        const std::function<bool(const StreamEvent&)>& on_token) {
  using clock = std::chrono::steady_clock;
  if (request.prompt.empty()) throw Error("the prompt is empty");
  if (request.max_tokens < 0) throw Error("max_tokens must not be negative");
  const int64_t prompt_len = static_cast<int64_t>(request.prompt.size());
  if (prompt_len > session.max_context())
    throw Error("the prompt has " + std::to_string(prompt_len) + " tokens but the context limit is " +
                std::to_string(session.max_context()));
  Sampler sampler(request.sampling);

  GenerateResult result;
  result.prompt_tokens = prompt_len;
  auto t0 = clock::now();
  result.cached_prompt_tokens = reuse_prefix(session, request.prompt);
  std::vector<float> logits;
  session.append(std::span<const int32_t>(request.prompt).subspan(result.cached_prompt_tokens), &logits);
  auto t1 = clock::now();
  result.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  std::vector<int32_t> context = request.prompt;
  IncrementalDecoder decoder(tokenizer, /*skip_special=*/false);
  StopStringMatcher stops(request.stop_strings);
  auto emit = [&](int32_t token, std::string text) {
    result.text += text;
    if (!on_token) return true;
    return on_token(StreamEvent{token, std::move(text)});
  };

  result.finish = FinishReason::Length;
  while (true) {
    if (result.completion_tokens >= request.max_tokens) {
      result.finish = FinishReason::Length;
      break;
    }
    int32_t token = sampler.sample(logits, context);
    if (std::find(request.stop_token_ids.begin(), request.stop_token_ids.end(), token) !=
        request.stop_token_ids.end()) {
      result.stop_token = token;
      result.finish = FinishReason::Stop;
      break;
    }
    result.tokens.push_back(token);
    context.push_back(token);
    ++result.completion_tokens;
    auto matched = stops.push(decoder.push(token));
    if (!emit(token, std::move(matched.emit))) {
      result.finish = FinishReason::Cancelled;
      break;
    }
    if (matched.stopped) {
      result.finish = FinishReason::Stop;
      break;
    }
    if (session.length() >= session.max_context()) {
      result.finish = FinishReason::Length;  // the context is full
      break;
    }
    session.append(std::span<const int32_t>(&token, 1), &logits);
  }
  if (!stops.stopped() && result.finish != FinishReason::Cancelled) {
    std::string rest = stops.push(decoder.flush()).emit;
    rest += stops.flush();
    if (!rest.empty()) emit(-1, std::move(rest));
  }
  result.decode_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return result;
}

}  // namespace gemma4
