#pragma once
// The compiled form of a grammar: a graph of nodes matched byte by byte with an explicit stack
// (a pushdown automaton). Alternatives (anyOf, enum, optional properties) run side by side as
// separate stacks, so matching never backtracks and a state is a small set of stacks.
#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "gemma4/grammar.h"

namespace gemma4 {

enum class NodeKind : uint8_t { Literal, Alt, String, Number, Object, Array };

struct Property {
  int key = -1;    // a Literal node: the key with its quotes, JSON-escaped
  int value = -1;
  bool required = false;
};

struct Node {
  NodeKind kind = NodeKind::Literal;
  std::string text;           // Literal: the exact bytes
  std::vector<int> options;   // Alt: any one of these nodes
  int64_t min = 0, max = -1;  // String: length in characters; Array: items (max -1: unbounded)
  bool integer = false;       // Number: no fraction or exponent
  std::vector<Property> props;         // Object: properties in schema order
  int free_key = -1, free_value = -1;  // Object with arbitrary keys (a String node and a value)
  int items = -1;                      // Array: the item node
};

struct Grammar {
  std::vector<Node> nodes;
  int root = -1;
};

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
// Inside a string, how many plain characters (printable ASCII but '"' and '\\', or whole UTF-8
// characters) the state accepts in a row: -1 without limit, -2 when not inside a string.
int64_t plain_chars_accepted(const Grammar& g, const ByteMatcher::State& s);

}  // namespace gemma4
