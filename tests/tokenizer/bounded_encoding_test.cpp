// Tokenizer::encode_at_most: byte-exact with encode() when the text fits the budget, an early
// stop with a true lower bound when it does not.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gemma4/tokenizer.h"
#include "tokenizer/tokenizer_fixture.h"

namespace gemma4 {
namespace {

using testing::corpus;
using testing::official_tokenizer;

// The budget cases around a text's true count n: n and more fit exactly; n - 1 and 0 stop with
// a bound that is above the budget and never above n.
void expect_bounded_matches_full(const Tokenizer& tok, const std::string& text, bool parse_special) {
  const std::vector<int32_t> full = tok.encode(text, parse_special);
  const size_t n = full.size();
  for (const size_t budget : {n, n + 1, n * 2 + 7}) {
    const BoundedEncoding fit = tok.encode_at_most(text, budget, parse_special);
    EXPECT_FALSE(fit.exceeded) << "budget " << budget << " text: " << text;
    EXPECT_EQ(fit.ids, full) << "budget " << budget << " text: " << text;
    EXPECT_EQ(fit.at_least, n);
  }
  if (n == 0) return;
  for (const size_t budget : {n - 1, n / 2, size_t{0}}) {
    const BoundedEncoding over = tok.encode_at_most(text, budget, parse_special);
    EXPECT_TRUE(over.exceeded) << "budget " << budget << " text: " << text;
    EXPECT_TRUE(over.ids.empty());
    EXPECT_GT(over.at_least, budget) << "text: " << text;
    EXPECT_LE(over.at_least, n) << "the bound must never exceed the true count; text: " << text;
  }
}

TEST(BoundedEncoding, MatchesFullEncodingOnTheCorpus) {
  for (const auto& line : corpus()) {
    const std::string text = line["text"];
    expect_bounded_matches_full(official_tokenizer(), text, true);
    expect_bounded_matches_full(official_tokenizer(), text, false);
  }
}

TEST(BoundedEncoding, MatchesFullEncodingOnLongMixedText) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "<|turn>user\nLine " + std::to_string(i) + ": héllo   wörld\t東京 " + std::string(i % 40, ' ') +
            std::string(i % 7, 'x') + "<turn|>\n";
  }
  expect_bounded_matches_full(official_tokenizer(), text, true);
  expect_bounded_matches_full(official_tokenizer(), text, false);
  const Tokenizer tiny = Tokenizer::load(std::string(GEMMA4_TEST_DATA) + "/tiny-a");
  expect_bounded_matches_full(tiny, text, true);
}

TEST(BoundedEncoding, OneHugeWordIsRefusedFromItsLengthAlone) {
  // No added token splits it: the whole text is one BPE word.
  const std::string text(2u << 20, 'x');
  const size_t full = official_tokenizer().encode(text).size();
  const BoundedEncoding over = official_tokenizer().encode_at_most(text, 4096);
  EXPECT_TRUE(over.exceeded);
  EXPECT_GT(over.at_least, 4096u);
  EXPECT_LE(over.at_least, full);
  // The answer is the byte-length bound (each token holds at most 20 bytes around an "x"), not
  // the exact count: no BPE ran.
  EXPECT_LT(over.at_least, full);
  EXPECT_GE(over.at_least, text.size() / 20);
}

TEST(BoundedEncoding, TheLengthBoundCountsSpacesAsTheNormalizerWritesThem) {
  // The bound of a text with spaces is taken without building its normalized copy (" " -> "▁"):
  // it must equal the bound of the text already written with "▁", which no replacement touches.
  std::string spaced, normalized;
  for (int i = 0; i < 50000; ++i) {
    const std::string word = std::string(1 + i % 5, static_cast<char>('a' + i % 26));
    spaced += word + (i % 3 ? " " : "   ");
    normalized += word + (i % 3 ? "\u2581" : "\u2581\u2581\u2581");
  }
  const BoundedEncoding a = official_tokenizer().encode_at_most(spaced, 0);
  const BoundedEncoding b = official_tokenizer().encode_at_most(normalized, 0);
  ASSERT_TRUE(a.exceeded);
  ASSERT_TRUE(b.exceeded);
  EXPECT_EQ(a.at_least, b.at_least);
  EXPECT_GT(a.at_least, spaced.size() / 64);
}

TEST(BoundedEncoding, StopsAtTheSegmentThatPassesTheBudget) {
  // Each "<bos>" is one added token, so the text is many short segments. The length bound of
  // "ab" is below its count, so the byte scan alone cannot refuse it; encoding must stop early.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "ab<bos>";
  const size_t full = official_tokenizer().encode(text).size();
  const BoundedEncoding over = official_tokenizer().encode_at_most(text, full / 2);
  ASSERT_TRUE(over.exceeded);
  EXPECT_GT(over.at_least, full / 2);
  EXPECT_LT(over.at_least, full) << "stopped before the end, so the bound counts the rest by length";
  // parse_special off: "<bos>" is ordinary text and the whole is one word.
  expect_bounded_matches_full(official_tokenizer(), text.substr(0, 7000), false);
}

TEST(BoundedEncoding, WithoutByteFallbackNoLengthBoundIsClaimed) {
  // <unk> fuses a run of unknown characters into one token, so length says nothing.
  const Tokenizer tok = Tokenizer::from_json_text(
      R"({"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"model":{"type":"BPE","unk_token":"<unk>",)"
      R"("byte_fallback":false,"fuse_unk":true,"vocab":{"<unk>":0,"a":1},"merges":[]}})");
  const std::string text(1000, 'z');
  ASSERT_EQ(tok.encode(text), std::vector<int32_t>({0}));
  const BoundedEncoding fit = tok.encode_at_most(text, 1);
  EXPECT_FALSE(fit.exceeded);
  EXPECT_EQ(fit.ids, std::vector<int32_t>({0}));
}

}  // namespace
}  // namespace gemma4
