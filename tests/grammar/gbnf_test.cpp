// GBNF grammar text: accepted and rejected strings for each construct, errors that name the line or
// rule, and a JSON grammar whose complete strings always parse as JSON.
#include <gtest/gtest.h>

#include <random>

#include "gemma4/grammar.h"

namespace gemma4 {
namespace {

bool matches(const std::string& grammar, const std::string& text) {
  ByteMatcher m(compile_gbnf(grammar));
  return m.accept(text) && m.can_end();
}

TEST(GrammarGbnf, Constructs) {
  const std::string g = R"g(# arithmetic
root ::= expr
expr ::= term (("+" | "-") term)*
term ::= num | "(" expr ")"
num  ::= [1-9] [0-9]* | "0"
)g";
  EXPECT_TRUE(matches(g, "1+(20-3)"));
  EXPECT_TRUE(matches(g, "0"));
  EXPECT_FALSE(matches(g, "01"));
  EXPECT_FALSE(matches(g, "1+"));
  EXPECT_FALSE(matches(g, "(1"));
  EXPECT_TRUE(matches(R"g(root ::= "a"{2,3} "b"? [^x-z]+)g", "aabq"));
  EXPECT_FALSE(matches(R"g(root ::= "a"{2,3} "b"? [^x-z]+)g", "aaaay"));
  EXPECT_TRUE(matches(R"g(root ::= "\x41\u00e9\n\"\\" .)g", "A\xc3\xa9\n\"\\\xe2\x82\xac"));
  EXPECT_TRUE(matches("root ::= (\n  \"x\" |\n  \"y\"\n)+ \"\"", "xyx"));
  EXPECT_TRUE(matches("root ::= item+\nitem ::= [a-c] \",\"?", "a,bc"));
  EXPECT_TRUE(matches("root ::= \"a\"?", ""));  // a nullable root can end at once
  EXPECT_TRUE(matches("root ::= x\nx ::= \"(\" x \")\" | \"\"", "((()))"));  // recursion in the middle
  EXPECT_FALSE(matches("root ::= x\nx ::= \"(\" x \")\" | \"\"", "(()"));
  EXPECT_TRUE(matches("root ::= [a-z-]+", "a-b"));
}

TEST(GrammarGbnf, ErrorsNameTheLineOrRule) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"root ::= item\n", "'item'"},
      {"start ::= \"a\"\n", "'root'"},
      {"root ::= \"a\"\nroot ::= \"b\"\n", "twice"},
      {"root ::= list\nlist ::= list \",\" \"x\" | \"x\"\n", "left-recursive"},
      {"root ::= \"a\n", "line 1"},
      {"root ::= \"a\"\nx ::= [b-a]\n", "line 2"},
      {"root ::= (\"a\"\n", "line"},
      {"root ::= \"a\"{3,1}\n", "maximum"},
      {"root = \"a\"\n", "'::='"},
      {"root ::= \"a\" @\n", "'@'"}};
  for (const auto& [text, needle] : bad) {
    try {
      compile_gbnf(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << text << " -> " << e.what();
    }
  }
}

// A JSON grammar in GBNF: random byte walks that complete always parse as JSON.
TEST(GrammarGbnf, JsonGrammarCompletionsParse) {
  const auto g = compile_gbnf(R"g(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ( string ":" value ("," string ":" value)* )? "}"
array  ::= "[" ( value ("," value)* )? "]"
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\""
number ::= "-"? ("0" | [1-9] [0-9]{0,8}) ("." [0-9]{1,6})?
)g");
  std::mt19937 rng(5);
  int done = 0;
  for (int walk = 0; walk < 300; ++walk) {
    ByteMatcher m(g);
    std::string text;
    for (int step = 0; step < 200; ++step) {
      if (m.can_end()) break;
      std::vector<char> next;
      for (int b = 0x20; b < 0x7f; ++b)
        if (ByteMatcher(m).accept(std::string(1, static_cast<char>(b)))) next.push_back(static_cast<char>(b));
      ASSERT_FALSE(next.empty()) << "dead end after " << text;
      // Prefer closing punctuation later in the walk so that most walks finish.
      char c = next[rng() % next.size()];
      if (step > 20)
        for (char close : {'"', '}', ']'})
          if (std::find(next.begin(), next.end(), close) != next.end() && rng() % 2) c = close;
      ASSERT_TRUE(m.accept(std::string(1, c)));
      text += c;
    }
    if (!m.can_end()) continue;
    ++done;
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
  }
  EXPECT_GT(done, 100);
}

}  // namespace
}  // namespace gemma4
