// Byte-pair encoding of one word, reproducing the Rust `tokenizers` BPE (Word::merge_all): the
// adjacent pair with the lowest merge rank is merged first, ties go to the leftmost pair. A heap
// of candidate merges keeps this O(n log n), which matters because a Gemma "word" is a whole
// text segment (there is no whitespace pre-tokenization).
#include <queue>
#include <vector>

#include "tokenizer/tokenizer_data.h"
#include "tokenizer/utf8.h"

namespace gemma4 {
namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t position;  // index of the left symbol
  int32_t merged_id;
  // std::priority_queue pops the largest, so "larger" means worse rank, then further right.
  bool operator<(const Candidate& other) const {
    if (rank != other.rank) return rank > other.rank;
    return position > other.position;
  }
};

// Initial symbols: one per character that is a vocabulary piece, else its bytes as byte tokens
// (or <unk> when there is no byte fallback). Invalid UTF-8 bytes are treated as lone bytes.
void initial_symbols(const TokenizerData& data, std::string_view word, std::vector<Symbol>& symbols) {
  symbols.reserve(word.size());
  bool previous_was_unk = false;
  const auto push = [&](int32_t id) {
    symbols.push_back(Symbol{id, static_cast<int32_t>(symbols.size()) - 1, static_cast<int32_t>(symbols.size()) + 1, true});
  };
  for (size_t pos = 0; pos < word.size();) {
    const auto lead = static_cast<unsigned char>(word[pos]);
    size_t length = lead < 0x80 ? 1 : utf8::valid_char_length(word, pos);
    int32_t id = -1;
    if (length == 1 && lead < 0x80) {
      id = data.ascii_piece[lead];
    } else if (length > 0) {
      id = data.find_piece(word.substr(pos, length));
    } else {
      length = 1;
    }
    if (id >= 0) {
      push(id);
      previous_was_unk = false;
    } else {
      bool all_bytes_known = data.byte_fallback;
      for (size_t i = 0; i < length && all_bytes_known; ++i) {
        all_bytes_known = data.byte_token[static_cast<unsigned char>(word[pos + i])] >= 0;
      }
      if (all_bytes_known) {
        for (size_t i = 0; i < length; ++i) push(data.byte_token[static_cast<unsigned char>(word[pos + i])]);
        previous_was_unk = false;
      } else if (data.unk_id >= 0) {
        if (!(data.fuse_unk && previous_was_unk)) push(data.unk_id);
        previous_was_unk = true;
      }
      // Without an unk token the Rust library drops the character; so do we.
    }
    pos += length;
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

}  // namespace

void bpe_encode_word(const TokenizerData& data, std::string_view word, std::vector<int32_t>& out) {
  if (word.empty()) return;
  if (data.ignore_merges) {
    if (const int32_t id = data.find_piece(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  initial_symbols(data, word, symbols);
  if (symbols.empty()) return;

  std::vector<Candidate> storage;
  storage.reserve(symbols.size());
  std::priority_queue<Candidate> queue(std::less<Candidate>(), std::move(storage));
  const auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    if (const MergeTable::Entry* merge = data.merges.find(symbols[left].id, symbols[right].id)) {
      queue.push(Candidate{merge->rank, left, merge->merged_id});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.position];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale entry: one side changed since it was queued.
    const MergeTable::Entry* merge = data.merges.find(left.id, right.id);
    if (merge == nullptr || merge->merged_id != top.merged_id || merge->rank != top.rank) continue;
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.position;
    consider(left.prev);
    consider(top.position);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace gemma4
