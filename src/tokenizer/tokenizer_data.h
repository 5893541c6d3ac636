#pragma once
// The immutable state behind a gemma4::Tokenizer, built once by the tokenizer.json loader and
// shared by every copy of the Tokenizer.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gemma4/tokenizer.h"

namespace gemma4 {

// (left id, right id) -> (rank, merged id), open addressing. The BPE inner loop does one lookup
// per candidate pair, so this avoids std::unordered_map's node chasing.
class MergeTable {
 public:
  struct Entry {
    uint64_t key = kEmptyKey;
    int32_t rank = 0;
    int32_t merged_id = 0;
  };

  void reserve(size_t count);
  // A later duplicate pair overwrites an earlier one, as in the Rust library's HashMap collect.
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged_id);
  const Entry* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = make_key(left, right);
    for (size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
      const Entry& entry = slots_[slot];
      if (entry.key == key) return &entry;
      if (entry.key == kEmptyKey) return nullptr;
    }
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};
  static uint64_t make_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static size_t hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key);
  }
  std::vector<Entry> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

// piece text -> id, open addressing over (hash, id) slots; the pieces themselves live in
// TokenizerData::piece_bytes. Several times faster to build and query than an unordered_map of
// 262k string_views, which dominated load time.
class PieceIndex {
 public:
  static uint64_t hash(std::string_view text) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }
  void reset(size_t count) {
    size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }
  // Inserts or overwrites (the last id of a duplicated piece wins, as in the Rust library).
  template <typename PieceOf>
  void insert(std::string_view piece, int32_t id, const PieceOf& piece_of) {
    const uint64_t h = hash(piece);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      Slot& entry = slots_[slot];
      if (entry.id < 0 || (entry.tag == tag && piece_of(entry.id) == piece)) {
        entry = Slot{tag, id};
        return;
      }
    }
  }
  template <typename PieceOf>
  int32_t find(std::string_view piece, const PieceOf& piece_of) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(piece);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      const Slot& entry = slots_[slot];
      if (entry.id < 0) return -1;
      if (entry.tag == tag && piece_of(entry.id) == piece) return entry.id;
    }
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// A string matched in raw text before BPE (HF "added tokens").
struct AddedToken {
  std::string text;
  int32_t id = 0;
  bool special = true;  // special tokens are matched only when parse_special is on
};

struct TokenizerData {
  // piece(id) = piece_bytes[piece_offsets[id] .. piece_offsets[id + 1])
  std::string piece_bytes;
  std::vector<uint32_t> piece_offsets;
  PieceIndex piece_index;

  std::vector<uint8_t> special;        // per id: 1 for special added tokens
  std::vector<int16_t> byte_of_token;  // per id: the byte of a `<0xHH>` token, or -1
  std::array<int32_t, 256> byte_token{};  // `<0xHH>` id per byte, or -1 when absent
  std::array<int32_t, 128> ascii_piece{};  // id of the one-character ASCII piece, or -1
  // Per byte value b: 2^32 / L(b), rounded down, where L(b) is the longest vocabulary piece that
  // contains b (1 when only its byte token does). A token of length n holds only bytes with
  // L >= n, so its bytes weigh at most 2^32 in total: the weight of a normalized text, >> 32, is a
  // lower bound on its token count. All zero when <unk> can fuse, since one <unk> covers any length.
  std::array<uint64_t, 256> token_weight{};
  int32_t unk_id = -1;
  bool byte_fallback = true;
  bool fuse_unk = true;
  bool ignore_merges = false;

  std::vector<AddedToken> added_tokens;         // longest first, so the first match is the longest
  std::array<bool, 256> added_token_first_byte{};  // quick rejection while scanning text
  std::vector<std::pair<std::string, std::string>> normalizer_replacements;  // applied in order

  MergeTable merges;

  int32_t vocab_size() const { return static_cast<int32_t>(piece_offsets.size()) - 1; }
  std::string_view piece(int32_t id) const {
    return std::string_view(piece_bytes).substr(piece_offsets[id], piece_offsets[id + 1] - piece_offsets[id]);
  }
  // The id of a vocabulary piece, or -1.
  int32_t find_piece(std::string_view text) const {
    return piece_index.find(text, [this](int32_t id) { return piece(id); });
  }
};

// Parses tokenizer.json text (see tokenizer_json.cpp). Throws gemma4::Error naming `source_name`.
std::shared_ptr<const TokenizerData> parse_tokenizer_json(std::string_view json_text, std::string_view source_name);

// Fills TokenizerData::token_weight from the pieces, byte tokens and <unk> settings.
void compute_token_weights(TokenizerData& data);
// The sum of TokenizerData::token_weight over some bytes, in units of 2^-32 tokens (128 bits:
// no length overflows it).
using TokenWeight = unsigned __int128;
TokenWeight token_weight_of(const TokenizerData& data, std::string_view bytes);
// A lower bound on the tokens of an already-normalized segment without added tokens, in one scan.
size_t min_token_count(const TokenizerData& data, std::string_view normalized);

// BPE on one already-normalized word (see bpe.cpp); appends ids to `out`.
void bpe_encode_word(const TokenizerData& data, std::string_view word, std::vector<int32_t>& out);

}  // namespace gemma4
