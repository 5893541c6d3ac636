#pragma once
// The vocabulary as a byte trie. Tokens are sorted by their bytes, so every trie node's subtree is
// one contiguous range of `sorted_ids`: a whole subtree is allowed or pruned at once.
#include <cstdint>
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
};

struct TokenTrie {
  int32_t vocab_size = 0;
  std::vector<std::string> bytes;    // per token id; empty for special and empty tokens
  std::vector<int32_t> sorted_ids;   // non-special tokens with bytes, sorted by bytes
  std::vector<TrieNode> nodes;       // nodes[0] is the root (the empty prefix)
  size_t max_token_bytes = 0;
};

}  // namespace gemma4
