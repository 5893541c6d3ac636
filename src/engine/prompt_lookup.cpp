// Prompt-lookup drafts; see prompt_lookup.h.
#include "engine/prompt_lookup.h"

#include <algorithm>

namespace gemma4 {

namespace {

// Start of the most recent occurrence of the last k tokens that ends before the end (i.e. is not
// the suffix itself), or -1.
int64_t latest_earlier_match(std::span<const int32_t> tokens, int64_t k) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const auto suffix = tokens.subspan(static_cast<size_t>(n - k));
  for (int64_t start = n - k - 1; start >= 0; --start)
    if (std::equal(suffix.begin(), suffix.end(), tokens.begin() + start)) return start;
  return -1;
}

}  // namespace

std::optional<int32_t> next_draft(std::span<const int32_t> tokens, const PromptLookupOptions& options) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (int64_t k = std::min<int64_t>(options.max_ngram, n - 1); k >= std::max(1, options.min_ngram); --k) {
    const int64_t start = latest_earlier_match(tokens, k);
    if (start >= 0) return tokens[static_cast<size_t>(start + k)];  // start + k < n: the match ends early
  }
  return std::nullopt;
}

std::vector<int32_t> propose_drafts(std::span<const int32_t> tokens, int64_t max_drafts,
                                    const PromptLookupOptions& options) {
  std::vector<int32_t> drafts;
  if (max_drafts <= 0) return drafts;
  std::vector<int32_t> extended(tokens.begin(), tokens.end());
  while (static_cast<int64_t>(drafts.size()) < max_drafts) {
    const std::optional<int32_t> draft = next_draft(extended, options);
    if (!draft) break;
    drafts.push_back(*draft);
    extended.push_back(*draft);
  }
  return drafts;
}

}  // namespace gemma4
