#include "server/webui_routes.h"

#include <string>

namespace gemma4::server {
namespace {

struct TypeByExtension {
  std::string_view extension;
  std::string_view type;
};

// Module scripts must come as JavaScript or the browser refuses them.
constexpr TypeByExtension kTypes[] = {
    {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},           {".svg", "image/svg+xml"},
    {".png", "image/png"},                   {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},   {".wasm", "application/wasm"},
};

std::string regex_escaped(std::string_view path) {
  std::string out;
  for (const char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void serve_file(const WebUiFile& file, const httplib::Request& req, httplib::Response& res) {
  // The names carry no content hash, so the browser revalidates every time and gets a 304 while
  // the file is unchanged: a new binary's page is never hidden behind a stale cache.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", std::string(file.etag));
  res.set_header("X-Content-Type-Options", "nosniff");
  if (req.get_header_value("If-None-Match") == file.etag) {
    res.status = 304;
    return;
  }
  res.set_content(file.content.data(), file.content.size(), std::string(webui_content_type(file.path)));
}

}  // namespace

const WebUiFile* find_webui_file(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebUiFile& file : webui_files()) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

std::string_view webui_content_type(std::string_view path) {
  for (const auto& [extension, type] : kTypes) {
    if (path.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

void install_webui_routes(httplib::Server& http) {
  const WebUiFile* index = find_webui_file("/");
  if (index) {
    http.Get("/", [index](const httplib::Request& req, httplib::Response& res) { serve_file(*index, req, res); });
  }
  for (const WebUiFile& file : webui_files()) {
    http.Get(regex_escaped(file.path), [&file](const httplib::Request& req, httplib::Response& res) { serve_file(file, req, res); });
  }
}

}  // namespace gemma4::server
