// Fuzzes tokenizer.json loading (the streaming scanner and the vocabulary/merge checks). A
// tokenizer that loads must encode and decode a fixed text with ids inside its vocabulary.
#include <string_view>

#include "fuzz_util.h"
#include "gemma4/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  fuzz::expect_clean_error([&] {
    const Tokenizer tok = Tokenizer::from_json_text(fuzz::as_text(data, size), "tokenizer.json");
    constexpr std::string_view kText = "Hello world <|turn>user\n\xC3\xA9\xF0\x9F\x98\x80 \xFF\xFE end";
    for (bool special : {true, false}) {
      const std::vector<int32_t> ids = tok.encode(kText, special);
      for (int32_t id : ids) {
        if (id < 0 || id >= tok.vocab_size()) std::abort();
      }
      (void)tok.decode(ids, !special);
      IncrementalDecoder stream(tok);
      for (int32_t id : ids) (void)stream.push(id);
      (void)stream.flush();
    }
  });
  return 0;
}
