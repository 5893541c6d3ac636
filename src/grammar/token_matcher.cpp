// Token masks: the trie is walked depth-first with the grammar state; a byte the state rejects
// prunes the whole subtree, and a subtree the state accepts whole (plain characters inside a
// string, a run of a class) is allowed at once from its word set. Inside a string the walk below a
// large node is shared by every grammar on the vocabulary (StringInterior: it depends on the
// string's bounds and frame only), so a request walks just the tokens that close the string. Masks
// are cached per state (the whole stack set), so the many steps that return to one state cost a
// 32 KB copy.
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

// Every token of sorted_ids[begin, end).
void allow_range(const TokenTrie& t, TokenMask& mask, uint32_t begin, uint32_t end) {
  std::span<uint64_t> words = mask.words();
  for (uint32_t i = begin; i < end; ++i) {
    const auto id = static_cast<size_t>(t.sorted_ids[i]);
    words[id >> 6] |= uint64_t{1} << (id & 63);
  }
}

// Every token through the node (those ending at it were allowed already, if at all).
void allow_subtree(const TokenTrie& t, TokenMask& mask, const TrieNode& node) {
  if (node.dense < 0) return allow_range(t, mask, node.term_end, node.end);
  const uint64_t* set = t.dense_words.data() + node.dense;
  std::span<uint64_t> words = mask.words();
  for (size_t w = 0; w < words.size(); ++w) words[w] |= set[w];
}

// Every token below the node adds only plain characters, and no more than `accepted` (-1: any).
bool plain_fits(const TrieNode& node, int64_t accepted) {
  return node.plain_below && (accepted == -1 || (accepted >= 0 && node.plain_chars_below <= accepted));
}

// The trie walked with one String frame alone: a byte is one switch on a copied frame, and a
// closing quote ends the walk there (recording an exit when tokens go on past it).
class StringInteriorWalker {
 public:
  StringInteriorWalker(const TokenTrie& t, const Node& string, StringInterior& out) : t_(t), n_(string), out_(out) {}

  // From the root, between characters: the plain tokens short enough for the bound come from the
  // table, and the walk leaves every node whose tokens are settled (plain, or refused inside any
  // string).
  void walk_from_root(const Frame& f) {
    const auto longest = static_cast<int64_t>(t_.plain_chars_max);
    const int64_t left = n_.max < 0 ? longest : std::min(longest, n_.max - f.count);
    if (f.phase == 1 && f.aux == 0 && left >= 0) {
      const uint64_t* set = t_.plain_up_to.data() + static_cast<size_t>(left) * t_.mask_words;
      std::span<uint64_t> words = out_.within.words();
      for (size_t w = 0; w < words.size(); ++w) words[w] |= set[w];
      skip_settled_ = true;
    }
    walk(0, f, 0);
  }

  void walk(uint32_t index, const Frame& f, uint32_t depth) {
    const TrieNode& node = t_.nodes[index];
    if (depth > 0) allow_range(t_, out_.within, node.begin, node.term_end);
    if (f.phase == 1 && f.aux == 0 && plain_fits(node, n_.max >= 0 ? n_.max - f.count : -1)) {
      allow_subtree(t_, out_.within, node);
      return;
    }
    for (uint32_t k = 0; k < node.child_count; ++k) {
      const uint32_t child = node.first_child + k;
      if (skip_settled_ && t_.nodes[child].settled_in_string) continue;
      Frame next = f;
      switch (string_step(n_, next, t_.nodes[child].byte)) {
        case StringStep::Reject: break;
        case StringStep::Inside: walk(child, next, depth + 1); break;
        case StringStep::Closed: {
          const TrieNode& c = t_.nodes[child];
          allow_range(t_, out_.within, c.begin, c.term_end);
          if (c.child_count > 0) out_.exits.push_back({child, depth + 1});
          break;
        }
      }
    }
  }

 private:
  const TokenTrie& t_;
  const Node& n_;
  StringInterior& out_;
  bool skip_settled_ = false;  // from the root with the plain tokens taken: settled nodes add nothing
};

// The interior from trie node `index` (at `depth`) down, walked once per vocabulary.
std::shared_ptr<const StringInterior> string_interior(const TokenTrie& t, uint32_t index, uint32_t depth,
                                                      const Node& string, const Frame& f) {
  const StringInteriorKey key{index, string.min, string.max, f.phase, f.count, f.aux};
  {
    std::lock_guard<std::mutex> lock(t.interiors_mutex);
    if (auto it = t.interiors.find(key); it != t.interiors.end()) return it->second;
  }
  auto interior = std::make_shared<StringInterior>();
  interior->within.assign(static_cast<size_t>(t.vocab_size), false);
  StringInteriorWalker walker(t, string, *interior);
  if (index == 0) walker.walk_from_root(f);
  else walker.walk(index, f, depth);
  std::lock_guard<std::mutex> lock(t.interiors_mutex);
  if (t.interiors.size() >= TokenTrie::kMaxStringInteriors) t.interiors.clear();
  return t.interiors.emplace(key, std::move(interior)).first->second;
}

// The state's one stack is inside a string (after its opening quote): its String node, else null.
const Node* inside_string(const Grammar& g, const ByteMatcher::State& s) {
  if (s.stacks.size() != 1 || s.stacks[0].empty()) return nullptr;
  const Frame& f = s.stacks[0].back();
  if (f.node < 0 || f.phase < 1) return nullptr;
  const Node& n = g.nodes[static_cast<size_t>(f.node)];
  return n.kind == NodeKind::String ? &n : nullptr;
}

class MaskWalker {
 public:
  MaskWalker(const Grammar& g, const TokenTrie& t, TokenMask& allowed) : g_(g), t_(t), allowed_(allowed) {
    scratch_.resize(t.max_token_bytes + 1);  // never resized during the walk: states are referenced
  }

  void walk(uint32_t index, const ByteMatcher::State& state, size_t depth) {
    const TrieNode& node = t_.nodes[index];
    if (depth > 0) allow_range(t_, allowed_, node.begin, node.term_end);
    const Node* string = node.dense >= 0 ? inside_string(g_, state) : nullptr;
    if (string) return walk_string(index, *string, state, depth);
    if (node.plain_below && plain_fits(node, plain_chars_accepted(g_, state))) {
      allow_subtree(t_, allowed_, node);
      return;
    }
    if (node.whole_chars_below && class_fits(node, state)) {
      allow_subtree(t_, allowed_, node);
      return;
    }
    walk_children(node, state, depth);
  }

  void walk_children(const TrieNode& node, const ByteMatcher::State& state, size_t depth) {
    for (uint32_t k = 0; k < node.child_count; ++k) {
      const uint32_t child = node.first_child + k;
      ByteMatcher::State& next = scratch_[depth];
      if (!advance(g_, state, t_.nodes[child].byte, next)) continue;
      walk(child, next, depth + 1);
    }
  }

 private:
  // Below a large node inside a string: the string's shared interior walk plus, past each closing
  // quote, the tokens the state after the string accepts (one state for every exit: the string's
  // frame is gone, whatever it held).
  void walk_string(uint32_t index, const Node& string, const ByteMatcher::State& state, size_t depth) {
    const Frame& top = state.stacks[0].back();
    const auto interior = string_interior(t_, index, static_cast<uint32_t>(depth), string, top);
    const std::span<const uint64_t> within = interior->within.words();
    std::span<uint64_t> words = allowed_.words();
    for (size_t w = 0; w < words.size(); ++w) words[w] |= within[w];
    if (interior->exits.empty()) return;
    ByteMatcher::State closable = state, closed;
    closable.stacks[0].back() = Frame{top.node, 1, static_cast<int32_t>(string.min), 0};
    if (!advance(g_, closable, '"', closed)) return;
    for (const StringInterior::Exit& e : interior->exits) walk_children(t_.nodes[e.node], closed, e.depth);
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

  const Grammar& g_;
  const TokenTrie& t_;
  TokenMask& allowed_;
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

void TokenMask::assign(size_t size, bool allowed) {
  size_ = size;
  words_.assign((size + 63) / 64, allowed ? ~uint64_t{0} : 0);
  if (allowed && size % 64 != 0) words_.back() = (uint64_t{1} << (size % 64)) - 1;
}

void TokenMatcher::fill_mask(TokenMask& allowed, std::span<const int32_t> end_ids) {
  if (!active()) {  // free text until the trigger token
    allowed.assign(allowed.size(), true);
    return;
  }
  const std::string key = state_key(bytes_.state());
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    TokenMask mask(static_cast<size_t>(trie_->vocab_size));
    MaskWalker(*grammar_, *trie_, mask).walk(0, bytes_.state(), 0);
    if (cache_.size() >= kMaxCachedMasks) cache_.clear();
    it = cache_.emplace(key, std::move(mask)).first;
  }
  // The row may be narrower or wider than the vocabulary: ids past the vocabulary are never allowed.
  const std::span<const uint64_t> from = it->second.words();
  const std::span<uint64_t> to = allowed.words();
  const size_t n = std::min(from.size(), to.size());
  std::memcpy(to.data(), from.data(), n * sizeof(uint64_t));
  std::fill(to.begin() + static_cast<std::ptrdiff_t>(n), to.end(), 0);
  if (allowed.size() % 64 != 0 && !to.empty()) to.back() &= (uint64_t{1} << (allowed.size() % 64)) - 1;
  const bool end_ok = bytes_.can_end();
  for (int32_t id : end_ids)
    if (id >= 0 && static_cast<size_t>(id) < allowed.size()) allowed.set(static_cast<size_t>(id), end_ok);
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
