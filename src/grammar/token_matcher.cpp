// Token masks: the trie is walked depth-first with the grammar state; a byte the state rejects
// prunes the whole subtree, and inside an unbounded string a subtree of plain bytes is allowed at
// once without walking it. Masks are cached per state (the whole stack set), so the many steps
// that return to one state (inside a string, between keys) cost one lookup.
#include <cstring>

#include "grammar/grammar_impl.h"
#include "grammar/token_trie.h"

namespace gemma4 {

namespace {

std::string state_key(const ByteMatcher::State& s) {
  std::string key;
  for (const Stack& st : s.stacks) {
    const auto n = static_cast<uint32_t>(st.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(reinterpret_cast<const char*>(st.data()), st.size() * sizeof(Frame));
  }
  return key;
}

class MaskWalker {
 public:
  MaskWalker(const Grammar& g, const TokenTrie& t, std::vector<uint8_t>& allowed) : g_(g), t_(t), allowed_(allowed) {
    scratch_.resize(t.max_token_bytes + 1);  // never resized during the walk: states are referenced
  }

  void walk(uint32_t index, const ByteMatcher::State& state, size_t depth) {
    const TrieNode& node = t_.nodes[index];
    if (depth > 0) allow(node.begin, node.term_end);
    if (node.plain_below && plain_fits(node, state)) {
      allow(node.term_end, node.end);
      return;
    }
    if (node.whole_chars_below && class_fits(node, state)) {
      allow(node.term_end, node.end);
      return;
    }
    for (uint32_t k = 0; k < node.child_count; ++k) {
      const uint32_t child = node.first_child + k;
      ByteMatcher::State& next = scratch_[depth];
      if (!advance(g_, state, t_.nodes[child].byte, next)) continue;
      walk(child, next, depth + 1);
    }
  }

 private:
  // Every token below adds only plain characters, and no more than the state accepts.
  bool plain_fits(const TrieNode& node, const ByteMatcher::State& state) const {
    const int64_t accepted = plain_chars_accepted(g_, state);
    return accepted == -1 || (accepted >= 0 && node.plain_chars_below <= accepted);
  }

  // Inside an unbounded repetition of a class: every token below is a run of its characters.
  bool class_fits(const TrieNode& node, const ByteMatcher::State& state) const {
    const Node* c = repeated_class(g_, state);
    if (!c) return false;
    for (int b = 0; b < 128; ++b) {
      if (!((node.ascii_below[b >> 6] >> (b & 63)) & 1)) continue;
      if (c->json_escaped && (b == '"' || b == '\\' || b < 0x20)) return false;
      if (!class_has(*c, static_cast<uint32_t>(b), static_cast<uint32_t>(b))) return false;
    }
    return !node.non_ascii_below || (class_has(*c, 0x80, 0xD7FF) && class_has(*c, 0xE000, 0x10FFFF));
  }

  // The class holds all of [lo, hi] (its ranges are merged, so one range must).
  static bool class_has(const Node& c, uint32_t lo, uint32_t hi) {
    for (const CodeRange& r : c.ranges)
      if (r.lo <= lo && r.hi >= hi) return true;
    return false;
  }

  void allow(uint32_t begin, uint32_t end) {
    for (uint32_t i = begin; i < end; ++i) {
      const auto id = static_cast<size_t>(t_.sorted_ids[i]);
      if (id < allowed_.size()) allowed_[id] = 1;
    }
  }

  const Grammar& g_;
  const TokenTrie& t_;
  std::vector<uint8_t>& allowed_;
  std::vector<ByteMatcher::State> scratch_;
};

}  // namespace

TokenMatcher::TokenMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie)
    : grammar_(std::move(grammar)), trie_(std::move(trie)), bytes_(grammar_) {
  lazy_ = !grammar_->trigger.empty();
  if (!grammar_->prefix.empty()) triggered_ = bytes_.accept(grammar_->prefix);  // checked when compiled
}
TokenMatcher::~TokenMatcher() = default;
TokenMatcher::TokenMatcher(TokenMatcher&&) noexcept = default;

void TokenMatcher::fill_mask(std::vector<uint8_t>& allowed, std::span<const int32_t> end_ids) {
  if (!active()) {  // free text until the trigger token
    std::fill(allowed.begin(), allowed.end(), 1);
    return;
  }
  const std::string key = state_key(bytes_.state());
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    std::vector<uint8_t> mask(static_cast<size_t>(trie_->vocab_size), 0);
    MaskWalker(*grammar_, *trie_, mask).walk(0, bytes_.state(), 0);
    if (cache_.size() >= kMaxCachedMasks) cache_.clear();
    it = cache_.emplace(key, std::move(mask)).first;
  }
  const std::vector<uint8_t>& mask = it->second;
  const size_t n = std::min(allowed.size(), mask.size());
  std::memcpy(allowed.data(), mask.data(), n);
  std::fill(allowed.begin() + static_cast<std::ptrdiff_t>(n), allowed.end(), 0);
  const bool end_ok = bytes_.can_end();
  for (int32_t id : end_ids)
    if (id >= 0 && static_cast<size_t>(id) < allowed.size()) allowed[static_cast<size_t>(id)] = end_ok ? 1 : 0;
}

bool TokenMatcher::accept_token(int32_t id) {
  if (id < 0 || id >= trie_->vocab_size) return false;
  const std::string& b = trie_->bytes[static_cast<size_t>(id)];
  if (!active()) {
    triggered_ = b == grammar_->trigger;
    return true;
  }
  if (b.empty() || !bytes_.accept(b)) return false;
  if (lazy_ && bytes_.can_end()) {  // the part is complete: free again until the next trigger
    bytes_ = ByteMatcher(grammar_);
    triggered_ = false;
  }
  return true;
}

}  // namespace gemma4
