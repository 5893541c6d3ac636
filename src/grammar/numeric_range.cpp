// Numbers in a range as regular expressions over their digits: a range of integers is split into
// runs of equal length, and each run into a shared prefix, one digit range and free digits (the
// usual construction). Numbers with a fraction are an integer part in a range plus a fraction; no
// exponent is written, so every such number stays exact and in range.
#include <algorithm>
#include <string>

#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

std::string digit_class(char lo, char hi) {
  if (lo == hi) return std::string(1, lo);
  if (lo == '0' && hi == '9') return "[0-9]";
  return std::string("[") + lo + "-" + hi + "]";
}

std::string free_digits(size_t n) {
  if (n == 0) return "";
  return n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}";
}

// lo and hi have the same number of digits, lo <= hi.
std::string same_length(const std::string& lo, const std::string& hi) {
  if (lo.empty()) return "";
  if (lo.size() == 1) return digit_class(lo[0], hi[0]);
  if (lo[0] == hi[0]) return std::string(1, lo[0]) + same_length(lo.substr(1), hi.substr(1));
  const size_t rest = lo.size() - 1;
  const std::string zeros(rest, '0'), nines(rest, '9');
  if (lo.substr(1) == zeros && hi.substr(1) == nines) return digit_class(lo[0], hi[0]) + free_digits(rest);
  std::string out = "(?:" + std::string(1, lo[0]) + "(?:" + same_length(lo.substr(1), nines) + ")";
  if (lo[0] + 1 <= hi[0] - 1) {
    out += '|';
    out += digit_class(static_cast<char>(lo[0] + 1), static_cast<char>(hi[0] - 1));
    out += free_digits(rest);
  }
  out += '|';
  out += hi[0];
  out += "(?:";
  out += same_length(zeros, hi.substr(1));
  out += "))";
  return out;
}

// 0 <= lo <= hi.
std::string nonnegative_range(int64_t lo, int64_t hi) {
  std::string out;
  int64_t start = lo;
  while (start <= hi) {
    const std::string s = std::to_string(start);
    int64_t length_end = 9;  // the largest number with as many digits
    for (size_t k = 1; k < s.size(); ++k) length_end = length_end * 10 + 9;
    const int64_t end = std::min(hi, length_end);
    if (!out.empty()) out += "|";
    out += same_length(s, std::to_string(end));
    start = end + 1;
  }
  return "(?:" + out + ")";
}

// The fraction of a number in the range: any (up to `digits` digits), or one that is not zero.
std::string any_fraction(int digits) {
  return digits == 0 ? "" : "(?:\\.[0-9]{1," + std::to_string(digits) + "})?";
}
std::string nonzero_fraction(int digits) {
  return "\\.[0-9]{0," + std::to_string(digits - 1) + "}[1-9]";
}

// Non-negative numbers above lo and below hi (hi absent: no upper bound), as alternatives.
std::string magnitude(NumberBound lo, NumberBound hi, int digits) {
  std::string out;
  auto add = [&](const std::string& alt) {
    if (!out.empty()) out += '|';
    out += alt;
  };
  const int64_t any_from = lo.exclusive ? lo.value + 1 : lo.value;
  const int64_t any_to = hi.present ? hi.value - 1 : kMaxGrammarInteger;
  if (any_from <= any_to) add(nonnegative_range(any_from, any_to) + any_fraction(digits));
  if (digits > 0 && lo.exclusive && (!hi.present || lo.value < hi.value))
    add(nonnegative_range(lo.value, lo.value) + nonzero_fraction(digits));
  if (hi.present && !hi.exclusive && (hi.value > lo.value || (hi.value == lo.value && !lo.exclusive)))
    add(nonnegative_range(hi.value, hi.value));
  return out;
}

}  // namespace

std::string integer_range_regex(int64_t lo, int64_t hi) {
  lo = std::max(lo, -kMaxGrammarInteger);
  hi = std::min(hi, kMaxGrammarInteger);
  if (lo > hi) return "";
  std::string out;
  if (hi >= 0) out = nonnegative_range(std::max<int64_t>(lo, 0), hi);
  if (lo < 0) {
    const int64_t from = std::max<int64_t>(1, -hi);
    if (!out.empty()) out += '|';
    out += '-';
    out += nonnegative_range(from, -lo);
  }
  return out;
}

// j · 10^zeros for j in [lo / 10^zeros, hi / 10^zeros] (rounded inwards): the range of j with the
// zeros written after it (0 alone, without them).
std::string power_of_ten_multiples_regex(int zeros, int64_t lo, int64_t hi) {
  lo = std::max(lo, -kMaxGrammarInteger);
  hi = std::min(hi, kMaxGrammarInteger);
  int64_t k = 1;
  for (int i = 0; i < zeros; ++i) k *= 10;
  const int64_t j_lo = -floor_div(-lo, k), j_hi = floor_div(hi, k);
  if (j_lo > j_hi) return "";
  const std::string tail(static_cast<size_t>(zeros), '0');
  std::string out;
  auto add = [&](const std::string& alt) {
    if (!out.empty()) out += '|';
    out += alt;
  };
  if (j_lo <= 0 && j_hi >= 0) add("0");
  if (j_hi >= 1) add(nonnegative_range(std::max<int64_t>(j_lo, 1), j_hi) + tail);
  if (j_lo <= -1) add(std::string("-").append(nonnegative_range(-std::min<int64_t>(j_hi, -1), -j_lo)).append(tail));
  return out;
}

std::string number_range_regex(NumberBound lo, NumberBound hi, int fraction_digits) {
  std::string out;
  // x >= 0
  if (!hi.present || hi.value > 0 || (hi.value == 0 && !hi.exclusive)) {
    const NumberBound from = lo.present && lo.value >= 0 ? lo : NumberBound{true, 0, false};
    out = magnitude(from, hi, fraction_digits);
  }
  // x < 0, written as '-' and its magnitude y = -x > 0
  if (!lo.present || lo.value < 0) {
    const NumberBound y_lo = hi.present && hi.value < 0 ? NumberBound{true, -hi.value, hi.exclusive} : NumberBound{true, 0, true};
    const NumberBound y_hi = lo.present ? NumberBound{true, -lo.value, lo.exclusive} : NumberBound{};
    const std::string negative = magnitude(y_lo, y_hi, fraction_digits);
    if (!negative.empty()) {
      if (!out.empty()) out += '|';
      out += "-(?:";
      out += negative;
      out += ')';
    }
  }
  return out;
}

}  // namespace gemma4
