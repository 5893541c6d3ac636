// GBNF grammar text (the format llama.cpp reads) -> grammar nodes. Rules are `name ::= body`;
// bodies have alternatives `|`, sequences, "literals", [classes], `.`, (groups), rule names and the
// quantifiers * + ? {m} {m,} {m,n}; `#` starts a comment. As in llama.cpp a rule ends at a newline
// unless inside parentheses or right after `::=` or `|`. Matching starts at the rule `root`.
#include <algorithm>
#include <map>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

constexpr int64_t kMaxRepeatBound = 1000;
constexpr int kMaxGroupDepth = 64;
constexpr uint32_t kMaxCodePoint = 0x10FFFF;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : t_(text) {}

  Grammar run() {
    skip_space(true);
    while (!at_end()) {
      const std::string name = read_name();
      if (name.empty()) fail("expected a rule name");
      skip_space(false);
      if (t_.substr(i_, 3) != "::=") fail("expected '::=' after rule name '" + name + "'");
      i_ += 3;
      skip_space(true);
      const int slot = rule_slot(name);
      if (defined_.count(name)) fail("rule '" + name + "' is defined twice");
      defined_[name] = line_;
      const int body = alternatives(0);
      g_.nodes[static_cast<size_t>(slot)].options = {body};
      if (!at_end() && peek() != '\n' && peek() != '\r') fail("unexpected '" + std::string(1, peek()) + "'");
      skip_space(true);
    }
    for (const auto& [name, slot] : slots_)
      if (!defined_.count(name)) throw GrammarError("grammar: rule '" + name + "' is used but not defined");
    const auto root = slots_.find("root");
    if (root == slots_.end() || !defined_.count("root")) throw GrammarError("grammar: no 'root' rule");
    g_.root = root->second;
    return std::move(g_);
  }

  const std::map<std::string, int>& slots() const { return slots_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw GrammarError("grammar line " + std::to_string(line_) + ": " + what);
  }
  bool at_end() const { return i_ >= t_.size(); }
  char peek() const { return t_[i_]; }

  // Spaces, tabs and comments; newlines too when `newlines`.
  void skip_space(bool newlines) {
    while (!at_end()) {
      const char c = peek();
      if (c == '#') {
        while (!at_end() && peek() != '\n') ++i_;
      } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        if (c == '\n') ++line_;
        ++i_;
      } else {
        break;
      }
    }
  }

  std::string read_name() {
    const size_t start = i_;
    while (!at_end() && name_char(peek())) ++i_;
    return std::string(t_.substr(start, i_ - start));
  }

  int rule_slot(const std::string& name) {
    if (const auto it = slots_.find(name); it != slots_.end()) return it->second;
    Node n;
    n.kind = NodeKind::Alt;  // filled when the rule is read; references point here meanwhile
    const int slot = add_node(g_, std::move(n));
    slots_[name] = slot;
    return slot;
  }

  int alternatives(int depth) {
    if (depth > kMaxGroupDepth) fail("groups nested more than 64 levels deep");
    std::vector<int> options = {sequence(depth)};
    while (!at_end() && peek() == '|') {
      ++i_;
      skip_space(true);
      options.push_back(sequence(depth));
    }
    if (options.size() == 1) return options[0];
    Node n;
    n.kind = NodeKind::Alt;
    n.options = std::move(options);
    return add_node(g_, std::move(n));
  }

  int sequence(int depth) {
    std::vector<int> parts;
    const bool nested = depth > 0;
    while (!at_end()) {
      const char c = peek();
      if (c == '|' || c == ')' || c == '\n' || c == '\r') break;
      int node = -1;
      if (c == '"') {
        node = literal();
      } else if (c == '[') {
        node = char_class();
      } else if (c == '.') {
        ++i_;
        node = add_char_class(g_, {{0, kMaxCodePoint}}, false);
      } else if (c == '(') {
        ++i_;
        skip_space(true);
        node = alternatives(depth + 1);
        if (at_end() || peek() != ')') fail("a '(' without ')'");
        ++i_;
      } else if (name_char(c)) {
        const size_t start = i_;
        const std::string name = read_name();
        size_t after = i_;
        while (after < t_.size() && (t_[after] == ' ' || t_[after] == '\t')) ++after;
        if (t_.substr(after, 3) == "::=") {  // the next rule begins: this one has ended
          i_ = start;
          break;
        }
        node = rule_slot(name);
      } else {
        fail("unexpected '" + std::string(1, c) + "'");
      }
      skip_space(nested);
      node = quantified(node, nested);
      parts.push_back(node);
    }
    if (parts.size() == 1) return parts[0];
    Node n;
    n.kind = NodeKind::Seq;  // an empty one matches the empty string
    n.options = std::move(parts);
    return add_node(g_, std::move(n));
  }

  int quantified(int node, bool nested) {
    while (!at_end() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) {
      int64_t min = 0, max = -1;
      const char q = t_[i_++];
      if (q == '+') min = 1;
      else if (q == '?') max = 1;
      else if (q == '{') {
        skip_space(false);
        min = number();
        max = min;
        skip_space(false);
        if (!at_end() && peek() == ',') {
          ++i_;
          skip_space(false);
          max = !at_end() && peek() == '}' ? -1 : number();
          skip_space(false);
        }
        if (at_end() || peek() != '}') fail("a '{' repetition must be {m}, {m,} or {m,n}");
        ++i_;
        if (max >= 0 && max < min) fail("a repetition's maximum is below its minimum");
      }
      Node n;
      n.kind = NodeKind::Repeat;
      n.items = node;
      n.min = min;
      n.max = max;
      node = add_node(g_, std::move(n));
      skip_space(nested);
    }
    return node;
  }

  int64_t number() {
    const size_t start = i_;
    int64_t v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + (peek() - '0');
      if (v > kMaxRepeatBound) fail("a repetition bound above 1000");
      ++i_;
    }
    if (i_ == start) fail("a '{' repetition must be {m}, {m,} or {m,n}");
    return v;
  }

  uint32_t hex(int digits) {
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      if (at_end()) fail("a malformed escape");
      const char h = peek();
      const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) fail("a malformed escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++i_;
    }
    return v;
  }

  // One character of a literal or class (an escape or a UTF-8 character).
  uint32_t next_char() {
    if (at_end()) fail("unexpected end of the grammar");
    if (peek() == '\\') {
      ++i_;
      if (at_end()) fail("a grammar ending in '\\'");
      const char e = t_[i_++];
      switch (e) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '\\': case '"': case '[': case ']': case '-': case '^': return static_cast<uint32_t>(e);
        case 'x': return hex(2);
        case 'u': return valid(hex(4));
        case 'U': return valid(hex(8));
        default: fail(std::string("the escape '\\") + e + "' is not supported");
      }
    }
    const auto c = static_cast<uint8_t>(peek());
    const int length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (length == 0 || i_ + static_cast<size_t>(length) > t_.size()) fail("the grammar is not valid UTF-8");
    uint32_t cp = length == 1 ? c : c & (0x3F >> (length - 1));
    for (int k = 1; k < length; ++k) {
      const auto b = static_cast<uint8_t>(t_[i_ + static_cast<size_t>(k)]);
      if ((b & 0xC0) != 0x80) fail("the grammar is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (c == '\n') ++line_;
    i_ += static_cast<size_t>(length);
    return valid(cp);
  }

  uint32_t valid(uint32_t cp) const {
    if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) fail("a character that is not a Unicode scalar value");
    return cp;
  }

  int literal() {
    ++i_;
    std::string bytes;
    while (true) {
      if (at_end()) fail("an unterminated string literal");
      if (peek() == '"') break;
      if (peek() == '\n') fail("a newline inside a string literal");
      append_utf8(bytes, next_char());
    }
    ++i_;
    Node n;
    if (bytes.empty()) {
      n.kind = NodeKind::Seq;  // "" matches the empty string
    } else {
      n.kind = NodeKind::Literal;
      n.text = std::move(bytes);
    }
    return add_node(g_, std::move(n));
  }

  int char_class() {
    ++i_;
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++i_;
    }
    std::vector<CodeRange> ranges;
    while (true) {
      if (at_end()) fail("a '[' without ']'");
      if (peek() == ']') break;
      const uint32_t lo = next_char();
      uint32_t hi = lo;
      if (i_ + 1 < t_.size() && peek() == '-' && t_[i_ + 1] != ']') {
        ++i_;
        hi = next_char();
        if (hi < lo) fail("a class range out of order");
      }
      ranges.push_back({lo, hi});
    }
    ++i_;
    if (negate) {
      std::sort(ranges.begin(), ranges.end(), [](CodeRange a, CodeRange b) { return a.lo < b.lo; });
      std::vector<CodeRange> out;
      uint32_t next = 0;
      for (const CodeRange& r : ranges) {
        if (r.lo > next) out.push_back({next, r.lo - 1});
        next = std::max(next, r.hi + 1);
      }
      if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
      ranges = std::move(out);
    }
    try {
      return add_char_class(g_, std::move(ranges), false);
    } catch (const GrammarError& e) {
      fail(e.what());
    }
  }

  std::string_view t_;
  size_t i_ = 0;
  int line_ = 1;
  Grammar g_;
  std::map<std::string, int> slots_;
  std::map<std::string, int> defined_;
};

// Edges to the nodes that can match at the same position (before anything is consumed).
void left_children(const Grammar& g, int node, std::vector<int>& out) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  if (n.kind == NodeKind::Alt) {
    out.insert(out.end(), n.options.begin(), n.options.end());
  } else if (n.kind == NodeKind::Seq) {
    for (int child : n.options) {
      out.push_back(child);
      if (!g.nullable[static_cast<size_t>(child)]) break;
    }
  } else if (n.kind == NodeKind::Repeat) {
    out.push_back(n.items);
  }
}

// A rule that can reach itself without consuming a byte is left-recursive: it cannot be matched
// by a pushdown stack without unbounded growth, so it is refused rather than cut short.
void reject_left_recursion(const Grammar& g, const std::map<std::string, int>& slots) {
  std::vector<uint8_t> color(g.nodes.size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<int, size_t>> stack;
  std::vector<int> kids;
  std::map<int, std::string> names;
  for (const auto& [name, slot] : slots) names[slot] = name;
  for (size_t start = 0; start < g.nodes.size(); ++start) {
    if (color[start]) continue;
    std::vector<int> path = {static_cast<int>(start)};
    std::vector<std::vector<int>> pending;
    color[start] = 1;
    kids.clear();
    left_children(g, static_cast<int>(start), kids);
    pending.push_back(kids);
    while (!path.empty()) {
      if (pending.back().empty()) {
        color[static_cast<size_t>(path.back())] = 2;
        path.pop_back();
        pending.pop_back();
        continue;
      }
      const int next = pending.back().back();
      pending.back().pop_back();
      if (color[static_cast<size_t>(next)] == 1) {
        std::string rule = "?";
        for (auto it = path.rbegin(); it != path.rend(); ++it)
          if (names.count(*it)) { rule = names[*it]; break; }
        throw GrammarError("grammar: rule '" + rule + "' is left-recursive (rewrite it with repetition, e.g. x ::= y (\",\" y)*)");
      }
      if (color[static_cast<size_t>(next)] == 2) continue;
      color[static_cast<size_t>(next)] = 1;
      path.push_back(next);
      kids.clear();
      left_children(g, next, kids);
      pending.push_back(kids);
    }
  }
}

}  // namespace

std::shared_ptr<const Grammar> compile_gbnf(std::string_view text) {
  GbnfParser parser(text);
  Grammar g = parser.run();
  finish_grammar(g);
  reject_left_recursion(g, parser.slots());
  return std::make_shared<const Grammar>(std::move(g));
}

}  // namespace gemma4
