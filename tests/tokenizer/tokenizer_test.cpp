#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/tokenizer_fixture.h"

namespace gemma4 {
namespace {

using testing::corpus;
using testing::ids_of;
using testing::official_tokenizer;
using Ids = std::vector<int32_t>;

TEST(TokenizerCorpus, HasAllLines) { ASSERT_GE(corpus().size(), 300u); }

TEST(TokenizerCorpus, IdsWithSpecialParsingMatchEveryLine) {
  for (const auto& line : corpus()) {
    const std::string text = line["text"];
    EXPECT_EQ(official_tokenizer().encode(text, true), ids_of(line["ids"])) << "text: " << text;
  }
}

TEST(TokenizerCorpus, IdsWithoutSpecialParsingMatchEveryLine) {
  for (const auto& line : corpus()) {
    const std::string text = line["text"];
    EXPECT_EQ(official_tokenizer().encode(text, false), ids_of(line["ids_no_special"])) << "text: " << text;
  }
}

TEST(TokenizerCorpus, DecodeMatchesReferenceAndRoundTrips) {
  for (const auto& line : corpus()) {
    const std::string text = line["text"];
    const std::string decoded = line["decoded"];
    EXPECT_EQ(official_tokenizer().decode(ids_of(line["ids"])), decoded) << "text: " << text;
    EXPECT_EQ(official_tokenizer().decode(ids_of(line["ids_no_special"])), decoded) << "text: " << text;
    // Only a literal "▁" fails to round-trip: it decodes as a space.
    std::string expected;
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
        expected += ' ';
        i += 3;
      } else {
        expected += text[i++];
      }
    }
    EXPECT_EQ(official_tokenizer().decode(official_tokenizer().encode(text)), expected);
  }
}

TEST(Tokenizer, DocumentedConsequences) {
  const Tokenizer& tok = official_tokenizer();
  EXPECT_EQ(tok.encode("Hello"), Ids({9259}));
  EXPECT_EQ(tok.encode(" Hello"), Ids({26352}));
  EXPECT_EQ(tok.encode("  "), Ids({138}));
  EXPECT_EQ(tok.encode(std::string(31, ' ')), Ids({167}));
  EXPECT_EQ(tok.encode(std::string(64, ' ')), Ids({167, 167, 138}));
  EXPECT_EQ(tok.encode(std::string(40, '\n')), Ids({137, 115}));
  EXPECT_EQ(tok.encode("\t\t\t"), Ids({255970}));
  EXPECT_EQ(tok.encode("<table>"), Ids({236820, 5127, 236813}));
  EXPECT_EQ(tok.encode("<unused56>"), Ids({236820, 63634, 236810, 236825, 236813}));
  EXPECT_EQ(tok.encode("\r"), Ids({251}));
  EXPECT_EQ(tok.encode("\xC2\xA0"), Ids({432, 398}));  // NBSP has no piece: byte fallback
  EXPECT_EQ(tok.encode("What time is it?"), Ids({3689, 990, 563, 625, 236881}));
}

TEST(Tokenizer, NeverAddsBosAndSplitsOnSpecialTokens) {
  const Tokenizer& tok = official_tokenizer();
  EXPECT_TRUE(tok.encode("").empty());
  EXPECT_EQ(tok.encode("<bos>"), Ids({2}));
  EXPECT_EQ(tok.encode("<|turn>user\nHi<turn|>"), Ids({105, 2364, 107, 10979, 106}));
  // Segments never cross a special token.
  Ids expected = tok.encode("a b");
  expected.push_back(100);
  const Ids tail = tok.encode(" c d");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(tok.encode("a b<|channel> c d"), expected);
}

TEST(Tokenizer, SpecialParsingOffTreatsMarkersAsText) {
  const Tokenizer& tok = official_tokenizer();
  const Ids ids = tok.encode("<|turn>", false);
  EXPECT_GT(ids.size(), 1u);
  for (const int32_t id : ids) EXPECT_FALSE(tok.is_special(id));
  EXPECT_EQ(tok.decode(ids), "<|turn>");
}

TEST(Tokenizer, LongSegmentsEncodeAndRoundTrip) {
  const Tokenizer& tok = official_tokenizer();
  const std::string xs(2000, 'x');
  const Ids ids = tok.encode(xs);
  EXPECT_LT(ids.size(), xs.size());
  EXPECT_EQ(tok.decode(ids), xs);
  std::string mixed;
  for (int i = 0; i < 200; ++i) mixed += "Zażółć gęślą jaźń, où est l'hôtel? 東京は雨です。 ";
  EXPECT_EQ(tok.decode(tok.encode(mixed)), mixed);
}

TEST(Tokenizer, InvalidUtf8InputFallsBackToBytes) {
  const Tokenizer& tok = official_tokenizer();
  EXPECT_EQ(tok.encode("\xFF\xFE"), Ids({238 + 0xFF, 238 + 0xFE}));
  EXPECT_EQ(tok.encode("\xE2\x96"), Ids({238 + 0xE2, 238 + 0x96}));  // truncated character
}

// User text is made valid before it is encoded: each maximal invalid subsequence becomes one
// U+FFFD (Python's errors="replace" / Rust's from_utf8_lossy), and the first bad offset is reported.
TEST(SanitizeUtf8, ReplacesMaximalSubpartsAndReportsTheFirstOffset) {
  const std::string fffd = "\xEF\xBF\xBD";
  std::string valid = "plain \xC3\xA9\xF0\x9F\x98\x80";
  EXPECT_EQ(sanitize_utf8(valid), std::nullopt);
  EXPECT_EQ(valid, "plain \xC3\xA9\xF0\x9F\x98\x80");

  std::string lone = "h\xFFi";
  EXPECT_EQ(sanitize_utf8(lone), std::optional<size_t>(1));
  EXPECT_EQ(lone, "h" + fffd + "i");

  std::string truncated = "ab\xE2\x82";  // the start of a 3-byte character: one replacement
  EXPECT_EQ(sanitize_utf8(truncated), std::optional<size_t>(2));
  EXPECT_EQ(truncated, "ab" + fffd);

  std::string cut = "\xE2\x82x\xF0\x9F\x98!";  // two cut characters around valid bytes
  EXPECT_EQ(sanitize_utf8(cut), std::optional<size_t>(0));
  EXPECT_EQ(cut, fffd + "x" + fffd + "!");

  std::string overlong = "\xC0\x80\xED\xA0\x80";  // overlong NUL and a surrogate: byte by byte
  EXPECT_EQ(sanitize_utf8(overlong), std::optional<size_t>(0));
  EXPECT_EQ(overlong, fffd + fffd + fffd + fffd + fffd);

  std::string prompt = "Hi \xFF there";
  sanitize_utf8(prompt);
  const Tokenizer& tok = official_tokenizer();
  EXPECT_EQ(tok.decode(tok.encode(prompt)), "Hi " + fffd + " there");
}

TEST(Tokenizer, LoadingAModelFileInsteadOfTheFolderSaysSo) {
  try {
    Tokenizer::load(std::string(GEMMA4_TEST_DATA) + "/tiny-a/model.safetensors");
    FAIL() << "expected gemma4::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors is a file; --model takes the model folder"),
              std::string::npos) << e.what();
  }
}

TEST(Tokenizer, DecodeHandlesBytesSpecialsAndInvalidRuns) {
  const Tokenizer& tok = official_tokenizer();
  EXPECT_EQ(tok.decode(Ids({238 + 0xFF, 238 + 0x41})), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok.decode(Ids({238 + 0xC2, 238 + 0xA0, 9259})), "\xC2\xA0Hello");
  EXPECT_EQ(tok.decode(Ids({2, 105, 2364, 107})), "<bos><|turn>user\n");
  EXPECT_EQ(tok.decode(Ids({2, 105, 2364, 107}), true), "user\n");
  EXPECT_EQ(tok.decode(Ids({26352})), " Hello");
  // Skipped specials do not break a byte run.
  EXPECT_EQ(tok.decode(Ids({238 + 0xC2, 106, 238 + 0xA0}), true), "\xC2\xA0");
  EXPECT_THROW(tok.decode(Ids({-1})), Error);
  EXPECT_THROW(tok.decode(Ids({tok.vocab_size()})), Error);
}

TEST(Tokenizer, VocabularyAccessors) {
  const Tokenizer& tok = official_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 262144);
  EXPECT_EQ(tok.piece(236743), "\xE2\x96\x81");
  EXPECT_EQ(tok.piece(238), "<0x00>");
  EXPECT_EQ(tok.piece(105), "<|turn>");
  EXPECT_EQ(tok.token_id("<turn|>"), 106);
  EXPECT_EQ(tok.token_id("thought"), 45518);
  EXPECT_FALSE(tok.token_id("no such piece \x01").has_value());
  EXPECT_TRUE(tok.is_special(105));
  EXPECT_TRUE(tok.is_special(258884));
  EXPECT_FALSE(tok.is_special(5));  // [multimodal] is an ordinary piece
  EXPECT_FALSE(tok.is_special(-3));
  EXPECT_EQ(tok.byte_value(238 + 0x41), uint8_t{0x41});
  EXPECT_FALSE(tok.byte_value(9259).has_value());
  EXPECT_THROW(tok.piece(-1), Error);
  EXPECT_THROW(tok.piece(262144), Error);
}

TEST(Tokenizer, CopiesShareState) {
  const Tokenizer copy = official_tokenizer();
  Tokenizer moved = copy;
  const Tokenizer target = std::move(moved);
  EXPECT_EQ(target.encode("Hello"), Ids({9259}));
}

TEST(Tokenizer, TinyModelTokenizerLoadsFromModelFolder) {
  const Tokenizer tok = Tokenizer::load(std::string(GEMMA4_TEST_DATA) + "/tiny-a");
  EXPECT_EQ(tok.vocab_size(), 512);
  EXPECT_EQ(tok.encode("<|turn>"), Ids({105}));
  EXPECT_EQ(tok.encode(" Hello"), Ids({498}));
  EXPECT_EQ(tok.piece(238), "<0x00>");
  EXPECT_EQ(tok.decode(tok.encode("Zażółć 東京 hello\n")), "Zażółć 東京 hello\n");
}

// A minimal tokenizer.json used to exercise the loader's validation.
std::string small_json(const std::string& model_type, const std::string& merges) {
  return R"({"added_tokens":[{"id":0,"content":"<s>","special":true}],)"
         R"("normalizer":{"type":"Replace","pattern":{"String":" "},"content":"\u2581"},)"
         R"("pre_tokenizer":null,"model":{"type":")" +
         model_type + R"(","unk_token":null,"byte_fallback":false,"vocab":{"<s>":0,"a":1,"b":2,"ab":3,"\u2581":4},"merges":)" +
         merges + "}}";
}

TEST(TokenizerLoad, SmallSyntheticTokenizer) {
  const Tokenizer tok = Tokenizer::from_json_text(small_json("BPE", R"([["a","b"]])"));
  EXPECT_EQ(tok.encode("ab ab<s>"), Ids({3, 4, 3, 0}));
  EXPECT_EQ(tok.decode(Ids({3, 4, 3, 0})), "ab ab<s>");
  // Legacy "left right" merge strings.
  EXPECT_EQ(Tokenizer::from_json_text(small_json("BPE", R"(["a b"])")).encode("ab"), Ids({3}));
  // Without unk or byte fallback an unknown character is dropped (as the Rust library does), and
  // its neighbours then merge.
  EXPECT_EQ(tok.encode("azb"), Ids({3}));
}

TEST(TokenizerLoad, RejectsBadFiles) {
  EXPECT_THROW(Tokenizer::load("/nonexistent/dir"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(small_json("Unigram", "[]")), Error);
  EXPECT_THROW(Tokenizer::from_json_text(small_json("BPE", R"([["a","c"]])")), Error);
  EXPECT_THROW(Tokenizer::from_json_text(small_json("BPE", R"([["a"]])")), Error);
  EXPECT_THROW(Tokenizer::from_json_text(small_json("BPE", R"(["ab"])")), Error);
  const std::string valid = small_json("BPE", R"([["a","b"]])");
  for (size_t cut = 0; cut < valid.size(); cut += 7) {
    EXPECT_THROW(Tokenizer::from_json_text(valid.substr(0, cut)), Error) << "cut at " << cut;
  }
  EXPECT_THROW(Tokenizer::from_json_text("[]"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(R"({"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}})"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(R"({"model":{"type":"BPE","vocab":{"a":0,"b":2},"merges":[]}})"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(R"({"model":{"type":"BPE","vocab":{"\ud800":0},"merges":[]}})"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(R"({"model":{"type":"BPE","vocab":{"a":2000000000},"merges":[]}})"), Error);
  EXPECT_THROW(Tokenizer::from_json_text(
                   R"({"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
               Error);
}

// Numeric fields of tokenizer.json become ids only inside the id range, each error at its byte.
TEST(TokenizerLoad, NumericFieldsAreRangeChecked) {
  const auto message = [](const std::string& json) {
    try {
      Tokenizer::from_json_text(json);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  };
  const std::string huge = message(R"({"model":{"type":"BPE","vocab":{"a":99999999999999999999},"merges":[]}})");
  EXPECT_NE(huge.find("integer out of range"), std::string::npos) << huge;
  const std::string fraction = message(R"({"model":{"type":"BPE","vocab":{"a":1e300},"merges":[]}})");
  EXPECT_NE(fraction.find("expected an integer, found a fraction"), std::string::npos) << fraction;
  const std::string negative = message(R"({"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}})");
  EXPECT_NE(negative.find("vocab id out of range"), std::string::npos) << negative;
  const std::string added = message(R"({"added_tokens":[{"id":4294967296,"content":"x"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})");
  EXPECT_NE(added.find("added token id out of range"), std::string::npos) << added;
}

}  // namespace
}  // namespace gemma4
