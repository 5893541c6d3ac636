#include "grammar/token_trie.h"

#include <algorithm>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

bool plain_ascii(uint8_t c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

// Length of the whole, valid UTF-8 character at bytes[i] (multi-byte only), or 0.
size_t utf8_char(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  if (i + len > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return len;
}

// plain_from[d]: bytes[d..] are plain string bytes, starting at a character boundary.
std::vector<bool> plain_suffixes(const std::string& s) {
  std::vector<bool> plain(s.size() + 1, false);
  plain[s.size()] = true;
  for (size_t d = s.size(); d-- > 0;) {
    if (plain_ascii(static_cast<uint8_t>(s[d]))) {
      plain[d] = plain[d + 1];
    } else if (const size_t len = utf8_char(s, d); len > 0) {
      plain[d] = plain[d + len];
    }
  }
  return plain;
}

// whole_from[d]: bytes[d..] are whole, valid UTF-8 characters.
std::vector<bool> whole_suffixes(const std::string& s) {
  std::vector<bool> whole(s.size() + 1, false);
  whole[s.size()] = true;
  for (size_t d = s.size(); d-- > 0;) {
    if (static_cast<uint8_t>(s[d]) < 0x80) {
      whole[d] = whole[d + 1];
    } else if (const size_t len = utf8_char(s, d); len > 0) {
      whole[d] = whole[d + len];
    }
  }
  return whole;
}

// Read inside an unbounded string from its first byte, the token is refused before any closing
// quote: then it is refused under any bounds too (bounds only refuse more).
bool refused_in_string(const std::string& b) {
  Node any_string;
  any_string.kind = NodeKind::String;
  Frame f{0, 1, 0, 0};
  for (char c : b) {
    const StringStep step = string_step(any_string, f, static_cast<uint8_t>(c));
    if (step != StringStep::Inside) return step == StringStep::Reject;
  }
  return false;
}

class TrieBuilder {
 public:
  explicit TrieBuilder(TokenTrie& t) : t_(t) {
    for (int32_t id : t_.sorted_ids) {
      const std::string& b = t_.bytes[static_cast<size_t>(id)];
      plain_.push_back(plain_suffixes(b));
      whole_.push_back(whole_suffixes(b));
      settled_.push_back(plain_.back()[0] || refused_in_string(b));
    }
  }

  void fill(uint32_t index, uint32_t begin, uint32_t end, size_t depth) {
    auto len = [&](uint32_t i) { return t_.bytes[static_cast<size_t>(t_.sorted_ids[i])].size(); };
    auto byte_at = [&](uint32_t i) { return static_cast<uint8_t>(t_.bytes[static_cast<size_t>(t_.sorted_ids[i])][depth]); };
    uint32_t term_end = begin;
    while (term_end < end && len(term_end) == depth) ++term_end;
    bool whole = true, non_ascii = false;
    uint64_t ascii[2] = {0, 0};
    for (uint32_t i = begin; i < end; ++i) {
      whole = whole && whole_[i][depth];
      const std::string& b = t_.bytes[static_cast<size_t>(t_.sorted_ids[i])];
      for (size_t k = depth; k < b.size(); ++k) {
        const auto c = static_cast<uint8_t>(b[k]);
        if (c < 0x80) ascii[c >> 6] |= uint64_t{1} << (c & 63);
        else non_ascii = true;
      }
    }
    bool plain = true;
    uint32_t chars = 0;
    for (uint32_t i = begin; i < end && plain; ++i) {
      plain = plain_[i][depth];
      const std::string& b = t_.bytes[static_cast<size_t>(t_.sorted_ids[i])];
      uint32_t c = 0;
      for (size_t k = depth; k < b.size(); ++k) c += (static_cast<uint8_t>(b[k]) & 0xC0) != 0x80;
      chars = std::max(chars, c);
    }
    std::vector<std::pair<uint32_t, uint32_t>> groups;
    for (uint32_t i = term_end; i < end;) {
      uint32_t j = i;
      while (j < end && byte_at(j) == byte_at(i)) ++j;
      groups.emplace_back(i, j);
      i = j;
    }
    const auto first = static_cast<uint32_t>(t_.nodes.size());
    t_.nodes.resize(t_.nodes.size() + groups.size());
    TrieNode& n = t_.nodes[index];
    n.begin = begin;
    n.end = end;
    n.term_end = term_end;
    n.plain_below = plain;
    n.plain_chars_below = chars;
    n.ascii_below[0] = ascii[0];
    n.ascii_below[1] = ascii[1];
    n.whole_chars_below = whole;
    n.settled_in_string = true;
    for (uint32_t i = begin; i < end && n.settled_in_string; ++i) n.settled_in_string = settled_[i];
    n.non_ascii_below = non_ascii;
    n.first_child = first;
    n.child_count = static_cast<uint32_t>(groups.size());
    for (size_t k = 0; k < groups.size(); ++k) {
      t_.nodes[first + k].byte = byte_at(groups[k].first);
      fill(first + static_cast<uint32_t>(k), groups[k].first, groups[k].second, depth + 1);
    }
  }

 private:
  TokenTrie& t_;
  std::vector<std::vector<bool>> plain_;
  std::vector<std::vector<bool>> whole_;
  std::vector<bool> settled_;  // per sorted token: plain, or refused inside any string (TrieNode::settled_in_string)
};

uint32_t char_count(const std::string& b) {
  uint32_t c = 0;
  for (char ch : b) c += (static_cast<uint8_t>(ch) & 0xC0) != 0x80;
  return c;
}

void add_plain_tables(TokenTrie& t) {
  for (int32_t id : t.sorted_ids) {
    const std::string& b = t.bytes[static_cast<size_t>(id)];
    if (plain_suffixes(b)[0]) t.plain_chars_max = std::max<size_t>(t.plain_chars_max, char_count(b));
  }
  t.plain_up_to.assign((t.plain_chars_max + 1) * t.mask_words, 0);
  for (int32_t id : t.sorted_ids) {
    const std::string& b = t.bytes[static_cast<size_t>(id)];
    if (!plain_suffixes(b)[0]) continue;
    for (size_t k = char_count(b); k <= t.plain_chars_max; ++k)
      t.plain_up_to[k * t.mask_words + (static_cast<size_t>(id) >> 6)] |= uint64_t{1} << (id & 63);
  }
}

void add_dense_sets(TokenTrie& t) {
  t.mask_words = (static_cast<size_t>(t.vocab_size) + 63) / 64;
  for (TrieNode& n : t.nodes) {
    if (n.end - n.begin < kDenseSubtreeTokens) continue;
    n.dense = static_cast<int64_t>(t.dense_words.size());
    t.dense_words.resize(t.dense_words.size() + t.mask_words, 0);
    uint64_t* words = t.dense_words.data() + n.dense;
    for (uint32_t i = n.begin; i < n.end; ++i) {
      const auto id = static_cast<size_t>(t.sorted_ids[i]);
      words[id >> 6] |= uint64_t{1} << (id & 63);
    }
  }
}

}  // namespace

std::shared_ptr<const TokenTrie> build_token_trie(const Tokenizer& tokenizer) {
  auto t = std::make_shared<TokenTrie>();
  t->vocab_size = tokenizer.vocab_size();
  t->bytes.resize(static_cast<size_t>(t->vocab_size));
  for (int32_t id = 0; id < t->vocab_size; ++id) {
    std::string& b = t->bytes[static_cast<size_t>(id)];
    if (tokenizer.is_special(id)) {
      b = special_token_bytes(tokenizer.piece(id));
    } else if (const auto byte = tokenizer.byte_value(id)) {
      // Bytes that never occur in UTF-8 stay out: 0xFF marks special tokens (special_token_bytes).
      if (*byte == 0xC0 || *byte == 0xC1 || *byte >= 0xF5) continue;
      b.assign(1, static_cast<char>(*byte));
    } else {
      tokenizer.append_piece_text(id, b);
    }
    if (!b.empty()) t->sorted_ids.push_back(id);
    t->max_token_bytes = std::max(t->max_token_bytes, b.size());
  }
  std::sort(t->sorted_ids.begin(), t->sorted_ids.end(), [&](int32_t a, int32_t b) {
    return t->bytes[static_cast<size_t>(a)] < t->bytes[static_cast<size_t>(b)];
  });
  t->nodes.resize(1);
  TrieBuilder(*t).fill(0, 0, static_cast<uint32_t>(t->sorted_ids.size()), 0);
  add_dense_sets(*t);
  add_plain_tables(*t);
  return t;
}

}  // namespace gemma4
