// JSON Schema -> grammar nodes. Every keyword is either honoured, an annotation (ignored because
// it constrains nothing), or a GrammarError naming it: a schema is never silently weakened.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

using nlohmann::json;

Node make_node(NodeKind kind) {
  Node n;
  n.kind = kind;
  return n;
}

constexpr int kMaxSchemaDepth = 64;
constexpr int kMaxAllOfDepth = 16;
constexpr int kMaxCompiledSubschemas = 50000;

// The keywords the compiler turns into grammar.
const std::set<std::string>& implemented_keywords() {
  static const std::set<std::string> k = {
      "type", "enum", "const", "anyOf", "allOf", "$ref", "properties", "required", "additionalProperties", "items",
      "minItems", "maxItems", "minLength", "maxLength", "oneOf", "pattern", "format", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "multipleOf"};
  return k;
}

// Keywords JSON Schema defines (drafts 3 to 2020-12) that constrain values but are not
// implemented: errors, since an answer could break them.
const std::set<std::string>& unimplemented_keywords() {
  static const std::set<std::string> k = {
      "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies", "patternProperties",
      "propertyNames", "minProperties", "maxProperties", "uniqueItems", "prefixItems", "additionalItems", "contains",
      "minContains", "maxContains", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
      "extends", "disallow", "divisibleBy"};
  return k;
}

// Everything else constrains nothing: JSON Schema's annotations (title, description, default,
// examples, $id, readOnly, ...) and keywords it does not define, which the specification says to
// ignore (real schemas carry many: OpenAPI's `example` and `nullable`, Snowplow's `self`, editors'
// `markdownDescription`, typos). `$defs`/`definitions` hold schemas only `$ref` reaches.
bool is_annotation(const std::string& key) {
  return !implemented_keywords().count(key) && !unimplemented_keywords().count(key) && key != "$defs" &&
         key != "definitions";
}

// Values are written as JSON, or (dsl) in Gemma 4's tool-call syntax: bare keys, strings between
// <|"|> tokens, otherwise as JSON.
class SchemaCompiler {
 public:
  explicit SchemaCompiler(const json& root, bool dsl = false) : root_(root), dsl_(dsl) {}

  int compile_root(const json& s, const std::string& path) { return compile(s, path, 0); }

  Grammar run() {
    g_.root = compile(root_, "#", 0);
    return std::move(g_);
  }

  int any_value() {
    if (any_ >= 0) return any_;
    any_ = add(make_node(NodeKind::Alt));
    Node object = make_node(NodeKind::Object);
    object.free_key = free_key();
    object.free_value = any_;
    Node array = make_node(NodeKind::Array);
    array.items = any_;
    std::vector<int> options = {add(std::move(object)), add(std::move(array)), string_node(0, -1),
                                number_node(false), literal("true"), literal("false"), literal("null")};
    g_.nodes[static_cast<size_t>(any_)].options = std::move(options);
    return any_;
  }

  int any_object() {
    Node object = make_node(NodeKind::Object);
    object.free_key = free_key();
    object.free_value = any_value();
    return add(std::move(object));
  }

  // Continues an existing grammar (several schemas in one grammar: one per tool).
  void adopt(Grammar g) { g_ = std::move(g); }

  Grammar take(int root) {
    g_.root = root;
    return std::move(g_);
  }

 private:
  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw GrammarError("schema at " + path + ": " + what);
  }

  int add(Node n) { return add_node(g_, std::move(n)); }
  int literal(std::string text) {
    Node n = make_node(NodeKind::Literal);
    n.text = std::move(text);
    return add(std::move(n));
  }
  int string_node(int64_t min, int64_t max) {
    if (dsl_) return dsl_string(min, max);
    Node n = make_node(NodeKind::String);
    n.min = min;
    n.max = max;
    return add(std::move(n));
  }
  // A tool-call string: the text between two <|"|> tokens never contains "<|" as characters, so
  // the output parser cannot see a quote token in it; with a length bound it holds no '<' at all.
  int dsl_string(int64_t min, int64_t max) {
    int body = -1;
    if (min == 0 && max < 0) {
      body = compile_regex(g_, "(?:[^<]|<+[^<|])*<*", false);
    } else {
      Node n = make_node(NodeKind::Repeat);
      n.items = compile_regex(g_, "[^<]", false);
      n.min = min;
      n.max = max;
      body = add(std::move(n));
    }
    Node seq = make_node(NodeKind::Seq);
    seq.options = {literal(dsl_quote()), body, literal(dsl_quote())};
    return add(std::move(seq));
  }

  static const std::string& dsl_quote() {
    static const std::string q = special_token_bytes("<|\"|>");
    return q;
  }

  // Keys the tool-call reader takes bare: no ':' ',' '}', no surrounding space, not starting with
  // a quote; others are quoted with <|"|>.
  static std::string dsl_key(const std::string& key) {
    const bool bare = !key.empty() && key.find_first_of(":,}{[]<") == std::string::npos && key.front() != '"' &&
                      key.front() != ' ' && key.back() != ' ';
    return bare ? key : dsl_quote() + key + dsl_quote();
  }

  std::string value_text(const json& v) const {
    if (!dsl_) return v.dump();
    if (v.is_string()) return dsl_quote() + v.get<std::string>() + dsl_quote();
    if (v.is_array()) {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += value_text(v[i]);
      }
      return out + "]";
    }
    if (v.is_object()) {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, member] : v.items()) {
        if (!first) out += ',';
        out += dsl_key(key);
        out += ':';
        out += value_text(member);
        first = false;
      }
      return out + "}";
    }
    return v.dump();
  }

  int key_literal(const std::string& key) { return literal(dsl_ ? dsl_key(key) : json(key).dump()); }
  int free_key() { return dsl_ ? compile_regex(g_, "[A-Za-z0-9_]{1,64}", false) : string_node(0, -1); }

  int number_node(bool integer) {
    Node n = make_node(NodeKind::Number);
    n.integer = integer;
    return add(std::move(n));
  }
  int alt(std::vector<int> options) {
    Node n = make_node(NodeKind::Alt);
    n.options = std::move(options);
    return add(std::move(n));
  }

  static int64_t count_keyword(const json& s, const char* key, const std::string& path) {
    const json& v = s.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000)
      fail(path, std::string("'") + key + "' must be an integer from 0 to 100000");
    return v.get<int64_t>();
  }

  int compile(const json& s, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth) fail(path, "nested more than 64 levels deep");
    // Merging combinator siblings into branches may compile a subschema many times: bounded, and
    // never taken for a branch to leave out (see any_of).
    if (++compiled_ > kMaxCompiledSubschemas) {
      exhausted_ = true;
      fail(path, "the schema is too complex (more than " + std::to_string(kMaxCompiledSubschemas) + " subschemas to compile)");
    }
    if (s.is_boolean()) {
      if (s.get<bool>()) return any_value();
      fail(path, "the schema 'false' matches nothing");
    }
    if (!s.is_object()) fail(path, "a schema must be an object or a boolean");
    check_keywords(s, path);
    if (s.contains("$ref")) return reference(s, path, depth);
    if (s.contains("const")) return literal(value_text(s["const"]));
    if (s.contains("enum")) return enumeration(s, path);
    if (s.contains("anyOf")) return any_of(s, "anyOf", path, depth);
    if (s.contains("oneOf")) return any_of(s, "oneOf", path, depth);  // as anyOf: see docs/grammar.md
    if (s.contains("allOf")) return all_of(s, path, depth);
    if (!s.contains("type")) {
      if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties"))
        return typed(s, "object", path, depth);
      if (s.contains("items")) return typed(s, "array", path, depth);
      return any_value();  // {} or only annotations: any value
    }
    const json& type = s["type"];
    if (type.is_string()) return typed(s, type.get<std::string>(), path, depth);
    if (!type.is_array() || type.empty()) fail(path, "'type' must be a string or a non-empty array of strings");
    std::vector<int> options;
    for (const json& t : type) {
      if (!t.is_string()) fail(path, "'type' must be a string or a non-empty array of strings");
      options.push_back(typed(s, t.get<std::string>(), path, depth));
    }
    return options.size() == 1 ? options[0] : alt(std::move(options));
  }

  // Keywords JSON Schema defines (drafts 3 to 2020-12) that constrain values but are not
  // implemented are errors: an answer could break them. Keywords it does not define are
  // annotations, ignored as the specification says (real schemas carry many: OpenAPI's
  // `example` and `nullable`, Snowplow's `self`, editors' `markdownDescription`, typos).
  void check_keywords(const json& s, const std::string& path) {
    for (const auto& [key, value] : s.items())
      if (unimplemented_keywords().count(key))
        fail(path, "the keyword '" + key + "' is not supported (see docs/grammar.md for the supported subset)");
  }

  int reference(const json& s, const std::string& path, int depth) {
    if (!s["$ref"].is_string()) fail(path, "'$ref' must be a string");
    if (s.size() > 1) {
      for (const auto& [key, value] : s.items())
        if (key != "$ref" && key != "$defs" && key != "definitions" && !is_annotation(key)) fail(path, "'$ref' with sibling keyword '" + key + "' is not supported");
    }
    const std::string ref = s["$ref"];
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    if (ref.rfind("#", 0) != 0) fail(path, "only local references ('#/...') are supported, not '" + ref + "'");
    const json* target = &root_;
    try {
      target = &root_.at(json::json_pointer(ref.substr(1)));
    } catch (const std::exception&) {
      fail(path, "'$ref' \"" + ref + "\" does not resolve within the schema");
    }
    const int slot = alt({});  // filled below; recursion refers to it meanwhile
    refs_[ref] = slot;
    const int body = compile(*target, ref, depth + 1);
    g_.nodes[static_cast<size_t>(slot)].options = {body};
    return slot;
  }

  int enumeration(const json& s, const std::string& path) {
    const json& values = s["enum"];
    if (!values.is_array() || values.empty()) fail(path, "'enum' must be a non-empty array");
    std::vector<int> options;
    for (const json& v : values) options.push_back(literal(value_text(v)));
    return options.size() == 1 ? options[0] : alt(std::move(options));
  }

  int any_of(const json& s, const char* key, const std::string& path, int depth) {
    const json& list = s[key];
    if (!list.is_array() || list.empty()) fail(path, std::string("'") + key + "' must be a non-empty array");
    json siblings = json::object();
    for (const auto& [k, v] : s.items())
      if (k != key && k != "$defs" && k != "definitions" && !is_annotation(k)) siblings[k] = v;
    std::vector<int> options;
    if (siblings.empty()) {
      for (size_t i = 0; i < list.size(); ++i)
        options.push_back(compile(list[i], path + "/" + key + "/" + std::to_string(i), depth + 1));
      return alt(std::move(options));
    }
    // {A, anyOf: [B, C]} is anyOf [A and B, A and C]: each branch merged with the siblings as
    // allOf merges. A branch that does not merge (its type contradicts the siblings', say) is left
    // out; the answer still satisfies the schema. When none merges, the first branch's error.
    std::optional<GrammarError> first_error;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = path + "/" + key + "/" + std::to_string(i);
      try {
        options.push_back(all_of(json{{"allOf", json::array({siblings, list[i]})}}, at, depth + 1));
      } catch (const GrammarError& e) {
        if (exhausted_ || g_.nodes.size() >= kMaxGrammarNodes) throw;  // a limit, not a contradiction
        if (!first_error) first_error = e;
      }
    }
    if (options.empty()) throw *first_error;
    return options.size() == 1 ? options[0] : alt(std::move(options));
  }

  // allOf with a single subschema is that subschema. Several are merged into one schema (with the
  // siblings of allOf): properties and required are united, and any other keyword must be absent
  // from all but one subschema or equal in all; anything else is an error, never a weaker schema.
  int all_of(const json& s, const std::string& path, int depth) {
    const json& list = s["allOf"];
    if (!list.is_array() || list.empty()) fail(path, "'allOf' must be a non-empty array");
    if (list.size() == 1) return any_of(s, "allOf", path, depth);
    json merged = json::object();
    std::vector<const json*> closed;  // subschemas whose additionalProperties limits the properties
    merge_into(merged, s, path, closed, 0);
    const json& props = merged.contains("properties") ? merged["properties"] : json::object();
    for (const json* sub : closed) {
      const json& own = sub->contains("properties") ? (*sub)["properties"] : json::object();
      for (const auto& [key, value] : props.items())
        if (!own.contains(key))
          fail(path, "'allOf': property \"" + key + "\" is defined by one subschema and excluded by another's 'additionalProperties'");
    }
    return compile(merged, path, depth + 1);
  }

  // A subschema that is only a $ref (and annotations) is its target.
  const json& resolve(const json& s, const std::string& path) const {
    const json* at = &s;
    for (int hops = 0; hops < kMaxAllOfDepth && at->is_object() && at->contains("$ref"); ++hops) {
      for (const auto& [key, value] : at->items())
        if (key != "$ref" && !is_annotation(key)) fail(path, "'allOf' with a '$ref' that has sibling keywords is not supported");
      const json& ref = (*at)["$ref"];
      if (!ref.is_string() || ref.get<std::string>().rfind("#", 0) != 0) fail(path, "only local references ('#/...') are supported");
      try {
        at = &root_.at(json::json_pointer(ref.get<std::string>().substr(1)));
      } catch (const std::exception&) {
        fail(path, "'$ref' \"" + ref.get<std::string>() + "\" does not resolve within the schema");
      }
    }
    return *at;
  }

  void merge_into(json& merged, const json& s, const std::string& path, std::vector<const json*>& closed, int level) {
    if (level > kMaxAllOfDepth) fail(path, "'allOf' nested more than 16 levels deep");
    if (s.is_boolean()) {
      if (s.get<bool>()) return;
      fail(path, "the schema 'false' matches nothing");
    }
    if (!s.is_object()) fail(path, "a schema must be an object or a boolean");
    if (s.contains("additionalProperties") && s["additionalProperties"] != json(true)) closed.push_back(&s);
    for (const auto& [key, value] : s.items()) {
      if (is_annotation(key) || key == "$defs" || key == "definitions") continue;
      if (key == "allOf") {
        if (!value.is_array()) fail(path, "'allOf' must be a non-empty array");
        for (size_t i = 0; i < value.size(); ++i)
          merge_into(merged, resolve(value[i], path), path + "/allOf/" + std::to_string(i), closed, level + 1);
      } else if (key == "properties" && value.is_object()) {
        json& into = merged["properties"];
        if (into.is_null()) into = json::object();
        for (const auto& [name, schema] : value.items()) {
          if (into.contains(name) && into[name] != schema)
            fail(path, "'allOf': property \"" + name + "\" is defined differently in two subschemas (merging them is not supported)");
          into[name] = schema;
        }
      } else if (key == "required" && value.is_array()) {
        json& into = merged["required"];
        if (into.is_null()) into = json::array();
        for (const json& r : value)
          if (std::find(into.begin(), into.end(), r) == into.end()) into.push_back(r);
      } else if (key == "additionalProperties" && merged.contains(key) && merged[key] != value) {
        merged[key] = false;  // every closed subschema is checked against the merged properties
      } else {
        if (merged.contains(key) && merged[key] != value)
          fail(path, "'allOf': the keyword '" + key + "' differs between subschemas (merging them is not supported)");
        merged[key] = value;
      }
    }
  }

  int typed(const json& s, const std::string& type, const std::string& path, int depth) {
    if (type == "string") {
      if (s.contains("pattern") || s.contains("format")) return patterned_string(s, path);
      const int64_t min = s.contains("minLength") ? count_keyword(s, "minLength", path) : 0;
      const int64_t max = s.contains("maxLength") ? count_keyword(s, "maxLength", path) : -1;
      if (max >= 0 && max < min) fail(path, "'maxLength' is below 'minLength'");
      return string_node(min, max);
    }
    if (type == "number" || type == "integer") return bounded_number(s, type == "integer", path);
    if (type == "boolean") return alt({literal("true"), literal("false")});
    if (type == "null") return literal("null");
    if (type == "object") return object(s, path, depth);
    if (type == "array") return array(s, path, depth);
    fail(path, "unknown type \"" + type + "\"");
  }

  // Properties come in schema order (as OpenAI's strict mode writes them); optional ones may be
  // left out. Properties not listed are never generated, which every additionalProperties allows;
  // with no 'properties' and additionalProperties a schema (or true), keys are free strings.
  int object(const json& s, const std::string& path, int depth) {
    Node n = make_node(NodeKind::Object);
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) fail(path, "'required' must be an array of strings");
      for (const json& r : s["required"]) {
        if (!r.is_string()) fail(path, "'required' must be an array of strings");
        required.insert(r.get<std::string>());
      }
    }
    const json* props = s.contains("properties") ? &s["properties"] : nullptr;
    if (props && !props->is_object()) fail(path, "'properties' must be an object");
    std::set<std::string> listed;
    if (props) {
      for (const auto& [key, value] : props->items()) {
        listed.insert(key);
        n.props.push_back(Property{key_literal(key), compile(value, path + "/properties/" + key, depth + 1),
                                   required.count(key) > 0});
      }
    }
    const json additional = s.value("additionalProperties", json(props ? false : true));
    required_unlisted(s, listed, path, depth, n);
    if (n.props.empty()) {
      if (additional.is_boolean() && !additional.get<bool>()) return add(std::move(n));  // only {}
      n.props.clear();
      n.free_key = free_key();
      n.free_value = compile(additional, path + "/additionalProperties", depth + 1);
    } else if (!additional.is_boolean() && !additional.is_object()) {
      fail(path, "'additionalProperties' must be a boolean or a schema");
    }
    return add(std::move(n));
  }

  // Required names that 'properties' does not list follow the listed ones, in the order of
  // 'required', each with the additionalProperties schema (any value when there is none); with
  // additionalProperties false no object can have them.
  void required_unlisted(const json& s, const std::set<std::string>& listed, const std::string& path, int depth,
                         Node& n) {
    if (!s.contains("required")) return;
    const json additional = s.value("additionalProperties", json(true));
    std::set<std::string> added;
    for (const json& r : s["required"]) {
      const std::string name = r.get<std::string>();
      if (listed.count(name) || !added.insert(name).second) continue;
      if (additional.is_boolean() && !additional.get<bool>())
        fail(path, "required property \"" + name + "\" is not in 'properties', and additionalProperties is false: no object can have it");
      n.props.push_back(Property{key_literal(name), compile(additional, path + "/additionalProperties", depth + 1), true});
    }
  }

  // A string whose characters follow a regular expression: '"', the expression with JSON escapes,
  // '"'. A format is its regular expression (string_formats.cpp).
  int patterned_string(const json& s, const std::string& path) {
    for (const char* k : {"minLength", "maxLength"})
      if (s.contains(k)) fail(path, std::string("'") + k + "' together with 'pattern' or 'format' is not supported");
    if (s.contains("pattern") && s.contains("format")) fail(path, "'pattern' together with 'format' is not supported");
    std::string regex;
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) fail(path, "'pattern' must be a string");
      regex = s["pattern"].get<std::string>();
    } else {
      if (!s["format"].is_string()) fail(path, "'format' must be a string");
      regex = format_regex(s["format"].get<std::string>());
      if (regex.empty()) fail(path, "the format \"" + s["format"].get<std::string>() + "\" is not supported (see docs/grammar.md)");
    }
    int body = -1;
    try {
      body = compile_regex(g_, regex, !dsl_);
    } catch (const GrammarError& e) {
      fail(path, e.what());
    }
    Node n = make_node(NodeKind::Seq);
    const std::string quote = dsl_ ? dsl_quote() : "\"";
    n.options = {literal(quote), body, literal(quote)};
    return add(std::move(n));
  }

  // A bound keyword as a whole number; for integers a fractional bound is rounded inwards.
  static std::optional<NumberBound> bound(const json& s, const char* key, const char* exclusive_key, bool lower,
                                          bool integer, const std::string& path) {
    std::optional<double> value;
    bool exclusive = false;
    if (s.contains(key)) {
      if (!s[key].is_number()) fail(path, std::string("'") + key + "' must be a number");
      value = s[key].get<double>();
    }
    if (s.contains(exclusive_key)) {
      const json& e = s[exclusive_key];
      if (e.is_boolean()) {  // draft 4: a flag on minimum/maximum
        if (e.get<bool>() && !value) fail(path, std::string("'") + exclusive_key + "': true needs '" + key + "'");
        exclusive = e.get<bool>();
      } else if (e.is_number()) {
        const double v = e.get<double>();
        if (!value || (lower ? v >= *value : v <= *value)) {
          value = v;
          exclusive = true;
        }
      } else {
        fail(path, std::string("'") + exclusive_key + "' must be a number");
      }
    }
    if (!value) return std::nullopt;
    const double limit = static_cast<double>(kMaxGrammarInteger);
    double v = std::clamp(*value, -limit, limit);
    if (v != std::floor(v)) {
      if (!integer) fail(path, std::string("'") + (exclusive ? exclusive_key : key) + "' must be a whole number for type 'number' (fractional bounds are not supported)");
      v = lower ? std::ceil(v) : std::floor(v);
      exclusive = false;
    }
    NumberBound b{true, static_cast<int64_t>(v), exclusive};
    if (integer && b.exclusive) {
      b.value += lower ? 1 : -1;
      b.exclusive = false;
    }
    return b;
  }

  // Numbers without bounds are the Number node; bounded ones a regular expression over digits.
  int bounded_number(const json& s, bool integer, const std::string& path) {
    const auto lo = bound(s, "minimum", "exclusiveMinimum", true, integer, path);
    const auto hi = bound(s, "maximum", "exclusiveMaximum", false, integer, path);
    if (s.contains("multipleOf")) return multiple_of(s["multipleOf"], integer, lo, hi, path);
    if (!lo && !hi) return number_node(integer);
    std::string regex;
    if (integer) regex = integer_range_regex(lo ? lo->value : -kMaxGrammarInteger, hi ? hi->value : kMaxGrammarInteger);
    else regex = number_range_regex(lo.value_or(NumberBound{}), hi.value_or(NumberBound{}));
    if (regex.empty()) fail(path, std::string("no ") + (integer ? "integer" : "number") + " lies within the bounds");
    return compile_regex(g_, regex, false);
  }

  // multipleOf 10^-d (0.1, 0.01, ...) keeps a number to d digits after the point, which is exact:
  // such a number is a multiple. A whole k is its multiples in the bounds: listed when there are
  // at most kMaxListedMultiples, else written digit by digit when k is a power of ten.
  static constexpr int64_t kMaxListedMultiples = 1024;

  static int decimal_places(double k) {
    for (int d = 0; d <= 15; ++d) {
      const double p = std::pow(10.0, -d);
      if (std::abs(k - p) <= 1e-12 * p) return d;
    }
    return -1;
  }

  int multiple_of(const json& m, bool integer, const std::optional<NumberBound>& lo,
                  const std::optional<NumberBound>& hi, const std::string& path) {
    if (!m.is_number() || !(m.get<double>() > 0)) fail(path, "'multipleOf' must be a number above 0");
    const double k = m.get<double>();
    const int places = decimal_places(k);
    if (places >= 0 && integer) return bounded_integer(lo, hi, path);  // every integer is a multiple
    if (places >= 0) {
      const std::string regex = number_range_regex(lo.value_or(NumberBound{}), hi.value_or(NumberBound{}), places);
      if (regex.empty()) fail(path, "no number lies within the bounds");
      return compile_regex(g_, regex, false);
    }
    if (k != std::floor(k) || k > static_cast<double>(kMaxGrammarInteger))
      fail(path, "'multipleOf' must be a whole number or a power of ten such as 0.01, not " + m.dump());
    const auto step = static_cast<int64_t>(k);
    const int64_t from = lo ? lo->value + (lo->exclusive ? 1 : 0) : -kMaxGrammarInteger;
    const int64_t to = hi ? hi->value - (hi->exclusive ? 1 : 0) : kMaxGrammarInteger;
    const int64_t first = -floor_div(-from, step), last = floor_div(to, step);
    if (first > last) fail(path, "no multiple of " + m.dump() + " lies within the bounds");
    if (last - first < kMaxListedMultiples) {
      std::vector<int> options;
      for (int64_t j = first; j <= last; ++j) options.push_back(literal(std::to_string(j * step)));
      return options.size() == 1 ? options[0] : alt(std::move(options));
    }
    int zeros = 0;
    for (int64_t p = step; p % 10 == 0; p /= 10) ++zeros;
    if (std::to_string(step) != "1" + std::string(static_cast<size_t>(zeros), '0'))
      fail(path, "'multipleOf' " + m.dump() + " needs 'minimum' and 'maximum' that leave at most " +
                     std::to_string(kMaxListedMultiples) + " multiples (only powers of ten, 10, 100, ..., are written for any range)");
    return compile_regex(g_, power_of_ten_multiples_regex(zeros, from, to), false);
  }

  int bounded_integer(const std::optional<NumberBound>& lo, const std::optional<NumberBound>& hi,
                      const std::string& path) {
    if (!lo && !hi) return number_node(true);
    const std::string regex = integer_range_regex(lo ? lo->value : -kMaxGrammarInteger, hi ? hi->value : kMaxGrammarInteger);
    if (regex.empty()) fail(path, "no integer lies within the bounds");
    return compile_regex(g_, regex, false);
  }

  int array(const json& s, const std::string& path, int depth) {
    Node n = make_node(NodeKind::Array);
    n.min = s.contains("minItems") ? count_keyword(s, "minItems", path) : 0;
    n.max = s.contains("maxItems") ? count_keyword(s, "maxItems", path) : -1;
    if (n.max >= 0 && n.max < n.min) fail(path, "'maxItems' is below 'minItems'");
    if (s.contains("items")) {
      if (s["items"].is_array()) fail(path, "tuple-form 'items' (an array) is not supported");
      n.items = compile(s["items"], path + "/items", depth + 1);
    } else {
      n.items = any_value();
    }
    return add(std::move(n));
  }

  const json& root_;
  bool dsl_ = false;
  Grammar g_;
  std::map<std::string, int> refs_;
  int any_ = -1;
  int compiled_ = 0;        // subschemas compiled so far
  bool exhausted_ = false;  // the kMaxCompiledSubschemas budget ran out
};

}  // namespace

std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::json& schema) {
  SchemaCompiler c(schema);
  Grammar g = c.run();
  finish_grammar(g);
  return std::make_shared<const Grammar>(std::move(g));
}

std::string special_token_bytes(std::string_view piece) {
  std::string bytes(1, '\xFF');
  bytes += piece;
  bytes += '\xFF';
  return bytes;
}

// Gemma 4 tool calls: after the <|tool_call> token, call:NAME{arguments}<tool_call|>. A strict
// tool's arguments follow its parameter schema; another tool's are any object.
std::shared_ptr<const Grammar> compile_tool_calls(const nlohmann::json& tools, std::string_view forced_prefix) {
  if (!tools.is_array() || tools.empty()) throw GrammarError("tools must be a non-empty array");
  Grammar g;
  std::vector<int> calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string where = "tools[" + std::to_string(i) + "]";
    const json& tool = tools[i];
    const json& function = tool.is_object() && tool.contains("function") ? tool["function"] : tool;
    if (!function.is_object() || !function.contains("name") || !function["name"].is_string())
      throw GrammarError(where + " has no function name");
    const std::string name = function["name"];
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != std::string::npos)
      throw GrammarError(where + ": the function name \"" + name + "\" has characters a tool call cannot carry");
    const bool strict = function.value("strict", json(false)) == json(true);
    const json parameters = strict ? function.value("parameters", json{{"type", "object"}, {"properties", json::object()}})
                                   : json{{"type", "object"}};
    if (strict && parameters.value("type", json("object")) != json("object"))
      throw GrammarError("schema at " + where + ".function.parameters: a tool's parameters must be an object schema");
    SchemaCompiler c(parameters, /*dsl=*/true);
    c.adopt(std::move(g));
    const int args = c.compile_root(parameters, "#");
    g = c.take(-1);
    auto literal = [&g](std::string text) {
      Node n = make_node(NodeKind::Literal);
      n.text = std::move(text);
      return add_node(g, std::move(n));
    };
    Node call = make_node(NodeKind::Seq);
    call.options = {literal("call:" + name), args, literal(special_token_bytes("<tool_call|>"))};
    calls.push_back(add_node(g, std::move(call)));
  }
  Node root;
  root.kind = NodeKind::Alt;
  root.options = std::move(calls);
  g.root = add_node(g, std::move(root));
  g.trigger = special_token_bytes("<|tool_call>");
  g.prefix = std::string(forced_prefix);
  finish_grammar(g);
  auto grammar = std::make_shared<const Grammar>(std::move(g));
  if (!forced_prefix.empty() && !ByteMatcher(grammar).accept(forced_prefix))
    throw GrammarError("the forced call prefix \"" + std::string(forced_prefix) + "\" names no declared tool");
  return grammar;
}

std::shared_ptr<const Grammar> compile_any_json_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  SchemaCompiler c(empty);
  const int root = c.any_object();
  Grammar g = c.take(root);
  finish_grammar(g);
  return std::make_shared<const Grammar>(std::move(g));
}

}  // namespace gemma4
