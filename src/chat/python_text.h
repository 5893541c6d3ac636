#pragma once
// The few Python/Jinja string behaviours the chat template depends on byte for byte.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4::python {

// str.strip(): removes leading and trailing Unicode whitespace (str.isspace()).
std::string_view strip(std::string_view text);

// str(x) for a JSON number: integers as digits, floats as repr() (shortest round trip, ".0" when
// integral, exponent form outside 1e-4 <= |x| < 1e16).
std::string number_to_string(const nlohmann::json& number);

// str(x) for any JSON value, as Jinja prints it ("None", "True", "['a', 'b']", "{'k': 1}").
std::string to_str(const nlohmann::json& value);

// Python truthiness of a JSON value (null, false, 0, "", [], {} are false).
bool truthy(const nlohmann::json& value);

// Jinja `dictsort`: members ordered by key.lower(), stable.
std::vector<std::pair<std::string, const nlohmann::json*>> dictsort(const nlohmann::json& object);

// str.upper() for ASCII letters (type names are ASCII).
std::string upper(std::string_view text);

}  // namespace gemma4::python
