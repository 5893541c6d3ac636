// `pattern`, `format`, numeric bounds, oneOf and allOf: accepted and rejected instances, and
// exhaustive cross-checks against independent oracles (std::regex for patterns, integer
// comparisons for ranges, the validator's format checks).
#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "gemma4/grammar.h"
#include "grammar/schema_validator.h"

namespace gemma4 {
namespace {

using nlohmann::json;

bool matches(const json& schema, const std::string& text) {
  ByteMatcher m(compile_json_schema(schema));
  return m.accept(text) && m.can_end();
}

json pattern(const std::string& p) { return {{"type", "string"}, {"pattern", p}}; }
json format(const std::string& f) { return {{"type", "string"}, {"format", f}}; }
std::string quoted(const std::string& s) { return json(s).dump(); }

TEST(GrammarPattern, LiteralsClassesQuantifiers) {
  EXPECT_TRUE(matches(pattern("^ab+c?$"), R"("abbb")"));
  EXPECT_TRUE(matches(pattern("ab+c?"), R"("abc")"));
  EXPECT_FALSE(matches(pattern("ab+c?"), R"("ac")"));
  EXPECT_FALSE(matches(pattern("ab+c?"), R"("abcc")"));
  EXPECT_TRUE(matches(pattern("[a-c]{2,3}-\\d{2}"), R"("cab-42")"));
  EXPECT_FALSE(matches(pattern("[a-c]{2,3}-\\d{2}"), R"("c-42")"));
  EXPECT_FALSE(matches(pattern("[a-c]{2,3}-\\d{2}"), R"("abca-42")"));
  EXPECT_TRUE(matches(pattern("(cat|dog)s?"), R"("dogs")"));
  EXPECT_FALSE(matches(pattern("(cat|dog)s?"), R"("cow")"));
  EXPECT_TRUE(matches(pattern("[^0-9]+"), "\"x\xc3\xa9!\""));  // a negated class takes any other character
  EXPECT_FALSE(matches(pattern("[^0-9]+"), R"("x1")"));
  EXPECT_TRUE(matches(pattern("a.c"), R"("a-c")"));
  EXPECT_FALSE(matches(pattern("a.c"), R"("a\nc")"));  // '.' is not a line terminator
  EXPECT_TRUE(matches(pattern("x{3}"), R"("xxx")"));
  EXPECT_FALSE(matches(pattern("x{3}"), R"("xx")"));
  EXPECT_TRUE(matches(pattern("\\w+@\\w+"), R"("a_1@b")"));
  EXPECT_TRUE(matches(pattern("é+"), "\"\xc3\xa9\xc3\xa9\""));
}

// Characters JSON must escape are generated as escapes: the decoded string matches the pattern.
TEST(GrammarPattern, JsonEscapesInsideThePattern) {
  EXPECT_TRUE(matches(pattern("a\"b"), R"("a\"b")"));
  EXPECT_FALSE(matches(pattern("a\"b"), R"("a"b")"));
  EXPECT_TRUE(matches(pattern("\\\\d"), R"("\\d")"));  // a literal backslash, then 'd'
  EXPECT_TRUE(matches(pattern("a\\nb"), R"("a\nb")"));
  EXPECT_TRUE(matches(pattern("[a-c]"), R"("\u0062")"));
  EXPECT_FALSE(matches(pattern("[a-c]"), R"("\u0064")"));
  EXPECT_TRUE(matches(pattern(".+"), R"("\t")"));
}

TEST(GrammarPattern, UnsupportedSyntaxIsAnErrorNamingIt) {
  for (const char* p : {"(a)\\1", "a(?=b)", "\\bword", "a**", "(ab", "ab)", "[z-a]", "a{3,1}", "\\p{L}", "a^b", "[]"}) {
    try {
      compile_json_schema(pattern(p));
      ADD_FAILURE() << "accepted " << p;
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find("pattern"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("schema at #"), std::string::npos) << e.what();
    }
  }
}

// Every string up to length 5 over a small alphabet: the matcher accepts it exactly when
// std::regex (ECMAScript) matches it whole, and never accepts a prefix with no completion.
TEST(GrammarPattern, AgreesWithStdRegexOnAllShortStrings) {
  const std::vector<std::string> patterns = {"a*b?", "(ab|a)*c", "[ab]{1,3}c?", "(a|b*)+", "a?b?a?", "(?:a{2})*b",
                                             "[^a]a+", "(a|ab)(c|bcd)?", "x*", "(a*)*b"};
  const std::string alphabet = "abcx";
  for (const std::string& p : patterns) {
    const std::regex oracle(p, std::regex::ECMAScript);
    const auto grammar = compile_json_schema(pattern(p));
    std::vector<std::string> strings = {""};
    for (size_t len = 1; len <= 5; ++len)
      for (size_t k = strings.size(); k-- > 0;)
        if (strings[k].size() == len - 1)
          for (char c : alphabet) strings.push_back(strings[k] + c);
    for (const std::string& s : strings) {
      ByteMatcher m(grammar);
      const bool whole = m.accept("\"" + s + "\"") && m.can_end();
      EXPECT_EQ(whole, std::regex_match(s, oracle)) << p << " on \"" << s << "\"";
    }
  }
}

TEST(GrammarFormat, AcceptedAndRejected) {
  EXPECT_TRUE(matches(format("date"), R"("2024-02-28")"));
  EXPECT_FALSE(matches(format("date"), R"("2024-02-30")"));
  EXPECT_FALSE(matches(format("date"), R"("2024-13-01")"));
  EXPECT_TRUE(matches(format("time"), R"("23:59:59.123+05:30")"));
  EXPECT_FALSE(matches(format("time"), R"("24:00:00Z")"));
  EXPECT_TRUE(matches(format("date-time"), R"("1999-12-31T08:00:00Z")"));
  EXPECT_FALSE(matches(format("date-time"), R"("1999-12-31 08:00:00Z")"));
  EXPECT_TRUE(matches(format("duration"), R"("P1Y2M3DT4H5M6S")"));
  EXPECT_TRUE(matches(format("duration"), R"("PT36H")"));
  EXPECT_TRUE(matches(format("duration"), R"("P3W")"));
  EXPECT_FALSE(matches(format("duration"), R"("P")"));
  EXPECT_FALSE(matches(format("duration"), R"("PT")"));
  EXPECT_TRUE(matches(format("email"), R"("jo.smith+x@mail.example.com")"));
  EXPECT_FALSE(matches(format("email"), R"("jo@-bad.com")"));
  EXPECT_FALSE(matches(format("email"), R"("@example.com")"));
  EXPECT_TRUE(matches(format("hostname"), R"("api-1.example.org")"));
  EXPECT_FALSE(matches(format("hostname"), R"("a..b")"));
  EXPECT_TRUE(matches(format("ipv4"), R"("192.168.0.255")"));
  EXPECT_FALSE(matches(format("ipv4"), R"("256.1.1.1")"));
  EXPECT_FALSE(matches(format("ipv4"), R"("01.1.1.1")"));
  EXPECT_TRUE(matches(format("ipv6"), R"("2001:db8::1")"));
  EXPECT_TRUE(matches(format("ipv6"), R"("::")"));
  EXPECT_TRUE(matches(format("ipv6"), R"("1:2:3:4:5:6:7:8")"));
  EXPECT_FALSE(matches(format("ipv6"), R"("1:2:3:4:5:6:7:8:9")"));
  EXPECT_FALSE(matches(format("ipv6"), R"("1::2::3")"));
  EXPECT_TRUE(matches(format("uuid"), R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(matches(format("uuid"), R"("123e4567e89b12d3a456426614174000")"));
  EXPECT_TRUE(matches(format("uri"), R"("https://example.com/a/b?x=1&y=%20#top")"));
  EXPECT_TRUE(matches(format("uri"), R"("urn-x://h")"));
  EXPECT_FALSE(matches(format("uri"), R"("/relative/path")"));
  EXPECT_FALSE(matches(format("uri"), R"("http://exa mple.com")"));
  EXPECT_FALSE(matches(format("uri"), R"("http://x/%zz")"));
  EXPECT_TRUE(matches(format("uri-reference"), R"("/docs/a:b?q#f")"));
  EXPECT_TRUE(matches(format("uri-reference"), R"("http://x.org")"));
  EXPECT_FALSE(matches(format("uri-reference"), R"("a b")"));
  try {
    compile_json_schema(format("json-pointer"));
    ADD_FAILURE() << "an unknown format was accepted";
  } catch (const GrammarError& e) {
    EXPECT_NE(std::string(e.what()).find("json-pointer"), std::string::npos) << e.what();
  }
}

// Random byte-level walks through each format's grammar: every completed string passes the
// validator's independent checks (inet_pton for addresses, a calendar for dates).
TEST(GrammarFormat, RandomCompletionsValidate) {
  for (const char* f : {"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uuid", "uri",
                        "uri-reference"}) {
    const json schema = format(f);
    const auto grammar = compile_json_schema(schema);
    std::mt19937 rng(11);
    int done = 0;
    for (int walk = 0; walk < 300; ++walk) {
      ByteMatcher m(grammar);
      std::string text;
      for (int step = 0; step < 300; ++step) {
        if (m.can_end() && (rng() % 4 == 0 || m.must_end())) break;
        std::vector<char> next;
        for (int b = 0x20; b < 0x7f; ++b)
          if (b != '\\' && ByteMatcher(m).accept(std::string(1, static_cast<char>(b)))) next.push_back(static_cast<char>(b));
        ASSERT_FALSE(next.empty()) << f << ": dead end after " << text;
        const char c = next[rng() % next.size()];
        ASSERT_TRUE(m.accept(std::string(1, c)));
        text += c;
      }
      if (!m.can_end()) continue;
      ++done;
      const json v = json::parse(text);
      EXPECT_TRUE(testing::validates(v, schema, schema)) << f << ": " << text;
    }
    EXPECT_GT(done, 100) << f;
  }
}

int64_t parse_int(const std::string& s) { return std::stoll(s); }

// Every integer in [-1500, 1500] (and some far ones) against the bounds themselves.
TEST(GrammarNumericBounds, IntegersExactlyInRange) {
  const std::vector<json> schemas = {
      {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}},
      {{"type", "integer"}, {"minimum", -37}, {"maximum", 1234}},
      {{"type", "integer"}, {"exclusiveMinimum", -10}, {"exclusiveMaximum", -2}},
      {{"type", "integer"}, {"minimum", 7}},
      {{"type", "integer"}, {"maximum", -999}},
      {{"type", "integer"}, {"minimum", 1.5}, {"maximum", 9.5}},
      {{"type", "integer"}, {"minimum", 5}, {"exclusiveMinimum", true}, {"maximum", 5000}}};
  for (const json& s : schemas) {
    const auto grammar = compile_json_schema(s);
    std::vector<int64_t> values;
    for (int64_t i = -1500; i <= 1500; ++i) values.push_back(i);
    for (int64_t far : {999999999999999LL, -999999999999999LL, 123456789LL, -123456789LL}) values.push_back(far);
    for (int64_t i : values) {
      ByteMatcher m(grammar);
      const bool accepted = m.accept(std::to_string(i)) && m.can_end();
      EXPECT_EQ(accepted, testing::validates(json(i), s, s)) << s.dump() << " " << i;
    }
    ByteMatcher zero(grammar);
    EXPECT_FALSE(zero.accept("-0") && zero.can_end()) << s.dump();
    EXPECT_FALSE(ByteMatcher(grammar).accept("007"));
  }
}

TEST(GrammarNumericBounds, NumbersInRange) {
  const json closed = {{"type", "number"}, {"minimum", -2}, {"maximum", 3}};
  for (const char* ok : {"-2", "-1.5", "0", "0.25", "2.999", "3"}) EXPECT_TRUE(matches(closed, ok)) << ok;
  for (const char* bad : {"-2.5", "3.5", "3.0", "4", "-3", "1e2", "-0"}) EXPECT_FALSE(matches(closed, bad)) << bad;
  const json open = {{"type", "number"}, {"exclusiveMinimum", 0}, {"exclusiveMaximum", 1}};
  for (const char* ok : {"0.5", "0.001", "0.999"}) EXPECT_TRUE(matches(open, ok)) << ok;
  for (const char* bad : {"0", "0.0", "1", "-0.5", "0.50"}) EXPECT_FALSE(matches(open, bad)) << bad;
  EXPECT_TRUE(matches({{"type", "number"}, {"minimum", 10}}, "12345.5"));
  EXPECT_FALSE(matches({{"type", "number"}, {"minimum", 10}}, "9.99"));
  // Random decimal strings: accepted exactly when they are in range (as the validator reads them).
  std::mt19937 rng(3);
  const auto grammar = compile_json_schema(closed);
  for (int k = 0; k < 3000; ++k) {
    std::string s = rng() % 2 ? "-" : "";
    s += std::to_string(rng() % 5);
    if (rng() % 2) s += "." + std::to_string(rng() % 1000);
    if (s.find('.') != std::string::npos && s.back() == '0') continue;  // trailing zeros are never generated
    if (s == "-0") continue;
    ByteMatcher m(grammar);
    const bool accepted = m.accept(s) && m.can_end();
    EXPECT_EQ(accepted, testing::validates(json::parse(s), closed, closed)) << s;
  }
  EXPECT_THROW(compile_json_schema(json{{"type", "number"}, {"minimum", 0.5}}), GrammarError);
  EXPECT_THROW(compile_json_schema(json{{"type", "integer"}, {"minimum", 5}, {"maximum", 4}}), GrammarError);
}

TEST(GrammarCombinators, OneOfIsAnyOf) {
  const json s = json::parse(R"({"oneOf":[{"type":"integer"},{"type":"string","format":"date"}]})");
  EXPECT_TRUE(matches(s, "12"));
  EXPECT_TRUE(matches(s, R"("2020-01-01")"));
  EXPECT_FALSE(matches(s, R"("x")"));
}

TEST(GrammarCombinators, AllOfOfObjectsIsMerged) {
  const json s = json::parse(R"({"$defs":{"named":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}},
    "allOf":[{"$ref":"#/$defs/named"},{"type":"object","properties":{"age":{"type":"integer","minimum":0}},"required":["age"]}]})");
  EXPECT_TRUE(matches(s, R"({"age":3,"name":"x"})"));
  EXPECT_FALSE(matches(s, R"({"name":"x"})"));
  EXPECT_FALSE(matches(s, R"({"age":-3,"name":"x"})"));
  EXPECT_TRUE(matches(json::parse(R"({"allOf":[{"type":"string"},{"maxLength":2}]})"), R"("ab")"));
  EXPECT_FALSE(matches(json::parse(R"({"allOf":[{"type":"string"},{"maxLength":2}]})"), R"("abc")"));
  for (const char* bad : {R"({"allOf":[{"type":"string"},{"type":"integer"}]})",
                          R"({"allOf":[{"properties":{"a":{"type":"string"}}},{"properties":{"a":{"type":"integer"}}}]})",
                          R"({"allOf":[{"properties":{"a":{}},"additionalProperties":false},{"properties":{"b":{}}}]})"}) {
    try {
      compile_json_schema(json::parse(bad));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find("'allOf'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace gemma4
