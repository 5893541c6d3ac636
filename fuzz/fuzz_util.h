#pragma once
// Helpers shared by the libFuzzer targets: a private scratch folder for parsers that read files,
// and the one rule every target checks: bad input may throw gemma4::Error (a clear message) and
// nothing else. Any other exception escapes to libFuzzer, which reports it as a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "gemma4/error.h"

namespace gemma4::fuzz {

// One folder per process, in memory when /dev/shm exists (a file per input is the hot path).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("gemma4-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch_dir(), ec); });
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs fn; a gemma4::Error is the expected outcome for bad input, its message must not be empty.
template <typename Fn>
void expect_clean_error(Fn&& fn) {
  try {
    fn();
  } catch (const gemma4::Error& e) {
    if (std::string_view(e.what()).empty()) std::abort();
  }
}

}  // namespace gemma4::fuzz
