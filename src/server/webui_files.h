#pragma once
// The chat page's files (web/ui), compiled into the binary by embed_webui.cmake.
#include <span>
#include <string_view>

namespace gemma4::server {

struct WebUiFile {
  std::string_view path;     // under /, e.g. "/index.html", "/backends/server.js"
  std::string_view content;
  std::string_view etag;     // quoted, as the ETag header carries it
};

// Sorted by path; defined in the generated webui_files.cpp.
std::span<const WebUiFile> webui_files();

}  // namespace gemma4::server
