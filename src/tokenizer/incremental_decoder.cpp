// Streaming detokenization: hold byte-fallback tokens until they complete a UTF-8 character.
#include "gemma4/tokenizer.h"
#include "tokenizer/utf8.h"

namespace gemma4 {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

void IncrementalDecoder::drain_complete_characters(std::string& out) {
  size_t pos = 0;
  while (pos < pending_.size()) {
    const size_t length = utf8::valid_char_length(pending_, pos);
    if (length > 0) {
      out.append(pending_, pos, length);
      pos += length;
    } else if (utf8::is_incomplete_char_prefix(pending_, pos)) {
      break;  // wait for more bytes
    } else {
      out += utf8::kReplacementCharacter;
      ++pos;
    }
  }
  pending_.erase(0, pos);
}

std::string IncrementalDecoder::push(int32_t id) {
  std::string out;
  // Validates the id (throws gemma4::Error when out of range).
  (void)tokenizer_.piece(id);
  // Skipped special tokens vanish before the byte decoder sees the stream, as in batch decode.
  if (skip_special_ && tokenizer_.is_special(id)) return out;
  if (const auto byte = tokenizer_.byte_value(id)) {
    pending_ += static_cast<char>(*byte);
    drain_complete_characters(out);
    return out;
  }
  out = flush();
  tokenizer_.append_piece_text(id, out);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out;
  drain_complete_characters(out);
  for (size_t i = 0; i < pending_.size(); ++i) out += utf8::kReplacementCharacter;
  pending_.clear();
  return out;
}

}  // namespace gemma4
