// Gemma's tool DSL: the value syntax of tool calls and responses (`format_argument`) and the
// declaration syntax of tools (`format_function_declaration` / `format_parameters`), plus a
// lenient parser for values written by the model.
#include "chat/tool_dsl.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <cmath>

#include "chat/float_chars.h"
#include "chat/python_text.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"

namespace gemma4 {
namespace {

std::string dsl_quoted(std::string_view text) { return std::string(kDslQuote) + std::string(text) + std::string(kDslQuote); }

std::string dsl_quoted_list(const nlohmann::json& items) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    out += dsl_quoted(python::to_str(item));
  }
  return out + "]";
}

// Jinja `value['type'] | upper`: a missing type is empty, a list prints as Python's str(list).
std::string type_name(const nlohmann::json& holder) {
  if (!holder.is_object() || !holder.contains("type")) return "";
  return python::upper(python::to_str(holder["type"]));
}

const nlohmann::json& member_or_null(const nlohmann::json& object, const char* key) {
  static const nlohmann::json null_value;
  if (!object.is_object()) return null_value;
  const auto found = object.find(key);
  return found == object.end() ? null_value : *found;
}

std::string format_parameters(const nlohmann::json& properties, bool skip_standard_keys);

std::string format_items(const nlohmann::json& items) {
  std::string out = "items:{";
  bool first = true;
  for (const auto& [key, value] : python::dictsort(items)) {
    if (value->is_null()) continue;
    if (!first) out += ',';
    first = false;
    if (key == "properties") {
      out += "properties:{";
      if (value->is_object()) out += format_parameters(*value, false);
      out += "}";
    } else if (key == "required") {
      out += "required:" + dsl_quoted_list(value->is_array() ? *value : nlohmann::json::array());
    } else if (key == "type") {
      if (value->is_string()) {
        out += "type:" + dsl_quoted(python::upper(value->get<std::string>()));
      } else {
        nlohmann::json upper_types = nlohmann::json::array();
        if (value->is_array()) {
          for (const auto& type : *value) upper_types.push_back(python::upper(python::to_str(type)));
        }
        out += "type:" + format_dsl_value(upper_types, true);
      }
    } else {
      out += key + ":" + format_dsl_value(*value, true);
    }
  }
  return out + "}";
}

std::string format_parameters(const nlohmann::json& properties, bool skip_standard_keys) {
  static const char* const kStandardKeys[] = {"description", "type", "properties", "required", "nullable"};
  std::string out;
  bool first_property = true;
  for (const auto& [key, value_pointer] : python::dictsort(properties)) {
    if (skip_standard_keys && std::find(std::begin(kStandardKeys), std::end(kStandardKeys), key) != std::end(kStandardKeys)) {
      continue;
    }
    const nlohmann::json& value = *value_pointer;
    if (!first_property) out += ',';
    first_property = false;
    out += key + ":{";
    bool need_comma = false;
    const auto field = [&](const std::string& text) {
      if (need_comma) out += ',';
      need_comma = true;
      out += text;
    };
    const std::string type = type_name(value);
    const nlohmann::json& description = member_or_null(value, "description");
    if (python::truthy(description)) field("description:" + dsl_quoted(python::to_str(description)));
    if (type == "STRING") {
      const nlohmann::json& enumeration = member_or_null(value, "enum");
      if (python::truthy(enumeration)) field("enum:" + format_dsl_value(enumeration, true));
    } else if (type == "ARRAY") {
      const nlohmann::json& items = member_or_null(value, "items");
      if (items.is_object() && !items.empty()) field(format_items(items));
    }
    if (python::truthy(member_or_null(value, "nullable"))) field("nullable:true");
    if (type == "OBJECT") {
      const nlohmann::json& nested = member_or_null(value, "properties");
      if (nested.is_object()) {
        field("properties:{" + format_parameters(nested, false) + "}");
      } else if (value.is_object()) {
        field("properties:{" + format_parameters(value, true) + "}");
      }
      const nlohmann::json& required = member_or_null(value, "required");
      if (python::truthy(required)) field("required:" + dsl_quoted_list(required));
    }
    field("type:" + dsl_quoted(type) + "}");
  }
  return out;
}

// ---- parsing values written by the model ----

class DslReader {
 public:
  explicit DslReader(std::string_view text) : text_(text) {}

  nlohmann::json read_document() {
    nlohmann::json value = read_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail("unexpected text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("tool-call value: " + what + " at byte " + std::to_string(pos_));
  }
  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool at(std::string_view token) const { return text_.substr(pos_).starts_with(token); }

  std::string read_quoted() {
    pos_ += kDslQuote.size();
    const size_t end = text_.find(kDslQuote, pos_);
    if (end == std::string_view::npos) fail("unterminated <|\"|> string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + kDslQuote.size();
    return value;
  }

  std::string read_key() {
    skip_whitespace();
    if (at(kDslQuote)) return read_quoted();
    if (pos_ < text_.size() && text_[pos_] == '"') return read_json_string();
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ':' && text_[pos_] != ',' && text_[pos_] != '}') ++pos_;
    const std::string_view key = python::strip(text_.substr(start, pos_ - start));
    if (key.empty()) fail("missing key");
    return std::string(key);
  }

  // Models sometimes fall back to JSON strings; accept them.
  std::string read_json_string() {
    const size_t start = pos_;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') ++pos_;
      ++pos_;
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    try {
      return nlohmann::json::parse(text_.substr(start, pos_ - start)).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      fail("bad JSON string");
    }
  }

  nlohmann::json read_scalar() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' && text_[pos_] != ']' &&
           !text_.substr(pos_).starts_with(kDslQuote)) {
      ++pos_;
    }
    const std::string_view word = python::strip(text_.substr(start, pos_ - start));
    if (word.empty()) fail("missing value");
    if (word == "true") return true;
    if (word == "false") return false;
    if (word == "null" || word == "None") return nullptr;
    if (const auto number = parse_number(word)) return *number;
    return std::string(word);  // a bare word: the model forgot the quotes
  }

  static std::optional<nlohmann::json> parse_number(std::string_view word) {
    const bool looks_float = word.find_first_of(".eE") != std::string_view::npos;
    if (!looks_float) {
      int64_t integer = 0;
      const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), integer);
      if (error == std::errc() && end == word.data() + word.size()) return nlohmann::json(integer);
      return std::nullopt;
    }
    double real = 0;
    std::string_view digits = word;
    if (digits.starts_with('+')) return std::nullopt;
    if (chat_text::parse_double(digits, real) && std::isfinite(real)) return nlohmann::json(real);
    return std::nullopt;
  }

  nlohmann::json read_value(int depth) {
    if (depth > 64) fail("nesting too deep");
    skip_whitespace();
    if (pos_ >= text_.size()) fail("missing value");
    if (at(kDslQuote)) return read_quoted();
    const char c = text_[pos_];
    if (c == '"') return read_json_string();
    if (c == '{') {
      ++pos_;
      nlohmann::json object = nlohmann::json::object();
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return object;
      }
      while (true) {
        std::string key = read_key();
        skip_whitespace();
        if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':' after key \"" + key + "\"");
        ++pos_;
        object[key] = read_value(depth + 1);
        skip_whitespace();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == '}') {
          ++pos_;
          return object;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      ++pos_;
      nlohmann::json array = nlohmann::json::array();
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return array;
      }
      while (true) {
        array.push_back(read_value(depth + 1));
        skip_whitespace();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ']') {
          ++pos_;
          return array;
        }
        fail("expected ',' or ']'");
      }
    }
    return read_scalar();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string format_dsl_value(const nlohmann::json& value, bool quote_keys) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::string: return dsl_quoted(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, member] : python::dictsort(value)) {
        if (!first) out += ',';
        first = false;
        out += (quote_keys ? dsl_quoted(key) : key) + ":" + format_dsl_value(*member, quote_keys);
      }
      return out + "}";
    }
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out += ',';
        out += format_dsl_value(value[i], quote_keys);
      }
      return out + "]";
    }
    default: return python::number_to_string(value);
  }
}

nlohmann::json parse_dsl_value(std::string_view text) { return DslReader(text).read_document(); }

std::string format_function_declaration(const nlohmann::json& tool, size_t tool_index) {
  const std::string where = "tools[" + std::to_string(tool_index) + "]";
  if (!tool.is_object()) throw Error(where + " is not an object");
  const auto function_member = tool.find("function");
  if (function_member == tool.end() || !function_member->is_object()) {
    throw Error(where + " has no \"function\" object");
  }
  const nlohmann::json& function = *function_member;
  const nlohmann::json& name = member_or_null(function, "name");
  if (!name.is_string()) throw Error(where + ".function has no string \"name\"");

  std::string out = "declaration:" + name.get<std::string>() + "{description:";
  const nlohmann::json& description = member_or_null(function, "description");
  out += dsl_quoted(description.is_null() ? "" : python::to_str(description));
  const nlohmann::json& params = member_or_null(function, "parameters");
  if (python::truthy(params)) {
    if (!params.is_object()) throw Error(where + ".function.parameters is not an object");
    out += ",parameters:{";
    const nlohmann::json& properties = member_or_null(params, "properties");
    if (python::truthy(properties)) {
      if (!properties.is_object()) throw Error(where + ".function.parameters.properties is not an object");
      out += "properties:{" + format_parameters(properties, false) + "},";
    }
    const nlohmann::json& required = member_or_null(params, "required");
    if (python::truthy(required)) out += "required:" + dsl_quoted_list(required) + ",";
    const nlohmann::json& type = member_or_null(params, "type");
    // Without a type the template never closes the parameters brace; reproduced on purpose.
    if (python::truthy(type)) out += "type:" + dsl_quoted(python::upper(python::to_str(type))) + "}";
  }
  if (function.contains("response")) {
    const nlohmann::json& response = function["response"];
    out += ",response:{";
    const nlohmann::json& response_description = member_or_null(response, "description");
    if (python::truthy(response_description)) out += "description:" + dsl_quoted(python::to_str(response_description)) + ",";
    if (type_name(response) == "OBJECT") out += "type:" + dsl_quoted("OBJECT") + "}";
  }
  return out + "}";
}

}  // namespace gemma4
