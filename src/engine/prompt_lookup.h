#pragma once
// Draft tokens for speculative decoding by prompt lookup (n-gram matching, after "Prompt Lookup
// Decoding" and vLLM's n-gram proposer): text that repeats earlier text (code edits, quoting the
// prompt, summaries, lists) is guessed by copying what followed the last time the recent tokens
// appeared. No draft model: the guesses cost a scan of the request's own tokens, and the target
// model checks them all in one forward pass.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gemma4 {

struct PromptLookupOptions {
  int max_ngram = 3;  // longest suffix looked up first (a longer match predicts better)
  int min_ngram = 1;  // shortest suffix still trusted
};

// The token likely to follow `tokens` (prompt + generated so far): for k from max_ngram down to
// min_ngram, the token after the most recent earlier occurrence of the last k tokens. None when
// nothing matches.
std::optional<int32_t> next_draft(std::span<const int32_t> tokens, const PromptLookupOptions& options = {});

// Up to `max_drafts` tokens: next_draft of `tokens`, then next_draft of `tokens` + that draft, and
// so on (fewer when a lookup finds nothing). Chained this way, the draft for a position depends
// only on the tokens before it, never on how many drafts one step checks: the engine's sampled
// answers then depend on the seed and the tokens alone, whatever the batch and step budget.
// A repeating pattern is proposed in full even when its last occurrence is one period back.
std::vector<int32_t> propose_drafts(std::span<const int32_t> tokens, int64_t max_drafts,
                                    const PromptLookupOptions& options = {});

}  // namespace gemma4
