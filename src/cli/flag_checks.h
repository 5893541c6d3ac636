#pragma once
// CLI11 validators whose messages read well after "error: --flag: ": the accepted range in plain
// numbers (CLI11's own PositiveNumber prints a 309-digit bound) and the value that was given.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace gemma4::cli {

// An integer in [lo, hi]; "-5", "1.5" and "abc" are all rejected with the range.
CLI::Validator integer_in(int64_t lo, int64_t hi);

// A finite decimal number in [lo, hi].
CLI::Validator number_in(double lo, double hi);

// A finite decimal number >= lo (or > lo when exclusive).
CLI::Validator number_at_least(double lo, bool exclusive = false);

// User text (prompt, --system, chat lines) that is not valid UTF-8: each invalid sequence becomes
// U+FFFD, as Python, Rust and the HF tokenizers' callers do, with one warning on stderr naming
// `what` and the byte offset of the first bad byte. Valid text comes back unchanged and silently.
std::string checked_utf8_input(std::string text, const std::string& what);

// The same as a CLI11 transform, for text options: add with ->transform(utf8_text("--system")).
CLI::Validator utf8_text(const std::string& what);

// --threads: 0 (all cores) up to max_threads() (a small multiple of the hardware threads).
CLI::Validator thread_count();

}  // namespace gemma4::cli
