#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/tokenizer_fixture.h"
#include "tokenizer/utf8.h"

namespace gemma4 {
namespace {

using testing::corpus;
using testing::ids_of;
using testing::official_tokenizer;
using Ids = std::vector<int32_t>;

constexpr int32_t kFirstByteToken = 238;

Ids byte_tokens(std::string_view bytes) {
  Ids ids;
  for (const char c : bytes) ids.push_back(kFirstByteToken + static_cast<unsigned char>(c));
  return ids;
}

std::string stream(const Ids& ids, bool skip_special = false) {
  IncrementalDecoder decoder(official_tokenizer(), skip_special);
  std::string text;
  for (const int32_t id : ids) {
    const std::string delta = decoder.push(id);
    EXPECT_TRUE(utf8::is_valid(delta)) << "broken UTF-8 emitted after id " << id;
    text += delta;
  }
  text += decoder.flush();
  return text;
}

TEST(IncrementalDecoder, MatchesBatchDecodeOnEveryCorpusLine) {
  for (const auto& line : corpus()) {
    const Ids ids = ids_of(line["ids"]);
    EXPECT_EQ(stream(ids), official_tokenizer().decode(ids));
    EXPECT_EQ(stream(ids, true), official_tokenizer().decode(ids, true));
  }
}

TEST(IncrementalDecoder, HoldsMultiByteCharactersUntilComplete) {
  // "😀" (4 bytes), "é" (2), "東" (3) as byte-fallback tokens, in every position of a stream.
  for (const std::string character : {"\xF0\x9F\x98\x80", "\xC3\xA9", "\xE6\x9D\xB1"}) {
    IncrementalDecoder decoder(official_tokenizer());
    EXPECT_EQ(decoder.push(9259), "Hello");
    const Ids ids = byte_tokens(character);
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      EXPECT_EQ(decoder.push(ids[i]), "") << "byte " << i;
      EXPECT_EQ(decoder.pending_bytes(), i + 1);
    }
    EXPECT_EQ(decoder.push(ids.back()), character);
    EXPECT_EQ(decoder.pending_bytes(), 0u);
    EXPECT_EQ(decoder.flush(), "");
  }
}

TEST(IncrementalDecoder, EveryChunkingOfMixedBytesAndPieces) {
  Ids ids = {9259};
  for (const int32_t id : byte_tokens("\xC3\xA9\xF0\x9F\x98\x80")) ids.push_back(id);
  ids.push_back(26352);  // " Hello"
  for (const int32_t id : byte_tokens("\xE6\x9D\xB1")) ids.push_back(id);
  const std::string expected = official_tokenizer().decode(ids);
  ASSERT_EQ(expected, "Hello\xC3\xA9\xF0\x9F\x98\x80 Hello\xE6\x9D\xB1");
  // Flush at every possible point: everything before it must come out as whole characters.
  for (size_t cut = 0; cut <= ids.size(); ++cut) {
    IncrementalDecoder decoder(official_tokenizer());
    std::string out;
    for (size_t i = 0; i < cut; ++i) out += decoder.push(ids[i]);
    EXPECT_TRUE(utf8::is_valid(out));
    EXPECT_TRUE(expected.starts_with(out)) << "cut " << cut;
    // Stopping mid-character: flush() turns the held bytes into U+FFFD, never broken UTF-8.
    EXPECT_TRUE(utf8::is_valid(out + decoder.flush())) << "cut " << cut;
  }
}

TEST(IncrementalDecoder, InvalidBytesBecomeReplacementCharacters) {
  IncrementalDecoder decoder(official_tokenizer());
  EXPECT_EQ(decoder.push(kFirstByteToken + 0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.push(kFirstByteToken + 0xE2), "");
  EXPECT_EQ(decoder.push(kFirstByteToken + 0x41), "\xEF\xBF\xBD" "A");  // lead byte without continuation
  EXPECT_EQ(decoder.push(kFirstByteToken + 0xF0), "");
  EXPECT_EQ(decoder.push(kFirstByteToken + 0x9F), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated at the end
  EXPECT_EQ(decoder.push(kFirstByteToken + 0xE2), "");
  EXPECT_EQ(decoder.push(9259), "\xEF\xBF\xBDHello");  // a piece ends the byte run
}

TEST(IncrementalDecoder, SpecialTokensShownOrHidden) {
  const Ids ids = {2, 105, 4368, 107, 100, 45518, 107, 101, 9259, 106};
  EXPECT_EQ(stream(ids), "<bos><|turn>model\n<|channel>thought\n<channel|>Hello<turn|>");
  EXPECT_EQ(stream(ids, true), "model\nthought\nHello");
}

TEST(IncrementalDecoder, RejectsOutOfRangeIds) {
  IncrementalDecoder decoder(official_tokenizer());
  EXPECT_THROW(decoder.push(-5), Error);
  EXPECT_THROW(decoder.push(1 << 30), Error);
}

}  // namespace
}  // namespace gemma4
