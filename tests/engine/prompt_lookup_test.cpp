// Prompt-lookup drafts (src/engine/prompt_lookup.h): which earlier occurrence is copied, how many
// tokens, that drafts chain single lookups, and the edge cases (nothing matches, short inputs, a
// pattern whose last occurrence is one period back).
#include <gtest/gtest.h>

#include <random>

#include "engine/prompt_lookup.h"

namespace gemma4 {
namespace {

using Tokens = std::vector<int32_t>;

TEST(PromptLookup, CopiesWhatFollowedTheMostRecentEarlierOccurrence) {
  // "7 8 9" occurs twice before the end; the later one is followed by 40 41.
  const Tokens t = {7, 8, 9, 10, 11, 12, 5, 7, 8, 9, 40, 41, 3, 7, 8, 9};
  EXPECT_EQ(propose_drafts(t, 2), (Tokens{40, 41}));
  EXPECT_EQ(propose_drafts(t, 3), (Tokens{40, 41, 3}));
}

TEST(PromptLookup, PrefersTheLongestMatchingSuffix) {
  // The last token 9 last occurred after 1 (followed by 50), but "8 9" only after 8 (followed by 60).
  const Tokens t = {8, 9, 60, 61, 1, 9, 50, 51, 8, 9};
  EXPECT_EQ(propose_drafts(t, 2), (Tokens{60, 61}));
  // With only 1-grams allowed the most recent 9 wins.
  EXPECT_EQ(propose_drafts(t, 2, {.max_ngram = 1, .min_ngram = 1}), (Tokens{50, 51}));
  // Demanding 3-grams finds nothing ("9 8 9" never occurred before).
  EXPECT_TRUE(propose_drafts(t, 2, {.max_ngram = 3, .min_ngram = 3}).empty());
}

TEST(PromptLookup, ACopyThatReachesTheEndRepeatsThePeriod) {
  // The most recent earlier "1 2 3" starts one period back: the drafts continue the pattern
  // instead of stopping after the tokens that exist.
  const Tokens t = {1, 2, 3, 1, 2, 3};
  EXPECT_EQ(propose_drafts(t, 5), (Tokens{1, 2, 3, 1, 2}));
  const Tokens run = {4, 4, 4};
  EXPECT_EQ(propose_drafts(run, 4), (Tokens{4, 4, 4, 4}));
}

TEST(PromptLookup, NothingToProposeWithoutARepeat) {
  EXPECT_TRUE(propose_drafts(Tokens{1, 2, 3, 4, 5}, 4).empty());
  EXPECT_TRUE(propose_drafts(Tokens{}, 4).empty());
  EXPECT_TRUE(propose_drafts(Tokens{1}, 4).empty());
  EXPECT_TRUE(propose_drafts(Tokens{1, 2, 1, 2}, 0).empty());
  EXPECT_TRUE(propose_drafts(Tokens{1, 2, 1, 2}, -3).empty());
}

TEST(PromptLookup, NeverMoreThanAsked) {
  Tokens t;
  for (int i = 0; i < 100; ++i) t.push_back(i % 7);
  for (int64_t n = 1; n <= 16; ++n) {
    const Tokens d = propose_drafts(t, n);
    ASSERT_EQ(static_cast<int64_t>(d.size()), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(d[i], (100 + i) % 7) << "draft " << i;  // the pattern goes on
  }
}

// Each draft is next_draft of everything before it, so a step that checks fewer drafts and a later
// step that proposes afresh agree on every position.
TEST(PromptLookup, DraftsChainNextDraft) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    Tokens t(static_cast<size_t>(2 + rng() % 40));
    for (auto& token : t) token = static_cast<int32_t>(rng() % 5);
    const Tokens drafts = propose_drafts(t, 8);
    Tokens extended = t;
    for (int32_t d : drafts) {
      ASSERT_EQ(next_draft(extended), d);
      extended.push_back(d);
    }
    if (drafts.size() < 8u) EXPECT_FALSE(next_draft(extended).has_value());
    for (int64_t n = 0; n <= 8; ++n) {
      const Tokens fewer = propose_drafts(t, n);
      EXPECT_EQ(fewer, Tokens(drafts.begin(), drafts.begin() + std::min<int64_t>(n, drafts.size())));
    }
  }
  EXPECT_EQ(next_draft(Tokens{3, 4, 5, 3}), 4);
  EXPECT_FALSE(next_draft(Tokens{3, 4, 5}).has_value());
  EXPECT_FALSE(next_draft(Tokens{}).has_value());
}

TEST(PromptLookup, TwoTokensMinimum) {
  EXPECT_EQ(propose_drafts(Tokens{5, 5}, 3), (Tokens{5, 5, 5}));
  EXPECT_TRUE(propose_drafts(Tokens{5, 6}, 3).empty());
}

}  // namespace
}  // namespace gemma4
