#include "chat/python_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "chat/float_chars.h"
#include "tokenizer/utf8.h"

namespace gemma4::python {
namespace {

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, e.g. "-1.2345e+03".
  const std::string text = chat_text::shortest_scientific(value);
  const std::string_view scientific(text);
  const size_t e = scientific.find('e');
  std::string_view mantissa = scientific.substr(0, e);
  const int exponent = std::stoi(std::string(scientific.substr(e + 1)));
  std::string sign;
  if (mantissa.front() == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (const char c : mantissa) {
    if (c != '.') digits += c;
  }
  const int point = exponent + 1;  // digits before the decimal point
  std::string out = sign;
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    } else if (static_cast<size_t>(point) >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  const int shown = point - 1;
  out += shown < 0 ? "e-" : "e+";
  const std::string magnitude = std::to_string(std::abs(shown));
  if (magnitude.size() < 2) out += '0';
  out += magnitude;
  return out;
}

std::string repr_string(const std::string& text) {
  const bool use_double = text.find('\'') != std::string::npos && text.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : text) {
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out + quote;
}

std::string repr(const nlohmann::json& value) {
  if (value.is_string()) return repr_string(value.get<std::string>());
  return to_str(value);
}

}  // namespace

std::string_view strip(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t length = utf8::valid_char_length(text, begin);
    if (length == 0 || !is_python_space(utf8::decode_char(text, begin, length))) break;
    begin += length;
  }
  size_t end = text.size();
  while (end > begin) {
    // Step back to the start of the last character.
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    const size_t length = utf8::valid_char_length(text, start);
    if (length != end - start || !is_python_space(utf8::decode_char(text, start, length))) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::string number_to_string(const nlohmann::json& number) {
  if (number.is_number_integer()) return number.dump();
  return float_repr(number.get<double>());
}

std::string to_str(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "None";
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? "True" : "False";
    case nlohmann::json::value_t::string: return value.get<std::string>();
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out += ", ";
        out += repr(value[i]);
      }
      return out + "]";
    }
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(key) + ": " + repr(member);
      }
      return out + "}";
    }
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return number_to_string(value);
    default: return "";
  }
}

bool truthy(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return false;
    case nlohmann::json::value_t::boolean: return value.get<bool>();
    case nlohmann::json::value_t::string: return !value.get_ref<const std::string&>().empty();
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object: return !value.empty();
    case nlohmann::json::value_t::number_integer: return value.get<int64_t>() != 0;
    case nlohmann::json::value_t::number_unsigned: return value.get<uint64_t>() != 0;
    case nlohmann::json::value_t::number_float: return value.get<double>() != 0.0;
    default: return false;
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::vector<std::pair<std::string, const nlohmann::json*>> dictsort(const nlohmann::json& object) {
  std::vector<std::pair<std::string, const nlohmann::json*>> members;
  for (const auto& [key, value] : object.items()) members.emplace_back(key, &value);
  const auto lower = [](const std::string& text) {
    std::string out = text;
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  };
  std::stable_sort(members.begin(), members.end(),
                   [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  return members;
}

}  // namespace gemma4::python
