// Fuzzes the real Gemma 4 tokenizer (tests/data/tokenizer, loaded once) on arbitrary bytes:
// ids stay in the vocabulary; valid UTF-8 without U+2581 decodes back to exactly the input (with
// and without special-token parsing); the streaming decoder agrees with batch decoding.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

// GEMMA4_TEST_DATA in the environment overrides the build's path (binaries run on another machine).
const gemma4::Tokenizer& tokenizer() {
  static const gemma4::Tokenizer tok = [] {
    const char* data = std::getenv("GEMMA4_TEST_DATA");
    return gemma4::Tokenizer::load(std::string(data != nullptr ? data : GEMMA4_TEST_DATA) + "/tokenizer/tokenizer.json");
  }();
  return tok;
}

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "tokenizer round trip: %s\n", what);
  std::abort();
}

}  // namespace

// Loading the 32 MB tokenizer takes seconds under ASan: do it before the per-input timeout starts.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const Tokenizer& tok = tokenizer();
  const std::string_view text = fuzz::as_text(data, size);
  const bool round_trips = utf8::is_valid(text) && text.find("\xE2\x96\x81") == std::string_view::npos;
  for (bool special : {false, true}) {
    const std::vector<int32_t> ids = tok.encode(text, special);
    for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), "id outside the vocabulary");
    const std::string decoded = tok.decode(ids);
    if (round_trips) check(decoded == text, "decode(encode(text)) != text");
    if (!utf8::is_valid(text)) continue;
    IncrementalDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    check(streamed == decoded, "streaming decode differs from batch decode");
  }
  std::string sanitized(text);
  const auto bad = sanitize_utf8(sanitized);
  check(utf8::is_valid(sanitized), "sanitize_utf8 left invalid UTF-8");
  check(bad.has_value() == !utf8::is_valid(text), "sanitize_utf8 reported the wrong validity");
  return 0;
}
