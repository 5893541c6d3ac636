#pragma once
// The compiled form of a grammar: a graph of nodes matched byte by byte with an explicit stack
// (a pushdown automaton). Alternatives (anyOf, enum, optional properties) run side by side as
// separate stacks, so matching never backtracks and a state is a small set of stacks.
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gemma4/grammar.h"

namespace gemma4 {

// Literal..Array are JSON's shapes; Seq, Repeat and Char are the general ones that regular
// expressions (`pattern`, `format`, numeric ranges) and grammar text compile to.
enum class NodeKind : uint8_t { Literal, Alt, String, Number, Object, Array, Seq, Repeat, Char };

// A closed range of Unicode code points.
struct CodeRange {
  uint32_t lo = 0, hi = 0;
};

struct Property {
  int key = -1;    // a Literal node: the key with its quotes, JSON-escaped
  int value = -1;
  bool required = false;
};

struct Node {
  NodeKind kind = NodeKind::Literal;
  std::string text;           // Literal: the exact bytes (never empty: an empty Seq matches nothing)
  std::vector<int> options;   // Alt: any one of these nodes; Seq: these nodes in order
  int64_t min = 0, max = -1;  // String: length in characters; Array, Repeat: items (max -1: unbounded)
  bool integer = false;       // Number: no fraction or exponent
  std::vector<Property> props;         // Object: properties in schema order
  int free_key = -1, free_value = -1;  // Object with arbitrary keys (a String node and a value)
  int items = -1;                      // Array, Repeat: the item node
  // Char: one character whose code point is in one of these sorted, disjoint ranges (surrogates
  // never included). With json_escaped it is written as inside a JSON string: '"', '\\' and
  // control characters only as escapes, any character also as a \uXXXX escape.
  std::vector<CodeRange> ranges;
  bool json_escaped = false;
};

struct Grammar {
  std::vector<Node> nodes;
  int root = -1;
  std::vector<uint8_t> nullable;  // per node: matches the empty string (set by finish_grammar)
  // Lazy grammars (tool calls): the bytes of the special token that starts a constrained part.
  // Before it, and after each complete part, tokens are free.
  std::string trigger;
  // Bytes of the first constrained part already in the prompt (a forced tool call): matching
  // starts active, after them.
  std::string prefix;
};

// Appends a node; a GrammarError once the grammar would exceed kMaxGrammarNodes.
constexpr size_t kMaxGrammarNodes = 20000;
int add_node(Grammar& g, Node n);
// A regular expression (the subset in docs/grammar.md) as nodes matching the whole text (anchors
// implied). With json_string its characters are written as inside a JSON string. GrammarError
// names what is not supported and where.
int compile_regex(Grammar& g, std::string_view pattern, bool json_string);
// A character class node over code points (sorted, merged, surrogates removed); GrammarError when
// nothing is left.
int add_char_class(Grammar& g, std::vector<CodeRange> ranges, bool json_string);

// The regular expression of a string `format` (date-time, date, time, duration, email, hostname,
// ipv4, ipv6, uuid); empty for a format without one.
std::string format_regex(std::string_view format);

// Regular expressions for numbers in a range, written without exponent or leading zeros and with at
// most 15 integer digits. A bound is a whole number; `exclusive` excludes it.
struct NumberBound {
  bool present = false;
  int64_t value = 0;
  bool exclusive = false;
};
constexpr int64_t kMaxGrammarInteger = 999999999999999;  // 15 digits
std::string integer_range_regex(int64_t lo, int64_t hi);  // "" when lo > hi
// Numbers (a present bound is a whole number) with at most `fraction_digits` digits after the
// point (0: none; 15: the most written); "" when the range is empty.
std::string number_range_regex(NumberBound lo, NumberBound hi, int fraction_digits = 15);
// v / k rounded down (k > 0): the last multiple index at or below v.
constexpr int64_t floor_div(int64_t v, int64_t k) { return v >= 0 ? v / k : -((-v + k - 1) / k); }
// The multiples of 10^zeros (zeros >= 1) in [lo, hi]; "" when there are none.
std::string power_of_ten_multiples_regex(int zeros, int64_t lo, int64_t hi);

// Computes the derived tables (nullable); every compiler calls it last.
void finish_grammar(Grammar& g);

// One level of the parse stack. node -1 is the root slot (phase 1: the value is complete).
struct Frame {
  int32_t node = -1;
  int32_t phase = 0;
  int32_t count = 0;  // characters, items or digits so far, capped where more does not matter
  int32_t aux = 0;    // string: pending UTF-8 bytes; object: the property being matched
  auto operator<=>(const Frame&) const = default;
};

using Stack = std::vector<Frame>;

struct ByteMatcher::State {
  std::vector<Stack> stacks;  // sorted, distinct
  bool operator==(const State&) const = default;
};

ByteMatcher::State initial_state();
// The state after `byte`; false (out untouched) when every stack rejects it.
bool advance(const Grammar& g, const ByteMatcher::State& in, uint8_t byte, ByteMatcher::State& out);
bool state_can_end(const Grammar& g, const ByteMatcher::State& s);
// One byte inside a String node's frame (phase >= 1: after the opening quote), as advance takes it.
enum class StringStep { Reject, Inside, Closed };
StringStep string_step(const Node& n, Frame& f, uint8_t byte);
// Inside a string, how many plain characters (printable ASCII but '"' and '\\', or whole UTF-8
// characters) the state accepts in a row: -1 without limit, -2 when not inside a string.
int64_t plain_chars_accepted(const Grammar& g, const ByteMatcher::State& s);
// A state that is one stack inside an unbounded repetition of a character class (directly, or as
// the first option of an Alt): that class, which accepts any run of its characters; else null.
const Node* repeated_class(const Grammar& g, const ByteMatcher::State& s);

}  // namespace gemma4
