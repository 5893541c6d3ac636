#pragma once
// The vocabulary as a byte trie. Tokens are sorted by their bytes, so every trie node's subtree is
// one contiguous range of `sorted_ids`: a whole subtree is allowed or pruned at once.
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gemma4/grammar.h"

namespace gemma4 {

struct TrieNode {
  uint32_t first_child = 0, child_count = 0;
  uint32_t begin = 0, end = 0;       // tokens through this node: sorted_ids[begin, end)
  uint32_t term_end = 0;             // tokens ending here: sorted_ids[begin, term_end)
  uint8_t byte = 0;
  // Every token below consists, after this node, of plain string bytes only (printable ASCII but
  // '"' and '\\', or whole UTF-8 characters): inside an unbounded string all of them are allowed.
  bool plain_below = false;
  uint32_t plain_chars_below = 0;  // with plain_below: the most characters a token adds after this node
  // The ASCII bytes that occur below (after this node), and whether every token below is, after
  // this node, whole UTF-8 characters (so a repetition of a class holding all of them and every
  // non-ASCII character accepts each token below at once).
  uint64_t ascii_below[2] = {0, 0};
  bool whole_chars_below = false;
  bool non_ascii_below = false;
  // For a large subtree: its tokens sorted_ids[begin, end) as a word set at dense_words[dense ...
  // dense + mask_words), so allowing it is a few thousand ORs, not a scattered write per token.
  int64_t dense = -1;
  // Every token through this node, read inside a string from its first byte, is plain characters
  // only or is refused before any closing quote (a control byte, bad UTF-8) whatever the bounds.
  bool settled_in_string = false;
};

// Subtrees of at least this many tokens keep a word set: few nodes are that large (21 of E2B's
// 600,505), and below it scattering the bits costs about what ORing the 4,096 words does.
constexpr uint32_t kDenseSubtreeTokens = 4096;

// What a JSON string accepts from inside, below a trie node: its bounds and the frame (phase,
// characters so far, pending bytes). Nothing else of a grammar enters, so walks are shared by all
// grammars.
struct StringInteriorKey {
  uint32_t node = 0;  // the trie node the walk starts at
  int64_t min = 0, max = -1;
  int32_t phase = 0, count = 0, aux = 0;
  auto operator<=>(const StringInteriorKey&) const = default;
};

// The tokens a string takes from such a frame without leaving it (or that end exactly at its
// closing quote), and the trie nodes right after a closing quote that have tokens going on past
// it: those depend on what follows the string, and are walked per state.
struct StringInterior {
  struct Exit {
    uint32_t node = 0, depth = 0;
  };
  TokenMask within;
  std::vector<Exit> exits;
};

struct TokenTrie {
  int32_t vocab_size = 0;
  std::vector<std::string> bytes;    // per token id; empty for special and empty tokens
  std::vector<int32_t> sorted_ids;   // non-special tokens with bytes, sorted by bytes
  std::vector<TrieNode> nodes;       // nodes[0] is the root (the empty prefix)
  size_t max_token_bytes = 0;
  size_t mask_words = 0;             // words of a TokenMask over vocab_size tokens
  std::vector<uint64_t> dense_words;  // the word sets of large subtrees (TrieNode::dense)
  // Word sets of the tokens that are plain characters only, at most k of them, at k * mask_words
  // for k <= plain_chars_max (the longest such token): a string's interior takes them at once, and
  // its walk visits only the tokens with quotes, escapes or partial characters.
  std::vector<uint64_t> plain_up_to;
  size_t plain_chars_max = 0;

  // String interiors walked so far (any grammar, any request, any thread); cleared when full.
  static constexpr size_t kMaxStringInteriors = 256;
  mutable std::mutex interiors_mutex;
  mutable std::map<StringInteriorKey, std::shared_ptr<const StringInterior>> interiors;
};

}  // namespace gemma4
