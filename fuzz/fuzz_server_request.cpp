// Fuzzes the HTTP server's request-body validation: any JSON body for /v1/chat/completions or
// /v1/completions is either accepted (and then renders / holds ids inside the vocabulary) or
// refused with an ApiError of a 4xx status naming the problem. Nothing else may escape.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/chat.h"
#include "server/api_error.h"
#include "server/chat_request.h"
#include "server/completion_request.h"

namespace {

constexpr int32_t kVocab = 262144;

template <typename Fn>
void expect_api_error(Fn&& fn) {
  try {
    fn();
  } catch (const gemma4::server::ApiError& e) {
    if (e.status < 400 || e.status >= 500 || std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "ApiError with status %d: %s\n", e.status, e.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const nlohmann::json body = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (body.is_discarded()) return 0;
  GenerationDefaults defaults;
  defaults.stop_token_ids = {1, 106, 50};
  expect_api_error([&] {
    const server::ChatRequest r = server::parse_chat_request(body, defaults, kVocab);
    // An accepted request must render; the template may still refuse a conversation it cannot
    // express, which the server reports as a 400 too.
    fuzz::expect_clean_error([&] { (void)render_chat(r.messages, r.tools, r.chat); });
  });
  expect_api_error([&] {
    const server::CompletionRequest r = server::parse_completion_request(body, defaults, kVocab);
    for (int32_t id : r.prompt_tokens) {
      if (id < 0 || id >= kVocab) std::abort();
    }
  });
  return 0;
}
