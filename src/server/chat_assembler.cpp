#include "server/chat_assembler.h"

#include <random>

namespace gemma4::server {
namespace {

using json = nlohmann::json;

constexpr std::string_view kToolCallOpen = "<|tool_call>";
constexpr std::string_view kToolCallClose = "<tool_call|>";

// The verbatim model text of a call that did not parse, so the client sees what the model wrote.
std::string call_as_text(const ToolCall& call) {
  const bool terminated = call.error.find("not terminated") == std::string::npos;
  return std::string(kToolCallOpen) + call.raw + (terminated ? std::string(kToolCallClose) : "");
}

}  // namespace

std::string random_call_id() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

ChatAssembler::ChatAssembler(ChatAssemblerOptions options)
    : options_(std::move(options)), parser_(OutputParserOptions{options_.starts_in_reasoning}) {
  if (!options_.make_call_id) options_.make_call_id = random_call_id;
  in_thought_ = options_.starts_in_reasoning;
  if (!options_.forced_prefix.empty()) (void)parser_.push(options_.forced_prefix);
}

void ChatAssembler::track_thought_channel(std::string_view text) {
  if (text.find("<|channel>") != std::string_view::npos) in_thought_ = true;
  if (in_thought_) ++reasoning_tokens_;
  if (text.find("<channel|>") != std::string_view::npos) in_thought_ = false;
}

std::vector<json> ChatAssembler::push(std::string_view text) {
  track_thought_channel(text);
  std::vector<json> deltas;
  convert(parser_.push(text), deltas);
  return deltas;
}

std::vector<json> ChatAssembler::finish() {
  std::vector<json> deltas;
  convert(parser_.finish(), deltas);
  return deltas;
}

void ChatAssembler::convert(std::vector<OutputEvent>&& events, std::vector<json>& deltas) {
  for (OutputEvent& event : events) {
    switch (event.kind) {
      case OutputEventKind::reasoning:
        reasoning_ += event.text;
        add_text("reasoning_content", event.text, deltas);
        break;
      case OutputEventKind::content:
        content_ += event.text;
        add_text("content", event.text, deltas);
        break;
      case OutputEventKind::tool_call:
        if (!event.tool_call.error.empty()) {
          const std::string text = call_as_text(event.tool_call);
          content_ += text;
          add_text("content", text, deltas);
        } else if (options_.parallel_tool_calls || tool_calls_.empty()) {
          add_call(event.tool_call, deltas);
        }
        break;
    }
  }
}

// Consecutive text of the same kind within one push goes out as one delta.
void ChatAssembler::add_text(const char* field, const std::string& text, std::vector<json>& deltas) {
  if (text.empty()) return;
  if (!deltas.empty() && deltas.back().size() == 1 && deltas.back().contains(field)) {
    deltas.back()[field] = deltas.back()[field].get<std::string>() + text;
    return;
  }
  deltas.push_back({{field, text}});
}

void ChatAssembler::add_call(const ToolCall& call, std::vector<json>& deltas) {
  const int index = static_cast<int>(tool_calls_.size());
  const std::string id = options_.make_call_id();
  const std::string arguments = call.arguments.dump();
  tool_calls_.push_back({{"id", id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", arguments}}}});
  deltas.push_back({{"tool_calls", json::array({{{"index", index},
                                                  {"id", id},
                                                  {"type", "function"},
                                                  {"function", {{"name", call.name}, {"arguments", ""}}}}})}});
  deltas.push_back({{"tool_calls", json::array({{{"index", index}, {"function", {{"arguments", arguments}}}}})}});
}

json ChatAssembler::message() const {
  json message = {{"role", "assistant"}};
  // OpenAI sends null content beside tool calls when the model said nothing else.
  message["content"] = (content_.empty() && has_tool_calls()) ? json(nullptr) : json(content_);
  if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
  if (has_tool_calls()) message["tool_calls"] = tool_calls_;
  return message;
}

}  // namespace gemma4::server
