#pragma once
// A seeded random walk through a grammar's token masks, as decoding with random logits would
// take it: at each step the mask is computed (timed), one allowed token is drawn (single-byte
// tokens half the time, so structures close and walks end) and fed. Used by the corpus test
// (every drawn token was in its mask; finished walks parse and validate) and by the corpus
// benchmark (mask times at the states real schemas reach).
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"

namespace gemma4::testing {

struct SchemaWalk {
  std::vector<int32_t> tokens;
  std::vector<double> mask_us;  // per step
  bool finished = false;        // a stop token was allowed and taken
  bool rejected = false;        // accept_token refused a token its mask allowed (a bug)
  bool stuck = false;           // no token allowed and the grammar cannot end (a bug)
};

// The vocabulary as a walk needs it, built once.
struct WalkVocab {
  explicit WalkVocab(const Tokenizer& tokenizer) : trie(build_token_trie(tokenizer)), single_byte(tokenizer.vocab_size()) {
    for (int32_t id = 0; id < tokenizer.vocab_size(); ++id)
      single_byte[id] = tokenizer.decode(std::vector<int32_t>{id}).size() == 1;
  }
  std::shared_ptr<const TokenTrie> trie;
  std::vector<uint8_t> single_byte;
};

inline SchemaWalk walk_schema(const std::shared_ptr<const Grammar>& grammar, const WalkVocab& vocab, uint64_t seed,
                              int max_steps) {
  const std::vector<int32_t> ends = {1, 106};
  TokenMask allowed(vocab.single_byte.size());
  std::vector<int32_t> choices, short_choices;
  std::mt19937_64 rng(seed);
  TokenMatcher m(grammar, vocab.trie);
  SchemaWalk w;
  for (int step = 0; step < max_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    m.fill_mask(allowed, ends);
    w.mask_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (allowed[ends[0]] || allowed[ends[1]]) {
      w.finished = true;  // end as soon as the value is complete: walks stay short
      return w;
    }
    choices.clear();
    short_choices.clear();
    for (size_t id = 0; id < allowed.size(); ++id)
      if (allowed[id]) {
        choices.push_back(static_cast<int32_t>(id));
        if (vocab.single_byte[id]) short_choices.push_back(static_cast<int32_t>(id));
      }
    if (choices.empty()) {
      w.stuck = true;
      return w;
    }
    const auto& pool = !short_choices.empty() && rng() % 2 ? short_choices : choices;
    const int32_t id = pool[rng() % pool.size()];
    if (!m.accept_token(id)) {
      w.rejected = true;
      return w;
    }
    w.tokens.push_back(id);
  }
  return w;
}

}  // namespace gemma4::testing
