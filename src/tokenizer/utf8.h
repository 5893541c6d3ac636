#pragma once
// Small UTF-8 helpers shared by the tokenizer, the streaming decoder and the chat layer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gemma4::utf8 {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 character starting at text[pos], or 0 when the bytes there do
// not start a valid character (bad lead byte, bad continuation, overlong form, surrogate, > U+10FFFF,
// or truncated). Follows the Unicode "well-formed" table, as Rust's str::from_utf8 does.
inline size_t valid_char_length(std::string_view text, size_t pos) {
  const size_t left = text.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint8_t second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  if (left < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// True when text[pos..] is a proper prefix of some well-formed character, i.e. more bytes could
// still complete it. Used by streaming code to decide between "wait" and "replace".
inline bool is_incomplete_char_prefix(std::string_view text, size_t pos) {
  const size_t left = text.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return false;
  }
  if (left >= length) return false;
  if (left >= 2 && (byte(1) < second_min || byte(1) > second_max)) return false;
  for (size_t i = 2; i < left; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return false;
  }
  return true;
}

inline bool is_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = valid_char_length(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

// Length of the maximal subpart at text[pos] (caller checked valid_char_length == 0): the
// longest prefix of a well-formed character found there, at least 1 byte. Each maximal subpart
// becomes one U+FFFD (Unicode's "substitution of maximal subparts").
inline size_t invalid_run_length(std::string_view text, size_t pos) {
  size_t n = 1;
  while (pos + n < text.size() && n < 4 && is_incomplete_char_prefix(text.substr(0, pos + n + 1), pos)) ++n;
  return n;
}

// Decodes the well-formed character at text[pos] (caller checked valid_char_length > 0).
inline char32_t decode_char(std::string_view text, size_t pos, size_t length) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  switch (length) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1Fu) << 6) | (byte(1) & 0x3Fu);
    case 3: return ((byte(0) & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu);
    default:
      return ((byte(0) & 0x07u) << 18) | ((byte(1) & 0x3Fu) << 12) | ((byte(2) & 0x3Fu) << 6) | (byte(3) & 0x3Fu);
  }
}

inline void append_char(char32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace gemma4::utf8
