// Fuzzes chat rendering from request-shaped JSON: {"messages": [...], "tools": [...],
// "add_generation_prompt", "enable_thinking", "preserve_thinking"} (a bare array is the messages).
// Rendering either succeeds or throws gemma4::Error; a JSON library exception escaping is a bug.
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/chat.h"

namespace {

bool flag(const nlohmann::json& doc, const char* key, bool fallback) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const nlohmann::json doc = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (doc.is_discarded()) return 0;
  nlohmann::json messages = doc, tools = nullptr;
  ChatOptions options;
  if (doc.is_object()) {
    messages = doc.contains("messages") ? doc["messages"] : nlohmann::json(nullptr);
    tools = doc.contains("tools") ? doc["tools"] : nlohmann::json(nullptr);
    options.add_generation_prompt = flag(doc, "add_generation_prompt", true);
    options.enable_thinking = flag(doc, "enable_thinking", false);
    options.preserve_thinking = flag(doc, "preserve_thinking", false);
  }
  fuzz::expect_clean_error([&] {
    const std::string prompt = render_chat(messages, tools, options);
    if (!prompt.starts_with("<bos>")) std::abort();
  });
  return 0;
}
