#pragma once
// Typed reads of optional request fields. Absent and null fields are "not given" (nullopt); a
// present field of the wrong type or outside its range is a 400 naming the parameter, so a bad
// value is never silently replaced by a default.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4::server::fields {

using json = nlohmann::json;

// `param` is the name used in error messages (e.g. "stream_options.include_usage"); `key` is
// looked up in `object`.
std::optional<double> number(const json& object, const std::string& key, double min, double max,
                             const std::string& param = "");
std::optional<int64_t> integer(const json& object, const std::string& key, int64_t min, int64_t max,
                               const std::string& param = "");
std::optional<bool> boolean(const json& object, const std::string& key, const std::string& param = "");
std::optional<std::string> string(const json& object, const std::string& key, const std::string& param = "");
// The member when it is an object (nullptr when absent or null).
const json* object(const json& object, const std::string& key, const std::string& param = "");
// The member when it is an array (nullptr when absent or null).
const json* array(const json& object, const std::string& key, const std::string& param = "");

// "42" -> 42 for JSON object keys that hold numbers (logit_bias); nullopt when not an integer.
std::optional<int64_t> parse_integer_key(const std::string& text);

}  // namespace gemma4::server::fields
