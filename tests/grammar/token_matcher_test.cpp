// Token masks: on tiny-a's vocabulary the mask equals a brute-force check of every token, and on
// the real 262,144-token vocabulary random walks through the masks always end in JSON that parses
// and validates against the schema.
#include <gtest/gtest.h>

#include <random>

#include "gemma4/grammar.h"
#include "grammar/schema_validator.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::json;

const json& sample_schema() {
  static const json s = json::parse(R"({"type":"object","properties":{
    "name":{"type":"string","maxLength":12},"age":{"type":"integer"},"score":{"type":"number"},
    "tags":{"type":"array","items":{"enum":["a","b","c d"]},"maxItems":3},
    "ok":{"type":"boolean"},"kind":{"anyOf":[{"type":"null"},{"const":"x"}]}},
    "required":["name","age","tags"],"additionalProperties":false})");
  return s;
}

const json& pattern_schema() {
  static const json s = json::parse(R"({"type":"object","properties":{
    "id":{"type":"string","pattern":"[A-Z]{2}-\\d{3,5}"},"when":{"type":"string","format":"date-time"},
    "ip":{"type":"string","format":"ipv6"},"n":{"type":"integer","minimum":-40,"maximum":1200},
    "x":{"type":"number","exclusiveMinimum":0,"maximum":10},"w":{"type":"string","pattern":"(\\w+ ?){1,3}"},
    "q":{"oneOf":[{"type":"string","pattern":"[\"\\\\é]+"},{"type":"null"}]}},
    "required":["id","when","n","x","q"],"additionalProperties":false})");
  return s;
}

// The bytes the trie gives a token: special tokens as special_token_bytes, byte fallback as its byte.
std::string token_bytes(const Tokenizer& tok, int32_t id) {
  if (tok.is_special(id)) return special_token_bytes(tok.piece(id));
  std::string bytes;
  if (auto b = tok.byte_value(id)) bytes.assign(1, static_cast<char>(*b));
  else tok.append_piece_text(id, bytes);
  return bytes;
}

// `prefix`: bytes the grammar starts after (a forced tool call); the walk stops when a lazy
// grammar's part is complete.
void mask_equals_brute_force(const std::shared_ptr<const Grammar>& grammar, const std::string& prefix = "") {
  const Tokenizer tok = Tokenizer::load(testing::tiny_a_dir());
  const auto trie = build_token_trie(tok);
  TokenMatcher m(grammar, trie);
  ByteMatcher reference(grammar);
  ASSERT_TRUE(reference.accept(prefix));
  const std::vector<int32_t> ends = {1};
  std::mt19937 rng(7);
  TokenMask allowed(static_cast<size_t>(tok.vocab_size()));
  for (int step = 0; step < 200 && m.active(); ++step) {
    m.fill_mask(allowed, ends);
    std::vector<int32_t> ids;
    for (int32_t id = 0; id < tok.vocab_size(); ++id) {
      bool expect = false;
      const std::string bytes = token_bytes(tok, id);
      if (id == 1) expect = reference.can_end();
      else if (tok.byte_value(id) && (static_cast<uint8_t>(bytes[0]) >= 0xF5 || (bytes[0] & 0xFE) == 0xC0)) expect = false;
      else expect = !bytes.empty() && ByteMatcher(reference).accept(bytes);
      ASSERT_EQ(allowed[static_cast<size_t>(id)], expect) << "token " << id << " step " << step;
      if (expect && id != 1) ids.push_back(id);
    }
    if (ids.empty()) break;
    // Prefer multi-character tokens half the time, so that whole subtrees are exercised.
    const int32_t pick = ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
    ASSERT_TRUE(m.accept_token(pick));
    ASSERT_TRUE(reference.accept(token_bytes(tok, pick)));
  }
}

TEST(GrammarTokenMatcher, MaskEqualsBruteForceOnTinyVocabulary) {
  mask_equals_brute_force(compile_json_schema(sample_schema()));
  mask_equals_brute_force(compile_json_schema(pattern_schema()));
  // Unbounded class repetitions take the whole-subtree shortcut: raw (GBNF), inside JSON strings,
  // and tool-call strings.
  mask_equals_brute_force(compile_gbnf("root ::= [^<0-9]* \"<\" [a-z\\x80-\\U0010FFFF]+ \"!\""));
  mask_equals_brute_force(compile_json_schema(json{{"type", "string"}, {"pattern", "[^0-9]+"}}));
  const json tools = json::parse(R"([{"type":"function","function":{"name":"f","strict":true,"parameters":{
      "type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"]}}}])");
  mask_equals_brute_force(compile_tool_calls(tools, "call:"), "call:");
}

TEST(GrammarTokenMatcher, SpecialTokensAreNeverMatchedAsText) {
  const Tokenizer tok = Tokenizer::load(testing::tiny_a_dir());
  TokenMatcher m(compile_json_schema(json{{"type", "string"}}), build_token_trie(tok));
  ASSERT_TRUE(m.accept_token(tok.encode("\"")[0]));
  const int32_t turn = *tok.token_id("<|turn>");
  EXPECT_FALSE(m.accept_token(turn));
  TokenMask allowed(static_cast<size_t>(tok.vocab_size()));
  m.fill_mask(allowed, std::vector<int32_t>{1});
  EXPECT_FALSE(allowed[static_cast<size_t>(turn)]);
  EXPECT_FALSE(allowed[1]);  // end only when the value is complete
}

size_t trie_bytes_length(const Tokenizer& tok, int32_t id) {
  if (tok.byte_value(id)) return 1;
  std::string b;
  tok.append_piece_text(id, b);
  return b.size();
}

// Uniform random walks over the allowed tokens (end allowed when possible, taken with chance 1/2)
// on the real vocabulary: every finished text parses and validates.
void random_walks(const json& schema, int walks) {
  static const Tokenizer tok = Tokenizer::load(testing::data_dir() / "tokenizer");
  static const auto trie = build_token_trie(tok);
  const auto grammar = compile_json_schema(schema);
  TokenMask allowed(static_cast<size_t>(tok.vocab_size()));
  const std::vector<int32_t> ends = {1, 106};
  int finished = 0;
  for (int w = 0; w < walks; ++w) {
    std::mt19937 rng(static_cast<uint32_t>(w));
    TokenMatcher m(grammar, trie);
    std::vector<int32_t> out;
    for (int step = 0; step < 400; ++step) {
      m.fill_mask(allowed, ends);
      if (allowed[1] && (rng() % 2 == 0 || m.must_end())) {
        ++finished;
        const std::string text = tok.decode(out);
        json v;
        ASSERT_NO_THROW(v = json::parse(text)) << text;
        EXPECT_TRUE(testing::validates(v, schema, schema)) << text;
        break;
      }
      std::vector<int32_t> ids;
      for (size_t id = 0; id < allowed.size(); ++id)
        if (allowed[id] && id != 1 && id != 106) ids.push_back(static_cast<int32_t>(id));
      ASSERT_FALSE(ids.empty()) << "no token allowed after " << tok.decode(out);
      // Half the time prefer short tokens (punctuation), so values close and walks finish.
      int32_t pick = ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
      if (rng() % 2 == 0) {
        std::vector<int32_t> short_ids;
        for (int32_t id : ids)
          if (trie_bytes_length(tok, id) == 1) short_ids.push_back(id);
        if (!short_ids.empty()) pick = short_ids[std::uniform_int_distribution<size_t>(0, short_ids.size() - 1)(rng)];
      }
      ASSERT_TRUE(m.accept_token(pick));
      out.push_back(pick);
    }
  }
  EXPECT_GT(finished, walks / 4);
}

// Inside strings on the real vocabulary the mask comes from shared interior walks (large subtrees,
// the plain-token tables, exits past the closing quote), which tiny-a's 512 tokens never reach:
// there it must equal a check of all 262,144 tokens, for unbounded, bounded and minimum-length
// strings, from a value's start and between characters, and after an escape.
TEST(GrammarTokenMatcher, MaskInsideStringsEqualsByteMatcherOnRealVocabulary) {
  static const Tokenizer tok = Tokenizer::load(testing::data_dir() / "tokenizer");
  const auto trie = build_token_trie(tok);
  const auto grammar = compile_json_schema(json::parse(R"({"type":"object","properties":{
      "s":{"type":"string"},"b":{"type":"string","minLength":2,"maxLength":9},
      "e":{"type":"array","items":{"type":"string","maxLength":3}}},
      "required":["s","b","e"],"additionalProperties":false})"));
  const std::vector<int32_t> ends = {1, 106};
  TokenMask allowed(static_cast<size_t>(tok.vocab_size()));
  // Properties come in the schema object's key order (nlohmann::json sorts keys: b, e, s).
  for (const char* prefix : {R"({"b":)", R"({"b":")", R"({"b":"abcdefg)", R"({"b":"ab","e":["a",")",
                             R"({"b":"ab","e":[],"s":"ab)", R"({"b":"ab","e":[],"s":"a\)"}) {
    TokenMatcher m(grammar, trie);
    ByteMatcher reference(grammar);
    for (int32_t id : tok.encode(prefix, false)) {
      ASSERT_TRUE(m.accept_token(id)) << prefix << " token " << id << " " << json(token_bytes(tok, id)).dump();
      ASSERT_TRUE(reference.accept(token_bytes(tok, id))) << prefix;
    }
    m.fill_mask(allowed, ends);
    size_t count = 0;
    for (int32_t id = 0; id < tok.vocab_size(); ++id) {
      if (id == 1 || id == 106) continue;
      const std::string bytes = token_bytes(tok, id);
      const bool expect = !bytes.empty() && !(tok.byte_value(id) && (static_cast<uint8_t>(bytes[0]) >= 0xF5 ||
                                                                      (bytes[0] & 0xFE) == 0xC0)) &&
                          ByteMatcher(reference).accept(bytes);
      ASSERT_EQ(allowed[static_cast<size_t>(id)], expect) << "after " << prefix << ": token " << id << " " << json(bytes).dump();
      count += expect;
    }
    EXPECT_GT(count, 0u) << prefix;
  }
}

TEST(GrammarTokenMatcher, RandomWalksOnRealVocabularyValidate) {
  random_walks(sample_schema(), 12);
  random_walks(json::parse(R"({"$defs":{"t":{"type":"object","properties":{"v":{"type":"integer"},
      "k":{"type":"array","items":{"$ref":"#/$defs/t"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/t"})"), 8);
  random_walks(pattern_schema(), 12);
  random_walks(json::parse(R"({"type":"array","items":{"type":"string","minLength":1,"maxLength":4},"minItems":2,"maxItems":3})"), 8);
}

}  // namespace
}  // namespace gemma4
