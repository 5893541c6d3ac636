// A cheap lower bound on how many tokens a text becomes, so that a prompt far past the context
// limit is refused after one scan instead of a full BPE (see TokenizerData::token_weight).
#include <algorithm>

#include "tokenizer/tokenizer_data.h"

namespace gemma4 {

void compute_token_weights(TokenizerData& data) {
  data.token_weight.fill(0);
  // Without a byte token for every byte, a character may become one <unk> covering any number of
  // characters (fuse_unk), or nothing at all: no per-byte bound holds, so claim none.
  const bool every_byte_has_token =
      data.byte_fallback && std::all_of(data.byte_token.begin(), data.byte_token.end(), [](int32_t id) { return id >= 0; });
  if (!every_byte_has_token) return;
  std::array<size_t, 256> longest{};
  longest.fill(1);  // a byte token covers one byte of text
  for (int32_t id = 0; id < data.vocab_size(); ++id) {
    if (data.byte_of_token[id] >= 0) continue;  // "<0x41>" covers one byte, not six
    const std::string_view piece = data.piece(id);
    for (const char c : piece) {
      size_t& l = longest[static_cast<unsigned char>(c)];
      l = std::max(l, piece.size());
    }
  }
  for (size_t b = 0; b < 256; ++b) data.token_weight[b] = (uint64_t{1} << 32) / longest[b];
}

TokenWeight token_weight_of(const TokenizerData& data, std::string_view bytes) {
  TokenWeight total = 0;
  for (size_t start = 0; start < bytes.size(); start += 4096) {
    uint64_t weight = 0;  // 4096 weights of at most 2^32 each cannot overflow 64 bits
    for (const char c : bytes.substr(start, 4096)) weight += data.token_weight[static_cast<unsigned char>(c)];
    total += weight;
  }
  return total;
}

size_t min_token_count(const TokenizerData& data, std::string_view normalized) {
  return static_cast<size_t>(token_weight_of(data, normalized) >> 32);
}

}  // namespace gemma4
