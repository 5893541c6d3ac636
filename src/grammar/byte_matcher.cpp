// Byte-by-byte matching of a compiled grammar. Each stack is advanced independently; a node that
// offers a choice (Alt, which property comes next) forks the stack, and forks that cannot take the
// byte die. Numbers end by lookahead: a byte that cannot continue one pops it and goes to the parent.
#include <algorithm>
#include <optional>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

constexpr size_t kMaxStackDepth = 64;   // nesting bound: "[[[[..." cannot grow without end
constexpr size_t kMaxStacks = 512;      // alternatives kept side by side
constexpr int kMaxAltDepth = 32;        // Alt-of-Alt expansion (guards $ref cycles through anyOf)
constexpr int kMaxIntDigits = 15;       // integers stay exact in a double (|n| < 2^53)
constexpr int kMaxFracDigits = 15;
constexpr int kMaxExpDigits = 2;       // e+99 at most: always a finite double
constexpr int kMaxNesting = 256;        // nodes entered for one byte (guards rule cycles through Seq)

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Allowed range of the first continuation byte after a UTF-8 lead byte (RFC 3629 table 3-7).
bool continuation_ok(int range, uint8_t c) {
  switch (range) {
    case 1: return c >= 0xA0 && c <= 0xBF;  // after E0: no overlong forms
    case 2: return c >= 0x80 && c <= 0x9F;  // after ED: no surrogates
    case 3: return c >= 0x90 && c <= 0xBF;  // after F0: no overlong forms
    case 4: return c >= 0x80 && c <= 0x8F;  // after F4: not above U+10FFFF
    default: return c >= 0x80 && c <= 0xBF;
  }
}

// Pending continuation bytes (low byte) and the range code of the first one (next byte).
int utf8_lead(uint8_t c) {
  if (c >= 0xC2 && c <= 0xDF) return 1;
  if (c == 0xE0) return 2 | (1 << 8);
  if (c == 0xED) return 2 | (2 << 8);
  if (c >= 0xE1 && c <= 0xEF) return 2;
  if (c == 0xF0) return 3 | (3 << 8);
  if (c >= 0xF1 && c <= 0xF3) return 3;
  if (c == 0xF4) return 3 | (4 << 8);
  return -1;
}

int64_t count_cap(const Node& n) { return n.max >= 0 ? n.max : n.min; }
void count_one(Frame& f, const Node& n) {
  if (f.count < count_cap(n)) ++f.count;
}

bool object_closable(const Node& n, int32_t from) {
  for (size_t j = static_cast<size_t>(from); j < n.props.size(); ++j)
    if (n.props[j].required) return false;
  return true;
}

bool number_can_end(const Frame& f) { return f.phase == 2 || f.phase == 3 || f.phase == 5 || f.phase == 8; }

class Stepper {
 public:
  Stepper(const Grammar& g, std::vector<Stack>& out) : g_(g), out_(out) {}

  void push_value(Stack s, int node, uint8_t c, int depth = 0) {
    const Node& n = g_.nodes[static_cast<size_t>(node)];
    if (n.kind == NodeKind::Alt) {
      if (depth >= kMaxAltDepth) return;
      for (int option : n.options) push_value(s, option, c, depth + 1);
      return;
    }
    if (s.size() >= kMaxStackDepth || nesting_ >= kMaxNesting) return;
    ++nesting_;
    s.push_back(Frame{node, 0, 0, 0});
    feed(std::move(s), c);
    --nesting_;
  }

  void feed(Stack s, uint8_t c) {
    while (!s.empty()) {
      Frame& f = s.back();
      if (f.node < 0) {  // the root slot
        if (f.phase != 0) return;
        f.phase = 1;
        push_value(std::move(s), g_.root, c);
        return;
      }
      const Node& n = g_.nodes[static_cast<size_t>(f.node)];
      Outcome r = Outcome::Reject;
      switch (n.kind) {
        case NodeKind::Literal: r = literal(f, n, c); break;
        case NodeKind::String: r = string(f, n, c); break;
        case NodeKind::Number: r = number(f, n, c); break;
        case NodeKind::Object: r = object(s, n, c); break;
        case NodeKind::Array: r = array(s, n, c); break;
        case NodeKind::Seq: r = seq(s, n, c); break;
        case NodeKind::Repeat: r = repeat(s, n, c); break;
        case NodeKind::Char: r = chars(f, n, c); break;
        case NodeKind::Alt: return;  // never on a stack
      }
      if (r == Outcome::Reject || r == Outcome::Forked) return;
      if (r == Outcome::Consumed) {
        emit(std::move(s));
        return;
      }
      s.pop_back();
      child_done(s);
      if (r == Outcome::ConsumedPop) {
        emit(std::move(s));
        return;
      }
      // PassPop: the byte belongs to the parent.
    }
  }

 public:  // the step functions serve the string fast path below too
  enum class Outcome { Reject, Consumed, ConsumedPop, PassPop, Forked };

  // A stack that took the byte. A Repeat's "item started on this byte" mark is cleared: the item
  // has consumed something, so the Repeat may start another one on a later byte.
  void emit(Stack s) {
    for (Frame& f : s)
      if (f.node >= 0 && f.aux != 0 && g_.nodes[static_cast<size_t>(f.node)].kind == NodeKind::Repeat) f.aux = 0;
    out_.push_back(std::move(s));
  }

  void child_done(Stack& s) const {
    if (s.empty()) return;
    Frame& p = s.back();
    if (p.node < 0) return;
    const NodeKind kind = g_.nodes[static_cast<size_t>(p.node)].kind;
    if (kind != NodeKind::Object && kind != NodeKind::Array) return;  // Seq and Repeat advanced on entry
    // Object: key done -> expect ':'; value done -> expect ',' or '}'. Array: item done.
    if (p.phase == 2 && p.aux != -2) {
      p.phase = 4;
      p.count = p.aux + 1;
    } else if (p.phase == 6) {
      p.phase = 7;
    } else if (p.phase == 12) {
      p.phase = 13;
    }
  }

  static Outcome literal(Frame& f, const Node& n, uint8_t c) {
    if (static_cast<size_t>(f.phase) >= n.text.size() || static_cast<uint8_t>(n.text[f.phase]) != c)
      return Outcome::Reject;
    ++f.phase;
    return static_cast<size_t>(f.phase) == n.text.size() ? Outcome::ConsumedPop : Outcome::Consumed;
  }

  static Outcome string(Frame& f, const Node& n, uint8_t c) {
    switch (f.phase) {
      case 0:
        if (c != '"') return Outcome::Reject;
        f.phase = 1;
        return Outcome::Consumed;
      case 1: {
        const int pending = f.aux & 0xff;
        if (pending > 0) {
          if (!continuation_ok(f.aux >> 8, c)) return Outcome::Reject;
          f.aux = pending - 1;
          return Outcome::Consumed;
        }
        if (c == '"') return f.count >= n.min ? Outcome::ConsumedPop : Outcome::Reject;
        if (c < 0x20) return Outcome::Reject;
        if (n.max >= 0 && f.count >= n.max) return Outcome::Reject;
        if (c == '\\') {
          f.phase = 2;
        } else if (c >= 0x80) {
          const int lead = utf8_lead(c);
          if (lead < 0) return Outcome::Reject;
          f.aux = lead;
        }
        count_one(f, n);
        return Outcome::Consumed;
      }
      case 2:
        if (c == 'u') {
          f.phase = 3;
          f.aux = 0;
          return Outcome::Consumed;
        }
        if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' && c != 't')
          return Outcome::Reject;
        f.phase = 1;
        return Outcome::Consumed;
      default:  // \uXXXX digits, phases 3..6; surrogates (D800-DFFF) are refused: they need pairs
        if (!is_hex(c)) return Outcome::Reject;
        if (f.phase == 3) f.aux = (c == 'd' || c == 'D') ? 1 : 0;
        if (f.phase == 4 && f.aux == 1 && !(c >= '0' && c <= '7')) return Outcome::Reject;
        if (++f.phase == 7) {
          f.phase = 1;
          f.aux = 0;
        }
        return Outcome::Consumed;
    }
  }

  static Outcome number(Frame& f, const Node& n, uint8_t c) {
    const bool digit = is_digit(c);
    switch (f.phase) {
      case 0:
      case 1:
        if (f.phase == 0 && c == '-') {
          f.phase = 1;
          return Outcome::Consumed;
        }
        if (c == '0') {
          f.phase = 3;
          return Outcome::Consumed;
        }
        if (digit) {
          f.phase = 2;
          f.count = 1;
          return Outcome::Consumed;
        }
        return Outcome::Reject;
      case 2:
        if (digit) {
          if (f.count >= kMaxIntDigits) return Outcome::Reject;
          ++f.count;
          return Outcome::Consumed;
        }
        [[fallthrough]];
      case 3:
        if (!n.integer && c == '.') {
          f.phase = 4;
          f.count = 0;
          return Outcome::Consumed;
        }
        if (!n.integer && (c == 'e' || c == 'E')) {
          f.phase = 6;
          f.count = 0;
          return Outcome::Consumed;
        }
        return Outcome::PassPop;
      case 4:
        if (!digit) return Outcome::Reject;
        f.phase = 5;
        f.count = 1;
        return Outcome::Consumed;
      case 5:
        if (digit) {
          if (f.count >= kMaxFracDigits) return Outcome::Reject;
          ++f.count;
          return Outcome::Consumed;
        }
        if (c == 'e' || c == 'E') {
          f.phase = 6;
          f.count = 0;
          return Outcome::Consumed;
        }
        return Outcome::PassPop;
      case 6:
        if (c == '+' || c == '-') {
          f.phase = 7;
          return Outcome::Consumed;
        }
        [[fallthrough]];
      case 7:
        if (!digit) return Outcome::Reject;
        f.phase = 8;
        f.count = 1;
        return Outcome::Consumed;
      default:
        if (digit) {
          if (f.count >= kMaxExpDigits) return Outcome::Reject;
          ++f.count;
          return Outcome::Consumed;
        }
        return Outcome::PassPop;
    }
  }

  // Phases: 0 '{'; 1 key or '}'; 3 key (after ','); 2 in key; 4 ':'; 5 value; 6 in value; 7 ',' or '}'.
  Outcome object(Stack& s, const Node& n, uint8_t c) {
    Frame& f = s.back();
    switch (f.phase) {
      case 0:
        if (c != '{') return Outcome::Reject;
        f.phase = 1;
        return Outcome::Consumed;
      case 1:
      case 3: {
        if (f.phase == 1 && c == '}' && object_closable(n, f.count)) return Outcome::ConsumedPop;
        if (n.free_key >= 0) {
          Stack t = s;
          t.back().phase = 2;
          t.back().aux = -1;
          push_value(std::move(t), n.free_key, c);
          return Outcome::Forked;
        }
        for (size_t j = static_cast<size_t>(f.count); j < n.props.size(); ++j) {
          Stack t = s;
          t.back().phase = 2;
          t.back().aux = static_cast<int32_t>(j);
          push_value(std::move(t), n.props[j].key, c);
          if (n.props[j].required) break;  // a required property cannot be skipped
        }
        return Outcome::Forked;
      }
      case 4:
        if (c != ':') return Outcome::Reject;
        f.phase = 5;
        return Outcome::Consumed;
      case 5: {
        const int value = f.aux < 0 ? n.free_value : n.props[static_cast<size_t>(f.aux)].value;
        f.phase = 6;
        push_value(std::move(s), value, c);
        return Outcome::Forked;
      }
      case 7:
        if (c == ',' && (n.free_key >= 0 || static_cast<size_t>(f.count) < n.props.size())) {
          f.phase = 3;
          return Outcome::Consumed;
        }
        if (c == '}' && object_closable(n, f.count)) return Outcome::ConsumedPop;
        return Outcome::Reject;
      default:
        return Outcome::Reject;
    }
  }

  // Phases: 10 '['; 11 item or ']'; 12 in item; 13 ',' or ']'; 14 item (after ',').
  Outcome array(Stack& s, const Node& n, uint8_t c) {
    Frame& f = s.back();
    if (f.phase == 0) f.phase = 10;
    switch (f.phase) {
      case 10:
        if (c != '[') return Outcome::Reject;
        f.phase = 11;
        return Outcome::Consumed;
      case 11:
      case 14:
        if (f.phase == 11 && c == ']') return n.min == 0 ? Outcome::ConsumedPop : Outcome::Reject;
        if (n.max == 0) return Outcome::Reject;
        f.phase = 12;
        count_one(f, n);
        push_value(std::move(s), n.items, c);
        return Outcome::Forked;
      case 13:
        if (c == ',' && (n.max < 0 || f.count < n.max)) {
          f.phase = 14;
          return Outcome::Consumed;
        }
        if (c == ']' && f.count >= n.min) return Outcome::ConsumedPop;
        return Outcome::Reject;
      default:
        return Outcome::Reject;
    }
  }

  // A sequence: phase is the next child. The last child replaces the Seq frame (it is done once that
  // child is), which keeps right-recursive grammars from growing the stack.
  Outcome seq(Stack& s, const Node& n, uint8_t c) {
    Frame& f = s.back();
    const auto size = static_cast<int32_t>(n.options.size());
    if (f.phase >= size) return Outcome::PassPop;
    const int child = n.options[static_cast<size_t>(f.phase)];
    if (f.phase + 1 == size) {
      s.pop_back();
      child_done(s);
    } else {
      ++f.phase;
    }
    push_value(std::move(s), child, c);
    return Outcome::Forked;
  }

  // count: items started (capped); aux 1: an item was started on this byte, so an item that ended
  // without consuming it is not followed by another one (a nullable item cannot loop).
  Outcome repeat(Stack& s, const Node& n, uint8_t c) {
    const Frame f = s.back();
    const bool may_stop = f.count >= n.min || g_.nullable[static_cast<size_t>(n.items)];
    if (f.aux == 0 && (n.max < 0 || f.count < n.max)) {
      Stack t = may_stop ? s : std::move(s);
      t.back().aux = 1;
      count_one(t.back(), n);
      push_value(std::move(t), n.items, c);
    }
    return may_stop ? Outcome::PassPop : Outcome::Forked;
  }

  static bool class_meets(const Node& n, uint32_t lo, uint32_t hi) {
    for (const CodeRange& r : n.ranges) {
      if (r.lo > hi) return false;
      if (r.hi >= lo) return true;
    }
    return false;
  }

  // Some code point of the class is still reachable after `value`, with `rest` continuation bytes
  // to come in a `length`-byte UTF-8 sequence (overlong forms excluded).
  static bool utf8_feasible(const Node& n, uint32_t value, int rest, int length) {
    static constexpr uint32_t kMinOfLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t lo = value << (6 * rest);
    const uint32_t hi = std::min<uint32_t>(lo | ((1u << (6 * rest)) - 1), 0x10FFFF);
    lo = std::max(lo, kMinOfLength[length]);
    return lo <= hi && class_meets(n, lo, hi);
  }

  static int escape_code(uint8_t c) {
    switch (c) {
      case '"': return 0x22;
      case '\\': return 0x5C;
      case '/': return 0x2F;
      case 'b': return 0x08;
      case 'f': return 0x0C;
      case 'n': return 0x0A;
      case 'r': return 0x0D;
      case 't': return 0x09;
      default: return -1;
    }
  }

  // One character of a class. Phases: 0 first byte; 10+k: k UTF-8 continuation bytes to come
  // (aux: the code point so far, count: the sequence length); 20 after '\\'; 21-24 \u digits.
  static Outcome chars(Frame& f, const Node& n, uint8_t c) {
    if (f.phase == 0) {
      if (n.json_escaped) {
        if (c == '\\') {
          if (!class_meets(n, 0, 0xFFFF)) return Outcome::Reject;
          f.phase = 20;
          return Outcome::Consumed;
        }
        if (c == '"' || c < 0x20) return Outcome::Reject;
      }
      if (c < 0x80) return class_meets(n, c, c) ? Outcome::ConsumedPop : Outcome::Reject;
      int length = 0;
      uint32_t value = 0;
      if (c >= 0xC2 && c <= 0xDF) length = 2, value = c & 0x1F;
      else if (c >= 0xE0 && c <= 0xEF) length = 3, value = c & 0x0F;
      else if (c >= 0xF0 && c <= 0xF4) length = 4, value = c & 0x07;
      else return Outcome::Reject;
      if (!utf8_feasible(n, value, length - 1, length)) return Outcome::Reject;
      f.phase = 10 + length - 1;
      f.count = length;
      f.aux = static_cast<int32_t>(value);
      return Outcome::Consumed;
    }
    if (f.phase > 10 && f.phase <= 13) {
      if (c < 0x80 || c > 0xBF) return Outcome::Reject;
      const uint32_t value = (static_cast<uint32_t>(f.aux) << 6) | (c & 0x3F);
      const int rest = f.phase - 11;
      if (!utf8_feasible(n, value, rest, f.count)) return Outcome::Reject;
      if (rest == 0) return Outcome::ConsumedPop;
      --f.phase;
      f.aux = static_cast<int32_t>(value);
      return Outcome::Consumed;
    }
    if (f.phase == 20) {
      if (c == 'u') {
        f.phase = 21;
        f.aux = 0;
        return Outcome::Consumed;
      }
      const int code = escape_code(c);
      if (code < 0 || !class_meets(n, static_cast<uint32_t>(code), static_cast<uint32_t>(code))) return Outcome::Reject;
      return Outcome::ConsumedPop;
    }
    if (f.phase >= 21 && f.phase <= 24) {
      if (!is_hex(c)) return Outcome::Reject;
      const uint32_t digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
      const uint32_t value = (static_cast<uint32_t>(f.aux) << 4) | digit;
      const int rest = 24 - f.phase;
      const uint32_t lo = value << (4 * rest), hi = lo | ((1u << (4 * rest)) - 1);
      if (!class_meets(n, lo, hi)) return Outcome::Reject;  // the ranges hold no surrogates
      if (rest == 0) return Outcome::ConsumedPop;
      ++f.phase;
      f.aux = static_cast<int32_t>(value);
      return Outcome::Consumed;
    }
    return Outcome::Reject;
  }

  const Grammar& g_;
  std::vector<Stack>& out_;
  int nesting_ = 0;
};

// The stack can finish without another byte: every frame from the top is complete or can be left.
bool stack_can_end(const Grammar& g, const Stack& st) {
  for (size_t i = st.size(); i-- > 0;) {
    const Frame& f = st[i];
    if (f.node < 0) return f.phase == 1 || (f.phase == 0 && g.nullable[static_cast<size_t>(g.root)]);
    const Node& n = g.nodes[static_cast<size_t>(f.node)];
    switch (n.kind) {
      case NodeKind::Number:
        if (!number_can_end(f)) return false;
        break;
      case NodeKind::Seq:
        for (size_t j = static_cast<size_t>(f.phase); j < n.options.size(); ++j)
          if (!g.nullable[static_cast<size_t>(n.options[j])]) return false;
        break;
      case NodeKind::Repeat:
        if (f.count < n.min && !g.nullable[static_cast<size_t>(n.items)]) return false;
        break;
      default:
        return false;
    }
  }
  return false;
}

}  // namespace

ByteMatcher::State initial_state() {
  ByteMatcher::State s;
  s.stacks.push_back(Stack{Frame{-1, 0, 0, 0}});
  return s;
}

// Inside a string with one stack (the common case of a trie walk) the string's own step runs on
// a copy-assigned state, which reuses `out`'s buffers: no allocation, no sorting. The closing
// quote, which pops the frame, takes the general path. Returns nullopt when it does not apply.
std::optional<bool> advance_in_string(const Grammar& g, const ByteMatcher::State& in, uint8_t byte,
                                      ByteMatcher::State& out) {
  if (in.stacks.size() != 1) return std::nullopt;
  const Frame& f = in.stacks[0].back();
  if (f.node < 0) return std::nullopt;
  const Node& n = g.nodes[static_cast<size_t>(f.node)];
  if (n.kind != NodeKind::String || f.phase == 0 || (f.phase == 1 && f.aux == 0 && byte == '"')) return std::nullopt;
  Frame next = f;
  if (Stepper::string(next, n, byte) != Stepper::Outcome::Consumed) return false;
  out.stacks = in.stacks;
  out.stacks[0].back() = next;
  return true;
}

StringStep string_step(const Node& n, Frame& f, uint8_t byte) {
  switch (Stepper::string(f, n, byte)) {
    case Stepper::Outcome::Consumed: return StringStep::Inside;
    case Stepper::Outcome::ConsumedPop: return StringStep::Closed;
    default: return StringStep::Reject;
  }
}

// Every stack inside a literal (past its first byte, so no Repeat marks are pending) that this byte
// does not finish: the survivors are copied into `out`'s buffers with their literal one byte on,
// which keeps them sorted and distinct. The common case of matching object keys. Returns nullopt
// when it does not apply.
std::optional<bool> advance_in_literals(const Grammar& g, const ByteMatcher::State& in, uint8_t byte,
                                        ByteMatcher::State& out) {
  for (const Stack& s : in.stacks) {
    const Frame& f = s.back();
    if (f.node < 0 || f.phase < 1) return std::nullopt;
    const Node& n = g.nodes[static_cast<size_t>(f.node)];
    if (n.kind != NodeKind::Literal) return std::nullopt;
    if (static_cast<size_t>(f.phase) + 1 >= n.text.size() && static_cast<uint8_t>(n.text[f.phase]) == byte)
      return std::nullopt;  // it finishes the literal: the general path pops it
  }
  size_t kept = 0;
  for (const Stack& s : in.stacks) {
    const Frame& f = s.back();
    if (static_cast<uint8_t>(g.nodes[static_cast<size_t>(f.node)].text[f.phase]) != byte) continue;
    if (kept == out.stacks.size()) out.stacks.emplace_back();
    out.stacks[kept] = s;
    ++out.stacks[kept].back().phase;
    ++kept;
  }
  if (kept == 0) return false;
  out.stacks.resize(kept);
  return true;
}

bool advance(const Grammar& g, const ByteMatcher::State& in, uint8_t byte, ByteMatcher::State& out) {
  if (const auto fast = advance_in_string(g, in, byte, out)) return *fast;
  if (const auto fast = advance_in_literals(g, in, byte, out)) return *fast;
  std::vector<Stack> next;
  Stepper stepper(g, next);
  for (const Stack& s : in.stacks) stepper.feed(s, byte);
  if (next.empty()) return false;
  std::sort(next.begin(), next.end());
  next.erase(std::unique(next.begin(), next.end()), next.end());
  if (next.size() > kMaxStacks) next.resize(kMaxStacks);  // a subset: what is produced stays valid
  out.stacks = std::move(next);
  return true;
}

bool state_can_end(const Grammar& g, const ByteMatcher::State& s) {
  for (const Stack& st : s.stacks)
    if (stack_can_end(g, st)) return true;
  return false;
}

int add_node(Grammar& g, Node n) {
  if (g.nodes.size() >= kMaxGrammarNodes)
    throw GrammarError("the grammar is too large (more than " + std::to_string(kMaxGrammarNodes) + " nodes)");
  g.nodes.push_back(std::move(n));
  return static_cast<int>(g.nodes.size()) - 1;
}

void finish_grammar(Grammar& g) {
  g.nullable.assign(g.nodes.size(), 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (g.nullable[i]) continue;
      const Node& n = g.nodes[i];
      bool empty = false;
      switch (n.kind) {
        case NodeKind::Alt:
          for (int o : n.options) empty = empty || g.nullable[static_cast<size_t>(o)];
          break;
        case NodeKind::Seq:
          empty = true;
          for (int o : n.options) empty = empty && g.nullable[static_cast<size_t>(o)];
          break;
        case NodeKind::Repeat:
          empty = n.min == 0 || g.nullable[static_cast<size_t>(n.items)];
          break;
        default:
          break;
      }
      if (empty) g.nullable[i] = 1, changed = true;
    }
  }
}

int64_t plain_chars_accepted(const Grammar& g, const ByteMatcher::State& s) {
  int64_t accepted = -1;
  for (const Stack& st : s.stacks) {
    const Frame& f = st.back();
    if (f.node < 0) return -2;
    const Node& n = g.nodes[static_cast<size_t>(f.node)];
    if (n.kind != NodeKind::String || f.phase != 1 || f.aux != 0) return -2;
    if (n.max >= 0) accepted = accepted < 0 ? n.max - f.count : std::min<int64_t>(accepted, n.max - f.count);
  }
  return accepted;
}

const Node* repeated_class(const Grammar& g, const ByteMatcher::State& s) {
  if (s.stacks.size() != 1 || s.stacks[0].empty()) return nullptr;
  const Frame& f = s.stacks[0].back();
  if (f.node < 0 || f.aux != 0) return nullptr;
  const Node& n = g.nodes[static_cast<size_t>(f.node)];
  if (n.kind != NodeKind::Repeat || n.max >= 0) return nullptr;
  const Node* item = &g.nodes[static_cast<size_t>(n.items)];
  if (item->kind == NodeKind::Alt && !item->options.empty()) item = &g.nodes[static_cast<size_t>(item->options[0])];
  return item->kind == NodeKind::Char ? item : nullptr;
}

ByteMatcher::ByteMatcher(std::shared_ptr<const Grammar> grammar)
    : grammar_(std::move(grammar)), state_(std::make_unique<State>(initial_state())) {}
ByteMatcher::~ByteMatcher() = default;
ByteMatcher::ByteMatcher(const ByteMatcher& o) : grammar_(o.grammar_), state_(std::make_unique<State>(*o.state_)) {}
ByteMatcher& ByteMatcher::operator=(const ByteMatcher& o) {
  grammar_ = o.grammar_;
  state_ = std::make_unique<State>(*o.state_);
  return *this;
}

bool ByteMatcher::accept(std::string_view bytes) {
  State s = *state_;
  for (char ch : bytes)
    if (!advance(*grammar_, s, static_cast<uint8_t>(ch), s)) return false;
  *state_ = std::move(s);
  return true;
}

bool ByteMatcher::can_end() const { return state_can_end(*grammar_, *state_); }

bool ByteMatcher::dead() const { return state_->stacks.empty(); }

bool ByteMatcher::must_end() const {
  if (!can_end()) return false;
  State scratch;
  for (int b = 0; b < 256; ++b)
    if (advance(*grammar_, *state_, static_cast<uint8_t>(b), scratch)) return false;
  return true;
}

}  // namespace gemma4
