#pragma once
// A small JSON Schema validator for the subset docs/grammar.md lists, written independently of the
// grammar compiler: tests check generated text with it.
#include <arpa/inet.h>

#include <cstdio>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4::testing {

inline bool valid_date(const std::string& s) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

inline bool valid_time(const std::string& s) {
  static const std::regex shape(R"(^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-]([0-9]{2}):([0-9]{2}))$)");
  std::smatch m;
  if (!std::regex_match(s, m, shape)) return false;
  if (std::stoi(m[1]) > 23 || std::stoi(m[2]) > 59 || std::stoi(m[3]) > 60) return false;
  return !m[6].matched || (std::stoi(m[6]) <= 23 && std::stoi(m[7]) <= 59);
}

inline bool valid_hostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

inline bool valid_format(const std::string& format, const std::string& s) {
  if (format == "date") return valid_date(s);
  if (format == "time") return valid_time(s);
  if (format == "date-time") {
    const size_t t = s.find_first_of("Tt");
    return t == 10 && valid_date(s.substr(0, 10)) && valid_time(s.substr(11));
  }
  if (format == "duration") {
    static const std::regex d(R"(^P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)|[0-9]+W)$)");
    return std::regex_match(s, d);
  }
  if (format == "hostname") return valid_hostname(s);
  if (format == "email") {
    const size_t at = s.rfind('@');
    if (at == std::string::npos || at == 0 || at > 64) return false;
    static const std::regex local(R"(^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$)");
    return std::regex_match(s.substr(0, at), local) && valid_hostname(s.substr(at + 1));
  }
  // RFC 3986's generic syntax (Appendix B's split, each part checked against its ABNF).
  if (format == "uri" || format == "uri-reference" || format == "iri" || format == "iri-reference") {
    static const std::regex parts(R"(^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$)");
    static const std::regex scheme("^[A-Za-z][A-Za-z0-9+.-]*$");
    static const std::regex chars(R"(^([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*$)");
    std::smatch m;
    if (!std::regex_match(s, m, parts)) return false;
    const bool absolute = m[2].matched;
    if (absolute && !std::regex_match(m[2].str(), scheme)) return false;
    if ((format == "uri" || format == "iri") && !absolute) return false;
    if (!absolute && !m[3].matched && m[5].str().find(':') < m[5].str().find('/')) return false;  // path-noscheme
    for (int i : {4, 5, 7, 9})
      if (m[i].matched && !std::regex_match(m[i].str(), chars)) return false;
    return true;
  }
  unsigned char buf[16];
  if (format == "ipv4") return inet_pton(AF_INET, s.c_str(), buf) == 1;
  if (format == "ipv6") return inet_pton(AF_INET6, s.c_str(), buf) == 1;
  if (format == "uuid") {
    static const std::regex u("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
    return std::regex_match(s, u);
  }
  return false;
}

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
  if (s.contains("oneOf")) {
    int n = 0;
    for (const json& sub : s["oneOf"]) n += validates(v, sub, root);
    if (n != 1) return false;
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    // Draft 4 writes exclusiveMinimum/exclusiveMaximum as flags on minimum/maximum.
    const bool min_flag = s.value("exclusiveMinimum", json()).is_boolean() && s["exclusiveMinimum"].get<bool>();
    const bool max_flag = s.value("exclusiveMaximum", json()).is_boolean() && s["exclusiveMaximum"].get<bool>();
    if (s.contains("minimum") && (x < s["minimum"].get<double>() || (min_flag && x == s["minimum"].get<double>()))) return false;
    if (s.contains("maximum") && (x > s["maximum"].get<double>() || (max_flag && x == s["maximum"].get<double>()))) return false;
    if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_number() && x <= s["exclusiveMinimum"].get<double>()) return false;
    if (s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_number() && x >= s["exclusiveMaximum"].get<double>()) return false;
  }
  if (v.is_string() && s.contains("pattern") &&
      !std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>(), std::regex::ECMAScript)))
    return false;
  if (v.is_string() && s.contains("format") && !valid_format(s["format"], v.get<std::string>())) return false;
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
