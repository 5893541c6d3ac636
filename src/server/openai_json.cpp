#include "server/openai_json.h"

#include <chrono>
#include <random>

namespace gemma4::server {
namespace {

json bytes_of(const std::string& text) {
  json bytes = json::array();
  for (const unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// Serialises like OpenAI (UTF-8 kept) but never fails on the invalid UTF-8 a single byte token
// can be on its own: such bytes become U+FFFD.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json base(const ResponseHeader& h, const char* object) {
  return {{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model}, {"system_fingerprint", "gemma4"}};
}

}  // namespace

ResponseHeader new_response_header(const std::string& id_prefix, const std::string& model) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  ResponseHeader h;
  h.id = id_prefix;
  for (int i = 0; i < 24; ++i) h.id += kHex[rng() & 15];
  h.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  h.model = model;
  return h;
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", u.reasoning_tokens}}}};
}

std::string finish_reason_text(FinishReason finish, bool made_tool_calls) {
  if (made_tool_calls) return "tool_calls";
  return finish == FinishReason::Length ? "length" : "stop";
}

json chat_completion(const ResponseHeader& h, json choices, const Usage& usage) {
  json j = base(h, "chat.completion");
  j["choices"] = std::move(choices);
  j["usage"] = usage_json(usage);
  return j;
}

json chat_chunk(const ResponseHeader& h, json choices) {
  json j = base(h, "chat.completion.chunk");
  j["choices"] = std::move(choices);
  return j;
}

json chat_chunk_choice(int index, json delta, json finish_reason, json logprobs) {
  return {{"index", index}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)}, {"finish_reason", std::move(finish_reason)}};
}

json text_completion(const ResponseHeader& h, json choices, const Usage& usage) {
  json j = base(h, "text_completion");
  j["choices"] = std::move(choices);
  j["usage"] = usage_json(usage);
  return j;
}

json text_completion_chunk(const ResponseHeader& h, json choices) {
  json j = base(h, "text_completion");
  j["choices"] = std::move(choices);
  return j;
}

json text_choice(int index, const std::string& text, json finish_reason, json logprobs) {
  return {{"index", index}, {"text", text}, {"logprobs", std::move(logprobs)}, {"finish_reason", std::move(finish_reason)}};
}

std::string to_json_text(const json& object) { return dump(object); }

std::string sse_event(const json& object) { return "data: " + dump(object) + "\n\n"; }

json chat_logprobs(std::span<const TokenEvent> events, const TokenText& text_of) {
  json content = json::array();
  for (const TokenEvent& e : events) {
    json top = json::array();
    for (const TokenLogprob& alt : e.top) {
      const std::string alt_text = text_of(alt.token);
      top.push_back({{"token", alt_text}, {"logprob", alt.logprob}, {"bytes", bytes_of(alt_text)}});
    }
    const std::string text = text_of(e.token);
    content.push_back({{"token", text}, {"logprob", e.logprob}, {"bytes", bytes_of(text)}, {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

json completion_logprobs(std::span<const TokenEvent> events, const TokenText& text_of, int64_t text_offset) {
  json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array(), offsets = json::array();
  for (const TokenEvent& e : events) {
    const std::string text = text_of(e.token);
    tokens.push_back(text);
    token_logprobs.push_back(e.logprob);
    json top = json::object();
    for (const TokenLogprob& alt : e.top) top[text_of(alt.token)] = alt.logprob;
    top_logprobs.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += static_cast<int64_t>(text.size());
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs}, {"text_offset", offsets}};
}

}  // namespace gemma4::server
