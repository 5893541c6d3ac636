#pragma once
// Text of download progress: "1.23 GB", "3m07s", and the whole status line.
#include <cstdint>
#include <string>

#include "gemma4/hub.h"

namespace gemma4::hub {

std::string format_bytes(uint64_t bytes);     // 1000-based, as download sizes are quoted: "512 B", "1.50 GB"
std::string format_duration(double seconds);  // "45s", "3m07s", "2h05m", "?" when unknown
// "google/gemma-4-E2B-it  1.20 GB / 10.2 GB  11%  45.3 MB/s  ETA 3m20s  (2/7 files)"
std::string progress_line(const DownloadProgress& p);

}  // namespace gemma4::hub
