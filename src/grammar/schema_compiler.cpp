// JSON Schema -> grammar nodes. Every keyword is either honoured, an annotation (ignored because
// it constrains nothing), or a GrammarError naming it: a schema is never silently weakened.
#include <map>
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

constexpr size_t kMaxNodes = 20000;
constexpr int kMaxSchemaDepth = 64;

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> k = {"title", "description", "default", "examples", "$schema", "$id",
                                          "$comment", "deprecated", "readOnly", "writeOnly", "strict", "name"};
  return k;
}

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const json& root) : root_(root) {}

  Grammar run() {
    g_.root = compile(root_, "#", 0);
    return std::move(g_);
  }

  int any_value() {
    if (any_ >= 0) return any_;
    any_ = add(make_node(NodeKind::Alt));
    Node object = make_node(NodeKind::Object);
    object.free_key = string_node(0, -1);
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
    object.free_key = string_node(0, -1);
    object.free_value = any_value();
    return add(std::move(object));
  }

  Grammar take(int root) {
    g_.root = root;
    return std::move(g_);
  }

 private:
  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw GrammarError("schema at " + path + ": " + what);
  }

  int add(Node n) {
    if (g_.nodes.size() >= kMaxNodes) throw GrammarError("the schema is too large (more than 20000 grammar nodes)");
    g_.nodes.push_back(std::move(n));
    return static_cast<int>(g_.nodes.size()) - 1;
  }
  int literal(std::string text) {
    Node n = make_node(NodeKind::Literal);
    n.text = std::move(text);
    return add(std::move(n));
  }
  int string_node(int64_t min, int64_t max) {
    Node n = make_node(NodeKind::String);
    n.min = min;
    n.max = max;
    return add(std::move(n));
  }
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
    if (s.is_boolean()) {
      if (s.get<bool>()) return any_value();
      fail(path, "the schema 'false' matches nothing");
    }
    if (!s.is_object()) fail(path, "a schema must be an object or a boolean");
    check_keywords(s, path);
    if (s.contains("$ref")) return reference(s, path, depth);
    if (s.contains("const")) return literal(s["const"].dump());
    if (s.contains("enum")) return enumeration(s, path);
    if (s.contains("anyOf")) return any_of(s, "anyOf", path, depth);
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

  void check_keywords(const json& s, const std::string& path) {
    static const std::set<std::string> supported = {
        "type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "definitions", "properties", "required",
        "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength"};
    for (const auto& [key, value] : s.items()) {
      if (supported.count(key) || annotation_keywords().count(key)) continue;
      fail(path, "the keyword '" + key + "' is not supported (see docs/grammar.md for the supported subset)");
    }
  }

  int reference(const json& s, const std::string& path, int depth) {
    if (!s["$ref"].is_string()) fail(path, "'$ref' must be a string");
    if (s.size() > 1) {
      for (const auto& [key, value] : s.items())
        if (key != "$ref" && key != "$defs" && key != "definitions" && !annotation_keywords().count(key)) fail(path, "'$ref' with sibling keyword '" + key + "' is not supported");
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
    for (const json& v : values) options.push_back(literal(v.dump()));
    return options.size() == 1 ? options[0] : alt(std::move(options));
  }

  int any_of(const json& s, const char* key, const std::string& path, int depth) {
    const json& list = s[key];
    if (!list.is_array() || list.empty()) fail(path, std::string("'") + key + "' must be a non-empty array");
    for (const auto& [k, v] : s.items())
      if (k != key && k != "$defs" && k != "definitions" && !annotation_keywords().count(k))
        fail(path, std::string("'") + key + "' with sibling keyword '" + k + "' is not supported");
    std::vector<int> options;
    for (size_t i = 0; i < list.size(); ++i)
      options.push_back(compile(list[i], path + "/" + key + "/" + std::to_string(i), depth + 1));
    return alt(std::move(options));
  }

  // allOf with a single subschema is that subschema; merging several is not supported.
  int all_of(const json& s, const std::string& path, int depth) {
    const json& list = s["allOf"];
    if (!list.is_array() || list.size() != 1)
      fail(path, "'allOf' is supported only with exactly one subschema");
    return any_of(s, "allOf", path, depth);
  }

  int typed(const json& s, const std::string& type, const std::string& path, int depth) {
    if (type == "string") {
      const int64_t min = s.contains("minLength") ? count_keyword(s, "minLength", path) : 0;
      const int64_t max = s.contains("maxLength") ? count_keyword(s, "maxLength", path) : -1;
      if (max >= 0 && max < min) fail(path, "'maxLength' is below 'minLength'");
      return string_node(min, max);
    }
    if (type == "number" || type == "integer") return number_node(type == "integer");
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
        n.props.push_back(Property{literal(json(key).dump()), compile(value, path + "/properties/" + key, depth + 1),
                                   required.count(key) > 0});
      }
    }
    for (const std::string& r : required)
      if (!listed.count(r)) fail(path, "required property \"" + r + "\" is not in 'properties'");
    const json additional = s.value("additionalProperties", json(props ? false : true));
    if (!props || props->empty()) {
      if (additional.is_boolean() && !additional.get<bool>()) return add(std::move(n));  // only {}
      n.props.clear();
      n.free_key = string_node(0, -1);
      n.free_value = compile(additional, path + "/additionalProperties", depth + 1);
    } else if (!additional.is_boolean() && !additional.is_object()) {
      fail(path, "'additionalProperties' must be a boolean or a schema");
    }
    return add(std::move(n));
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
  Grammar g_;
  std::map<std::string, int> refs_;
  int any_ = -1;
};

}  // namespace

std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::json& schema) {
  SchemaCompiler c(schema);
  return std::make_shared<const Grammar>(c.run());
}

std::shared_ptr<const Grammar> compile_any_json_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  SchemaCompiler c(empty);
  const int root = c.any_object();
  return std::make_shared<const Grammar>(c.take(root));
}

}  // namespace gemma4
