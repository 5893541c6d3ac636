// StopStringMatcher gives the same output however the text is split into deltas, never emits any
// part of a stop string, and holds back only what could still become one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gemma4/sampling.h"

namespace gemma4 {
namespace {

struct Outcome {
  std::string text;
  bool stopped = false;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Outcome& o) {
  return out << '"' << o.text << '"' << (o.stopped ? " (stopped)" : "");
}

// What a whole-text search says: text before the stop that ends first (then starts first).
Outcome reference(const std::vector<std::string>& stops, const std::string& text) {
  for (size_t end = 1; end <= text.size(); ++end) {
    for (size_t start = 0; start < end; ++start) {
      for (const std::string& stop : stops) {
        if (!stop.empty() && text.compare(start, end - start, stop) == 0 &&
            stop.size() == end - start) {
          return {text.substr(0, start), true};
        }
      }
    }
  }
  return {text, false};
}

// Feeds `text` cut at the positions whose bit is set in `cuts`, checking on the way that what is
// emitted is always a prefix of the final answer.
Outcome feed(const std::vector<std::string>& stops, const std::string& text, uint32_t cuts,
             const Outcome& expected) {
  StopStringMatcher matcher(stops);
  Outcome got;
  size_t start = 0;
  for (size_t pos = 1; pos <= text.size(); ++pos) {
    if (pos != text.size() && !(cuts & (1u << (pos - 1)))) continue;
    const auto result = matcher.push(std::string_view(text).substr(start, pos - start));
    start = pos;
    got.text += result.emit;
    EXPECT_EQ(expected.text.compare(0, got.text.size(), got.text), 0)
        << "emitted text that is not part of the answer: " << got.text;
    if (result.stopped) {
      got.stopped = true;
      break;
    }
  }
  if (!got.stopped) got.text += matcher.flush();
  return got;
}

void check_every_split(const std::vector<std::string>& stops, const std::string& text,
                       const Outcome& expected) {
  ASSERT_EQ(reference(stops, text), expected) << "reference disagrees for " << text;
  ASSERT_LE(text.size(), 12u);  // every split: 2^(n-1) feeds
  const uint32_t splits = text.empty() ? 1u : 1u << (text.size() - 1);
  for (uint32_t cuts = 0; cuts < splits; ++cuts) {
    ASSERT_EQ(feed(stops, text, cuts, expected), expected) << "text " << text << " cuts " << cuts;
  }
}

TEST(StopStrings, OverlappingPrefixIsNotLost) {
  check_every_split({"abc"}, "ababc", {"ab", true});
  check_every_split({"aab"}, "xaaab", {"xa", true});
  check_every_split({"abab"}, "abababx", {"", true});
}

TEST(StopStrings, NoStopMeansEverythingComesOutAfterFlush) {
  check_every_split({"abc"}, "ababab", {"ababab", false});
  check_every_split({"</s>"}, "a < b </ c", {"a < b </ c", false});
  check_every_split({}, "anything", {"anything", false});
  check_every_split({""}, "no stops", {"no stops", false});
}

TEST(StopStrings, StopInTheMiddleDropsEverythingAfter) {
  check_every_split({"<end>"}, "hi<end>more", {"hi", true});
  check_every_split({"\n\n"}, "line\n\nnext", {"line", true});
  check_every_split({"x"}, "x", {"", true});
}

TEST(StopStrings, StopThatCompletesFirstWins) {
  check_every_split({"abcd", "bc"}, "zabcd", {"za", true});
  check_every_split({"bcd", "abcd"}, "zabcdq", {"z", true});  // same end: the earlier start
  check_every_split({"END", "ND!"}, "theEND!", {"the", true});
}

TEST(StopStrings, MultiByteUtf8StopSplitInsideCharacters) {
  check_every_split({"\xe2\x80\x94stop"}, "a\xe2\x80\x94stop!", {"a", true});
}

TEST(StopStrings, HoldsBackOnlyPossibleStopPrefixes) {
  StopStringMatcher matcher({"<end_of_turn>"});
  auto result = matcher.push("Hello <");
  EXPECT_EQ(result.emit, "Hello ");
  EXPECT_FALSE(result.stopped);
  result = matcher.push("end");
  EXPECT_EQ(result.emit, "");
  result = matcher.push("less");
  EXPECT_EQ(result.emit, "<endless");
  result = matcher.push(" story<end_of_turn>ignored");
  EXPECT_EQ(result.emit, " story");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(matcher.matched_stop(), "<end_of_turn>");
  result = matcher.push("more");
  EXPECT_EQ(result.emit, "");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(matcher.flush(), "");
}

TEST(StopStrings, FlushReleasesHeldTextOnce) {
  StopStringMatcher matcher({"STOP"});
  EXPECT_EQ(matcher.push("abc ST").emit, "abc ");
  EXPECT_EQ(matcher.flush(), "ST");
  EXPECT_EQ(matcher.flush(), "");
  EXPECT_FALSE(matcher.stopped());
}

}  // namespace
}  // namespace gemma4
