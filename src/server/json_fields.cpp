#include "server/json_fields.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "server/api_error.h"

namespace gemma4::server::fields {
namespace {

const json* member(const json& object, const std::string& key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string name_of(const std::string& key, const std::string& param) { return param.empty() ? key : param; }

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::optional<double> number(const json& object, const std::string& key, double min, double max,
                             const std::string& param) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  const std::string name = name_of(key, param);
  if (!value->is_number()) throw invalid_request("'" + name + "' must be a number", name);
  const double v = value->get<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    throw invalid_request("'" + name + "' must be between " + format_number(min) + " and " + format_number(max) +
                              ", got " + value->dump(),
                          name);
  }
  return v;
}

std::optional<int64_t> integer(const json& object, const std::string& key, int64_t min, int64_t max,
                               const std::string& param) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  const std::string name = name_of(key, param);
  // 3.0 is accepted as 3 (JavaScript clients cannot tell them apart); 3.5 is not an integer.
  const bool integral = value->is_number_integer() ||
                        (value->is_number_float() && std::nearbyint(value->get<double>()) == value->get<double>() &&
                         std::abs(value->get<double>()) < 9.0e15);
  if (!integral) throw invalid_request("'" + name + "' must be an integer", name);
  if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw invalid_request("'" + name + "' is out of range", name);
  }
  const int64_t v = value->is_number_float() ? static_cast<int64_t>(value->get<double>()) : value->get<int64_t>();
  if (v < min || v > max) {
    throw invalid_request("'" + name + "' must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              ", got " + std::to_string(v),
                          name);
  }
  return v;
}

std::optional<bool> boolean(const json& object, const std::string& key, const std::string& param) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  const std::string name = name_of(key, param);
  if (!value->is_boolean()) throw invalid_request("'" + name + "' must be a boolean", name);
  return value->get<bool>();
}

std::optional<std::string> string(const json& object, const std::string& key, const std::string& param) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  const std::string name = name_of(key, param);
  if (!value->is_string()) throw invalid_request("'" + name + "' must be a string", name);
  return value->get<std::string>();
}

const json* object(const json& object, const std::string& key, const std::string& param) {
  const json* value = member(object, key);
  if (value && !value->is_object()) {
    const std::string name = name_of(key, param);
    throw invalid_request("'" + name + "' must be an object", name);
  }
  return value;
}

const json* array(const json& object, const std::string& key, const std::string& param) {
  const json* value = member(object, key);
  if (value && !value->is_array()) {
    const std::string name = name_of(key, param);
    throw invalid_request("'" + name + "' must be an array", name);
  }
  return value;
}

std::optional<int64_t> parse_integer_key(const std::string& text) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace gemma4::server::fields
