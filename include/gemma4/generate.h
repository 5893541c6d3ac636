#pragma once
// Text generation on a Session: prefix reuse, sampling, stop conditions and streaming.
//
//   gemma4::GenerateRequest req;
//   req.prompt = tokenizer.encode(gemma4::render_chat(messages, nullptr, {}));
//   auto result = gemma4::generate(session, tokenizer, req, [](const gemma4::StreamEvent& e) {
//     std::fputs(e.text.c_str(), stdout);
//     return true;  // false stops generation (finish reason "cancelled")
//   });
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gemma4/engine.h"
#include "gemma4/model.h"
#include "gemma4/sampling.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {


struct GenerateRequest {
  std::vector<int32_t> prompt;           // the whole prompt; a cached prefix is reused
  SamplingParams sampling;
  int64_t max_tokens = 512;              // generated tokens at most (stop tokens not counted)
  std::vector<int32_t> stop_token_ids;   // e.g. from generation_config.json (1, 106, 50)
  std::vector<std::string> stop_strings; // matched across token boundaries, never shown
};

struct StreamEvent {
  int32_t token = -1;  // the token just generated
  std::string text;    // text that became safe to show (may be empty while held back)
};

struct GenerateResult {
  FinishReason finish = FinishReason::Stop;
  std::vector<int32_t> tokens;  // generated tokens (without the stop token)
  std::string text;             // their text, special tokens shown, cut at a stop string
  int32_t stop_token = -1;      // the stop token that ended generation, if any
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt tokens reused from the session's cache
  int64_t completion_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Runs until a stop token, a stop string, max_tokens, the session's context limit (finish
// "length") or the callback returning false ("cancelled"). Errors (bad prompt ids, a prompt that
// does not fit the context) throw gemma4::Error before anything is generated.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, const GenerateRequest& request,
                        const std::function<bool(const StreamEvent&)>& on_token = {});

// Makes the session hold exactly `prompt` minus its last token, reusing the longest common prefix
// of what it already caches; returns how many prompt tokens were reused.
int64_t reuse_prefix(Session& session, const std::vector<int32_t>& prompt);

}  // namespace gemma4
