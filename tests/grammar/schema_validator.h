#pragma once
// A small JSON Schema validator for the subset docs/grammar.md lists, written independently of the
// grammar compiler: tests check generated text with it.
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4::testing {

inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline bool validates(const nlohmann::json& v, const nlohmann::json& s, const nlohmann::json& root) {
  using nlohmann::json;
  if (s.is_boolean()) return s.get<bool>();
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"];
    return validates(v, root.at(json::json_pointer(ref.substr(1))), root);
  }
  if (s.contains("const") && v != s["const"]) return false;
  if (s.contains("enum")) {
    bool found = false;
    for (const json& e : s["enum"]) found = found || e == v;
    if (!found) return false;
  }
  if (s.contains("anyOf")) {
    bool any = false;
    for (const json& sub : s["anyOf"]) any = any || validates(v, sub, root);
    if (!any) return false;
  }
  if (s.contains("allOf"))
    for (const json& sub : s["allOf"])
      if (!validates(v, sub, root)) return false;
  if (s.contains("type")) {
    json types = s["type"].is_array() ? s["type"] : json::array({s["type"]});
    bool ok = false;
    for (const json& t : types) {
      const std::string ty = t;
      ok = ok || (ty == "string" && v.is_string()) || (ty == "number" && v.is_number()) ||
           (ty == "integer" && (v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>()))))) ||
           (ty == "boolean" && v.is_boolean()) || (ty == "null" && v.is_null()) ||
           (ty == "object" && v.is_object()) || (ty == "array" && v.is_array());
    }
    if (!ok) return false;
  }
  if (v.is_string()) {
    const size_t len = utf8_length(v.get<std::string>());
    if (s.contains("minLength") && len < s["minLength"].get<size_t>()) return false;
    if (s.contains("maxLength") && len > s["maxLength"].get<size_t>()) return false;
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
    if (s.contains("items"))
      for (const json& item : v)
        if (!validates(item, s["items"], root)) return false;
  }
  if (v.is_object()) {
    if (s.contains("required"))
      for (const json& r : s["required"])
        if (!v.contains(r.get<std::string>())) return false;
    const json props = s.value("properties", json::object());
    for (const auto& [key, value] : v.items()) {
      if (props.contains(key)) {
        if (!validates(value, props[key], root)) return false;
      } else if (s.contains("additionalProperties")) {
        if (!validates(value, s["additionalProperties"], root)) return false;
      }
    }
  }
  return true;
}

}  // namespace gemma4::testing
