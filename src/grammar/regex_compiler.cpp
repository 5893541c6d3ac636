// Regular expressions -> grammar nodes (Seq, Alt, Repeat, Char, Literal), for JSON Schema's
// `pattern`, the string formats and numeric ranges. The subset is ECMAScript's syntax without
// what a pushdown grammar over one pass cannot express (backreferences, lookaround, word
// boundaries); the whole text must match (anchors implied), which only narrows what a search
// match would allow.
#include <algorithm>
#include <cctype>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr int64_t kMaxRepeatBound = 1000;
constexpr int kMaxRegexDepth = 64;

std::vector<CodeRange> complement(std::vector<CodeRange> in) {
  std::sort(in.begin(), in.end(), [](CodeRange a, CodeRange b) { return a.lo < b.lo; });
  std::vector<CodeRange> out;
  uint32_t next = 0;
  for (const CodeRange& r : in) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = std::max(next, r.hi + 1);
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return out;
}

const std::vector<CodeRange>& space_class() {  // ECMAScript \s: WhiteSpace and LineTerminator
  static const std::vector<CodeRange> k = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680},
                                           {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
                                           {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  return k;
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

// A character that can be written as itself: inside a JSON string, not '"', '\\' or a control.
bool plain_in(uint32_t cp, bool json_string) {
  return !json_string || (cp >= 0x20 && cp != '"' && cp != '\\');
}

class RegexParser {
 public:
  RegexParser(Grammar& g, std::string_view p, bool json) : g_(g), p_(p), json_(json) {}

  int run() {
    const int node = alternation(0);
    if (i_ < p_.size()) fail("unbalanced ')'");
    return node;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw GrammarError("pattern \"" + std::string(p_) + "\": " + what + " (at offset " + std::to_string(i_) + ")");
  }
  bool at_end() const { return i_ >= p_.size(); }
  char peek() const { return p_[i_]; }

  int seq_node(std::vector<int> parts) {
    if (parts.size() == 1) return parts[0];
    Node n;
    n.kind = NodeKind::Seq;
    n.options = std::move(parts);
    return add_node(g_, std::move(n));
  }

  int alternation(int depth) {
    if (depth > kMaxRegexDepth) fail("groups nested more than 64 levels deep");
    std::vector<int> options = {sequence(depth)};
    while (!at_end() && peek() == '|') {
      ++i_;
      options.push_back(sequence(depth));
    }
    if (options.size() == 1) return options[0];
    Node n;
    n.kind = NodeKind::Alt;
    n.options = std::move(options);
    return add_node(g_, std::move(n));
  }

  // Atoms in a row; consecutive plain characters without a quantifier become one Literal.
  int sequence(int depth) {
    std::vector<int> parts;
    std::string run;
    auto flush = [&] {
      if (run.empty()) return;
      Node n;
      n.kind = NodeKind::Literal;
      n.text = std::move(run);
      run.clear();
      parts.push_back(add_node(g_, std::move(n)));
    };
    if (depth == 0 && !at_end() && peek() == '^') ++i_;  // anchors are implied
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (depth == 0 && peek() == '$' && (i_ + 1 == p_.size() || p_[i_ + 1] == '|')) {
        ++i_;
        break;
      }
      Atom a = atom(depth);
      const bool quantified = !at_end() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{');
      if (a.node < 0 && !quantified && a.ranges.size() == 1 && a.ranges[0].lo == a.ranges[0].hi &&
          plain_in(a.ranges[0].lo, json_)) {
        append_utf8(run, a.ranges[0].lo);
        continue;
      }
      flush();
      int node = a.node >= 0 ? a.node : add_char_class(g_, std::move(a.ranges), json_);
      if (quantified) node = quantifier(node);
      parts.push_back(node);
    }
    flush();
    return seq_node(std::move(parts));
  }

  int quantifier(int node) {
    int64_t min = 0, max = -1;
    const char q = p_[i_++];
    if (q == '+') min = 1;
    else if (q == '?') max = 1;
    else if (q == '{') {
      min = number();
      max = min;
      if (!at_end() && peek() == ',') {
        ++i_;
        max = !at_end() && peek() == '}' ? -1 : number();
      }
      if (at_end() || peek() != '}') fail("a '{' quantifier must be {n}, {n,} or {n,m}");
      ++i_;
      if (max >= 0 && max < min) fail("a quantifier's maximum is below its minimum");
    }
    if (!at_end() && peek() == '?') ++i_;  // lazy: the same language
    if (!at_end() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) fail("a quantifier follows a quantifier");
    if (min == 1 && max == 1) return node;
    Node n;
    n.kind = NodeKind::Repeat;
    n.items = node;
    n.min = min;
    n.max = max;
    return add_node(g_, std::move(n));
  }

  int64_t number() {
    int64_t v = 0;
    const size_t start = i_;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + (peek() - '0');
      if (v > kMaxRepeatBound) fail("a quantifier bound above 1000");
      ++i_;
    }
    if (i_ == start) fail("a '{' quantifier must be {n}, {n,} or {n,m}");
    return v;
  }

  struct Atom {
    int node = -1;                  // a group
    std::vector<CodeRange> ranges;  // or one character of these
  };

  Atom atom(int depth) {
    const char c = peek();
    Atom a;
    switch (c) {
      case '(': {
        ++i_;
        if (!at_end() && peek() == '?') {
          if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
            i_ += 2;
          } else if (i_ + 1 < p_.size() && p_[i_ + 1] == '<' && i_ + 2 < p_.size() && p_[i_ + 2] != '=' && p_[i_ + 2] != '!') {
            const size_t close = p_.find('>', i_);
            if (close == std::string_view::npos) fail("an unterminated group name");
            i_ = close + 1;
          } else {
            fail("lookaround and other '(?' groups are not supported");
          }
        }
        a.node = alternation(depth + 1);
        if (at_end() || peek() != ')') fail("a '(' without ')'");
        ++i_;
        return a;
      }
      case '[':
        ++i_;
        a.ranges = bracket();
        return a;
      case '.':
        ++i_;
        a.ranges = complement({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}});
        return a;
      case '\\':
        ++i_;
        a.ranges = escape(false);
        return a;
      case '*': case '+': case '?': case '{':
        fail("a quantifier with nothing to repeat");
      case '^': case '$':
        fail("anchors are supported only at the start and end of the pattern");
      default:
        a.ranges = {{next_char(), 0}};
        a.ranges[0].hi = a.ranges[0].lo;
        return a;
    }
  }

  // One UTF-8 character of the pattern itself.
  uint32_t next_char() {
    const auto c = static_cast<uint8_t>(p_[i_]);
    int length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (length == 0 || i_ + static_cast<size_t>(length) > p_.size()) fail("the pattern is not valid UTF-8");
    uint32_t cp = length == 1 ? c : c & (0x3F >> (length - 1));
    for (int k = 1; k < length; ++k) {
      const auto b = static_cast<uint8_t>(p_[i_ + static_cast<size_t>(k)]);
      if ((b & 0xC0) != 0x80) fail("the pattern is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    i_ += static_cast<size_t>(length);
    if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) fail("the pattern is not valid UTF-8");
    return cp;
  }

  uint32_t hex_digits(int count) {
    uint32_t v = 0;
    for (int k = 0; k < count; ++k) {
      if (at_end() || !std::isxdigit(static_cast<unsigned char>(peek()))) fail("a malformed hex escape");
      const char h = peek();
      v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
      ++i_;
    }
    return v;
  }

  // After '\\': a class escape or one escaped character.
  std::vector<CodeRange> escape(bool in_class) {
    if (at_end()) fail("a pattern ending in '\\'");
    const char c = p_[i_++];
    static const std::vector<CodeRange> digits = {{'0', '9'}};
    static const std::vector<CodeRange> word = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    auto one = [](uint32_t cp) { return std::vector<CodeRange>{{cp, cp}}; };
    switch (c) {
      case 'd': return digits;
      case 'D': return complement(digits);
      case 'w': return word;
      case 'W': return complement(word);
      case 's': return space_class();
      case 'S': return complement(space_class());
      case 'n': return one('\n');
      case 't': return one('\t');
      case 'r': return one('\r');
      case 'f': return one('\f');
      case 'v': return one('\v');
      case '0': return one(0);
      case 'x': return one(hex_digits(2));
      case 'u': {
        const uint32_t cp = hex_digits(4);
        if (cp >= 0xD800 && cp <= 0xDFFF) fail("surrogate escapes are not supported");
        return one(cp);
      }
      case 'b':
        if (in_class) return one('\b');
        fail("word boundaries (\\b) are not supported");
      default:
        if ((c >= '1' && c <= '9') || c == 'k') fail("backreferences are not supported");
        if (c == 'p' || c == 'P') fail("Unicode property escapes are not supported");
        if (std::isalnum(static_cast<unsigned char>(c))) fail(std::string("the escape '\\") + c + "' is not supported");
        --i_;
        return one(next_char());
    }
  }

  // After '[': ranges up to ']' (a leading '^' negates).
  std::vector<CodeRange> bracket() {
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++i_;
    }
    std::vector<CodeRange> ranges;
    bool first = true;
    while (true) {
      if (at_end()) fail("a '[' without ']'");
      if (peek() == ']' && !first) break;
      first = false;
      std::vector<CodeRange> lo = class_item();
      if (lo.size() == 1 && lo[0].lo == lo[0].hi && i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        std::vector<CodeRange> hi = class_item();
        if (hi.size() != 1 || hi[0].lo != hi[0].hi) fail("a class range must be between two characters");
        if (hi[0].lo < lo[0].lo) fail("a class range out of order");
        ranges.push_back({lo[0].lo, hi[0].lo});
      } else {
        ranges.insert(ranges.end(), lo.begin(), lo.end());
      }
    }
    ++i_;
    return negate ? complement(std::move(ranges)) : ranges;
  }

  std::vector<CodeRange> class_item() {
    if (peek() == '\\') {
      ++i_;
      return escape(true);
    }
    const uint32_t cp = next_char();
    return {{cp, cp}};
  }

  Grammar& g_;
  std::string_view p_;
  bool json_;
  size_t i_ = 0;
};

}  // namespace

int add_char_class(Grammar& g, std::vector<CodeRange> ranges, bool json_string) {
  std::sort(ranges.begin(), ranges.end(), [](CodeRange a, CodeRange b) { return a.lo < b.lo; });
  std::vector<CodeRange> merged;
  auto keep = [&](uint32_t lo, uint32_t hi) {
    if (lo > hi) return;
    if (!merged.empty() && lo <= merged.back().hi + 1) merged.back().hi = std::max(merged.back().hi, hi);
    else merged.push_back({lo, hi});
  };
  for (const CodeRange& r : ranges) {
    const uint32_t hi = std::min(r.hi, kMaxCodePoint);
    if (r.lo <= 0xDFFF && hi >= 0xD800) {  // surrogates are not characters
      if (r.lo < 0xD800) keep(r.lo, 0xD7FF);
      if (hi > 0xDFFF) keep(0xE000, hi);
    } else {
      keep(r.lo, hi);
    }
  }
  if (merged.empty()) throw GrammarError("a character class that matches no character");
  Node n;
  n.kind = NodeKind::Char;
  n.ranges = std::move(merged);
  n.json_escaped = json_string;
  return add_node(g, std::move(n));
}

int compile_regex(Grammar& g, std::string_view pattern, bool json_string) {
  return RegexParser(g, pattern, json_string).run();
}

}  // namespace gemma4
