// Schema by schema: valid instances are accepted (and complete), invalid ones rejected, in the
// style of the JSON-Schema-Test-Suite; unsupported keywords are errors naming them.
#include <gtest/gtest.h>

#include <chrono>

#include "gemma4/grammar.h"

namespace gemma4 {
namespace {

using nlohmann::json;

// Accepted as a whole and complete.
bool matches(const json& schema, const std::string& text) {
  ByteMatcher m(compile_json_schema(schema));
  return m.accept(text) && m.can_end();
}

TEST(GrammarSchema, Primitives) {
  const json s = {{"type", "string"}};
  EXPECT_TRUE(matches(s, R"("hello")"));
  EXPECT_TRUE(matches(s, R"("a\"b\\c\u00e9\n")"));
  EXPECT_TRUE(matches(s, "\"caf\xc3\xa9\""));
  EXPECT_FALSE(matches(s, "\"\xc3\""));        // broken UTF-8
  EXPECT_FALSE(matches(s, "\"\xed\xa0\x80\""));  // encoded surrogate
  EXPECT_FALSE(matches(s, R"("\ud800")"));      // lone surrogate escape
  EXPECT_FALSE(matches(s, "\"a\nb\""));         // raw control character
  EXPECT_FALSE(matches(s, R"("abc)"));
  EXPECT_FALSE(matches(s, "12"));
  EXPECT_TRUE(matches({{"type", "integer"}}, "-120"));
  EXPECT_TRUE(matches({{"type", "integer"}}, "0"));
  EXPECT_FALSE(matches({{"type", "integer"}}, "01"));
  EXPECT_FALSE(matches({{"type", "integer"}}, "1.5"));
  EXPECT_FALSE(matches({{"type", "integer"}}, "1234567890123456"));  // more than 15 digits
  EXPECT_TRUE(matches({{"type", "number"}}, "-0.5e+10"));
  EXPECT_TRUE(matches({{"type", "number"}}, "3.25"));
  EXPECT_FALSE(matches({{"type", "number"}}, "1."));
  EXPECT_FALSE(matches({{"type", "number"}}, "-"));
  EXPECT_FALSE(matches({{"type", "number"}}, ".5"));
  EXPECT_TRUE(matches({{"type", "boolean"}}, "false"));
  EXPECT_FALSE(matches({{"type", "boolean"}}, "fals"));
  EXPECT_TRUE(matches({{"type", "null"}}, "null"));
  EXPECT_TRUE(matches({{"type", json::array({"string", "null"})}}, "null"));
  EXPECT_TRUE(matches({{"type", json::array({"string", "null"})}}, R"("x")"));
}

TEST(GrammarSchema, StringLengths) {
  const json s = {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}};
  EXPECT_FALSE(matches(s, R"("a")"));
  EXPECT_TRUE(matches(s, R"("ab")"));
  EXPECT_TRUE(matches(s, "\"\xc3\xa9\xc3\xa9\xc3\xa9\""));  // three characters, six bytes
  EXPECT_TRUE(matches(s, R"("a\n")"));                     // an escape is one character
  EXPECT_FALSE(matches(s, R"("abcd")"));
}

TEST(GrammarSchema, EnumConstAnyOf) {
  const json e = {{"enum", json::array({"red", "green", 3, nullptr})}};
  EXPECT_TRUE(matches(e, R"("green")"));
  EXPECT_TRUE(matches(e, "3"));
  EXPECT_TRUE(matches(e, "null"));
  EXPECT_FALSE(matches(e, R"("blue")"));
  EXPECT_FALSE(matches(e, "30"));
  EXPECT_TRUE(matches({{"const", {{"a", 1}}}}, R"({"a":1})"));
  const json any = {{"anyOf", json::array({{{"type", "integer"}}, {{"type", "string"}, {"maxLength", 1}}})}};
  EXPECT_TRUE(matches(any, "42"));
  EXPECT_TRUE(matches(any, R"("x")"));
  EXPECT_FALSE(matches(any, R"("xy")"));
}

// nlohmann::json keeps object keys sorted, so "schema order" is the keys' sorted order.
TEST(GrammarSchema, ObjectsInKeyOrder) {
  const json s = json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
    "nick":{"type":"string"}},"required":["name","age"],"additionalProperties":false})");
  EXPECT_TRUE(matches(s, R"({"age":3,"name":"Al"})"));
  EXPECT_TRUE(matches(s, R"({"age":3,"name":"Al","nick":"a"})"));
  EXPECT_FALSE(matches(s, R"({"name":"Al","age":3})"));  // out of order
  EXPECT_FALSE(matches(s, R"({"name":"Al"})"));          // required age missing
  EXPECT_FALSE(matches(s, R"({"age":3,"name":"Al","x":1})"));
  EXPECT_FALSE(matches(s, R"({"age":3,"name":"Al",})"));
  const json optional = json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}})");
  EXPECT_TRUE(matches(optional, "{}"));
  EXPECT_TRUE(matches(optional, R"({"b":1})"));
  EXPECT_TRUE(matches(optional, R"({"a":1,"b":2})"));
  EXPECT_FALSE(matches(optional, R"({"b":1,"a":2})"));
  const json map = json::parse(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(matches(map, R"({"x":1,"y":2})"));
  EXPECT_FALSE(matches(map, R"({"x":"1"})"));
}

// A required name 'properties' does not list is still required, with the additionalProperties
// schema as its value (any value without one), after the listed properties.
TEST(GrammarSchema, RequiredNamesOutsidePropertiesAreRequired) {
  const json s = json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b","c"]})");
  EXPECT_TRUE(matches(s, R"({"a":1,"b":"x","c":[1,{}]})"));
  EXPECT_TRUE(matches(s, R"({"a":1,"b":null,"c":2})"));
  EXPECT_FALSE(matches(s, R"({"a":1,"b":"x"})"));
  EXPECT_FALSE(matches(s, R"({"b":"x","c":1})"));
  const json typed = json::parse(R"({"type":"object","required":["n"],"additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(matches(typed, R"({"n":2})"));
  EXPECT_FALSE(matches(typed, R"({"n":"2"})"));
  EXPECT_FALSE(matches(typed, "{}"));
  const json bare = json::parse(R"({"type":"object","required":["k"]})");
  EXPECT_TRUE(matches(bare, R"({"k":true})"));
  EXPECT_FALSE(matches(bare, "{}"));
  try {
    compile_json_schema(json::parse(R"({"type":"object","properties":{"a":{}},"required":["z"],"additionalProperties":false})"));
    ADD_FAILURE() << "accepted a required name that no object can have";
  } catch (const GrammarError& e) {
    EXPECT_NE(std::string(e.what()).find("\"z\""), std::string::npos) << e.what();
  }
}

TEST(GrammarSchema, Arrays) {
  const json s = {{"type", "array"}, {"items", {{"type", "integer"}}}, {"minItems", 1}, {"maxItems", 2}};
  EXPECT_FALSE(matches(s, "[]"));
  EXPECT_TRUE(matches(s, "[1]"));
  EXPECT_TRUE(matches(s, "[1,2]"));
  EXPECT_FALSE(matches(s, "[1,2,3]"));
  EXPECT_FALSE(matches(s, "[1,]"));
  EXPECT_FALSE(matches(s, "[\"a\"]"));
  EXPECT_TRUE(matches({{"type", "array"}}, R"([1,"a",{"b":[null]}])"));
}

TEST(GrammarSchema, RecursiveRefs) {
  const json s = json::parse(R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
    "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v","kids"]}},"$ref":"#/$defs/node"})");
  EXPECT_TRUE(matches(s, R"({"kids":[{"kids":[],"v":2},{"kids":[{"kids":[],"v":4}],"v":3}],"v":1})"));
  EXPECT_FALSE(matches(s, R"({"kids":[{"v":2}],"v":1})"));
}

TEST(GrammarSchema, AnyJsonObjectHasNoWhitespaceAndBoundedNesting) {
  ByteMatcher m(compile_any_json_object());
  EXPECT_TRUE(ByteMatcher(m).accept(R"({"a":[1,2.5,"x",true,null,{"b":{}}]})"));
  EXPECT_FALSE(ByteMatcher(m).accept("[1]"));  // an object at the top
  EXPECT_FALSE(ByteMatcher(m).accept("{ "));   // whitespace is never generated
  std::string deep = "{\"a\":";
  for (int i = 0; i < 100; ++i) deep += "[";
  EXPECT_FALSE(ByteMatcher(m).accept(deep));
  ByteMatcher done(compile_any_json_object());
  ASSERT_TRUE(done.accept("{}"));
  EXPECT_TRUE(done.must_end());
}

TEST(GrammarSchema, MultipleOfPowersOfTenBelowOneLimitTheFractionDigits) {
  const json cents = json::parse(R"({"type":"number","multipleOf":0.01})");
  for (const char* ok : {"0", "12", "-3", "0.5", "19.99", "-0.01", "100.1"}) EXPECT_TRUE(matches(cents, ok)) << ok;
  for (const char* bad : {"0.001", "19.999", "1e2", "1.", "-"}) EXPECT_FALSE(matches(cents, bad)) << bad;
  const json price = json::parse(R"({"type":"number","multipleOf":0.1,"minimum":0,"exclusiveMaximum":10})");
  for (const char* ok : {"0", "0.1", "9.9", "5"}) EXPECT_TRUE(matches(price, ok)) << ok;
  for (const char* bad : {"10", "10.0", "-0.1", "9.95", "0.05"}) EXPECT_FALSE(matches(price, bad)) << bad;
  const json whole = json::parse(R"({"type":"number","multipleOf":1,"exclusiveMinimum":2})");
  EXPECT_TRUE(matches(whole, "3"));
  EXPECT_FALSE(matches(whole, "2"));
  EXPECT_FALSE(matches(whole, "2.5"));
  // Every integer is a multiple of 0.5 ... 10^-d: the bounds alone apply.
  const json any_int = json::parse(R"({"type":"integer","multipleOf":0.001,"maximum":5})");
  EXPECT_TRUE(matches(any_int, "-7"));
  EXPECT_FALSE(matches(any_int, "6"));
}

TEST(GrammarSchema, MultipleOfAWholeNumber) {
  // Few multiples within the bounds: each one, and nothing else.
  const json threes = json::parse(R"({"type":"integer","multipleOf":3,"minimum":-7,"maximum":20})");
  for (int v = -10; v <= 25; ++v)
    EXPECT_EQ(matches(threes, std::to_string(v)), v >= -7 && v <= 20 && v % 3 == 0) << v;
  const json half_open = json::parse(R"({"type":"number","multipleOf":5,"exclusiveMinimum":0,"exclusiveMaximum":20})");
  for (int v = -5; v <= 25; ++v) EXPECT_EQ(matches(half_open, std::to_string(v)), v > 0 && v < 20 && v % 5 == 0) << v;
  EXPECT_FALSE(matches(half_open, "5.0"));  // written without a fraction
  // Powers of ten: any range.
  const json tens = json::parse(R"({"type":"integer","multipleOf":100})");
  for (const char* ok : {"0", "100", "-2500", "123400", "900000000000000"}) EXPECT_TRUE(matches(tens, ok)) << ok;
  for (const char* bad : {"10", "-50", "1001", "00", "0100"}) EXPECT_FALSE(matches(tens, bad)) << bad;
  const json bounded_tens = json::parse(R"({"type":"integer","multipleOf":10,"minimum":-25,"maximum":1000000})");
  for (const char* ok : {"-20", "0", "10", "1000000", "999990"}) EXPECT_TRUE(matches(bounded_tens, ok)) << ok;
  for (const char* bad : {"-30", "1000010", "15", "-25"}) EXPECT_FALSE(matches(bounded_tens, bad)) << bad;
}

TEST(GrammarSchema, MultipleOfThatCannotBeWrittenIsAnErrorNamingIt) {
  for (const char* text : {R"({"type":"integer","multipleOf":7})", R"({"type":"number","multipleOf":0.25})",
                           R"({"type":"integer","multipleOf":3,"minimum":0,"maximum":100000})",
                           R"({"type":"number","multipleOf":0})", R"({"type":"number","multipleOf":"2"})",
                           R"({"type":"integer","multipleOf":4,"minimum":1,"maximum":3})"}) {
    try {
      compile_json_schema(json::parse(text));
      ADD_FAILURE() << "accepted " << text;
    } catch (const GrammarError& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.find("'multipleOf'") != std::string::npos || what.find("no multiple of") != std::string::npos) << what;
    }
  }
}

// {A, oneOf: [B, C]} is A and (B or C): each branch merged with the siblings; a branch whose type
// contradicts them is left out.
TEST(GrammarSchema, CombinatorSiblingsMergeIntoEachBranch) {
  const auto g = compile_json_schema(json::parse(R"({"type":"object","properties":{"kind":{"type":"string"}},
    "oneOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"b":{"type":"boolean"}},"required":["b"]}]})"));
  auto accepts = [](const std::shared_ptr<const Grammar>& grammar, const char* text) {
    ByteMatcher m(grammar);
    return m.accept(text) && m.can_end();
  };
  for (const char* ok : {R"({"a":1})", R"({"b":true})", R"({"a":2,"kind":"x"})"}) EXPECT_TRUE(accepts(g, ok)) << ok;
  for (const char* bad : {R"({"a":"x"})", R"({})", R"({"kind":"x"})", R"([])"}) EXPECT_FALSE(accepts(g, bad)) << bad;
  const auto s = compile_json_schema(json::parse(R"({"type":"string","anyOf":[{"maxLength":2},{"type":"integer"}]})"));
  EXPECT_TRUE(accepts(s, R"("ab")"));
  EXPECT_FALSE(accepts(s, R"("abc")"));
  EXPECT_FALSE(accepts(s, "3"));
  EXPECT_THROW(compile_json_schema(json::parse(R"({"type":"string","anyOf":[{"type":"integer"},{"type":"boolean"}]})")), GrammarError);
}

// Siblings merged into branches at every level multiply the work: `levels` levels (through
// $defs, so the schema itself stays small) of `branches` branches would be branches^levels merges.
// The depth limit or the compile budget refuses them at once; a limit is never mistaken for a
// contradicting branch to leave out (which would try every other branch, and their children).
TEST(GrammarSchema, NestedSiblingMergesAreBounded) {
  for (const auto [levels, branches] : {std::pair{40, 2}, std::pair{10, 4}}) {
    json schema = {{"$defs", {{"d0", {{"type", "integer"}}}}}};
    for (int i = 1; i <= levels; ++i) {
      const json below = {{"$ref", "#/$defs/d" + std::to_string(i - 1)}};
      json options = json::array({json::object()});
      for (int b = 1; b < branches; ++b) options.push_back(below);
      schema["$defs"]["d" + std::to_string(i)] = {{"type", "object"}, {"properties", {{"p", below}}}, {"anyOf", options}};
    }
    schema["$ref"] = "#/$defs/d" + std::to_string(levels);
    const auto start = std::chrono::steady_clock::now();
    try {
      compile_json_schema(schema);
    } catch (const GrammarError&) {
      // refused: fine; the point is the time
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << levels << " x " << branches;
  }
}

// Keywords JSON Schema does not define are annotations: ignored (as the specification says).
TEST(GrammarSchema, KeywordsOutsideJsonSchemaAreIgnored) {
  const auto plain = compile_json_schema(json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],
    "additionalProperties":false})"));
  const auto annotated = compile_json_schema(json::parse(R"({"type":"object","self":{"vendor":"com.x","name":"e"},
    "properties":{"a":{"type":"integer","example":3,"nullable":true,"markdownDescription":"*a*"}},"required":["a"],
    "additionalProperties":false,"x-order":["a"],"id":"urn:x"})"));
  for (const char* text : {R"({"a":3})", R"({"a":-12})", R"({"a":"3"})", R"({"b":3})", R"({})"}) {
    ByteMatcher p(plain), a(annotated);
    const bool in_plain = p.accept(text) && p.can_end(), in_annotated = a.accept(text) && a.can_end();
    EXPECT_EQ(in_plain, in_annotated) << text;
  }
}

TEST(GrammarSchema, UnsupportedKeywordsAreErrorsNamingThem) {
  for (const char* keyword : {"uniqueItems", "patternProperties", "dependencies", "additionalItems", "prefixItems",
                              "minProperties", "if", "contains", "unevaluatedProperties", "propertyNames"}) {
    json schema = json::parse(R"({"type":"object"})");
    schema[keyword] = json::object();
    try {
      compile_json_schema(schema);
      ADD_FAILURE() << "accepted " << keyword;
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + keyword + "'"), std::string::npos) << e.what();
    }
  }
  for (const char* text : {R"x({"type":"string","pattern":"a(?=b)"})x", R"({"type":"number","multipleOf":2})",
                           R"({"not":{"type":"string"}})", R"({"allOf":[{"type":"string"},{"type":"number"}]})",
                           R"({"type":"string","format":"json-pointer"})", R"({"$ref":"https://example.com/s.json"})",
                           R"({"type":"object","properties":{},"required":["a"],"additionalProperties":false})", R"({"type":"widget"})"}) {
    try {
      compile_json_schema(json::parse(text));
      ADD_FAILURE() << "accepted " << text;
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find("schema at"), std::string::npos) << e.what();
    }
  }
  try {
    compile_json_schema(json::parse(R"({"type":"number","multipleOf":2})"));
  } catch (const GrammarError& e) {
    EXPECT_NE(std::string(e.what()).find("'multipleOf'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
