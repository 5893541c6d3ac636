#include "hub/progress_format.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>

#include <chrono>
#include <memory>

namespace gemma4::hub {

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 360000) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

std::string progress_line(const DownloadProgress& p) {
  const double fraction = p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 1.0;
  std::string line = p.repo_id + "  " + format_bytes(p.bytes_done) + " / " + format_bytes(p.bytes_total) + "  " +
                     std::to_string(static_cast<int>(fraction * 100)) + "%  " +
                     format_bytes(static_cast<uint64_t>(p.bytes_per_second)) + "/s";
  if (!p.finished) {
    const double eta = p.bytes_per_second > 0 ? (p.bytes_total - p.bytes_done) / p.bytes_per_second : -1;
    line += "  ETA " + format_duration(eta);
  } else {
    line += "  in " + format_duration(p.elapsed_seconds);
  }
  return line + "  (" + std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files)";
}

}  // namespace gemma4::hub

namespace gemma4 {

ProgressCallback terminal_progress(std::FILE* out) {
  const bool tty = ::isatty(::fileno(out)) != 0;
  auto last_plain = std::make_shared<double>(-1e9);
  return [out, tty, last_plain](const DownloadProgress& p) {
    const std::string line = hub::progress_line(p);
    if (tty) {
      std::fprintf(out, "\r\033[K%s%s", line.c_str(), p.finished ? "\n" : "");
    } else if (p.finished || p.elapsed_seconds - *last_plain >= 5.0) {
      *last_plain = p.elapsed_seconds;  // a log file gets a line every few seconds, not a bar
      std::fprintf(out, "%s\n", line.c_str());
    }
    std::fflush(out);
  };
}

}  // namespace gemma4
