// The chat page compiled into the binary: the embedded files are exactly web/ui's, they come with
// the right Content-Type and cache headers, load without the API key, and --no-webui removes them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fake_backend.h"
#include "server/http_server.h"
#include "server/webui_routes.h"

namespace gemma4::server {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WebUiFiles, AreExactlyTheFilesOfWebUi) {
  const fs::path root = fs::path(GEMMA4_TEST_DATA) / ".." / ".." / "web" / "ui";
  size_t on_disk = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
    ++on_disk;
    std::string path = "/";
    path += fs::relative(entry.path(), root).generic_string();
    const WebUiFile* file = find_webui_file(path);
    ASSERT_NE(file, nullptr) << path;
    EXPECT_EQ(file->content, read_file(entry.path())) << path;
    EXPECT_EQ(file->etag.size(), 18u) << path;  // 16 hex digits in quotes
  }
  EXPECT_EQ(webui_files().size(), on_disk);
  EXPECT_GE(on_disk, 5u);
  ASSERT_NE(find_webui_file("/"), nullptr);
  EXPECT_EQ(find_webui_file("/")->path, "/index.html");
  EXPECT_EQ(find_webui_file("/missing.js"), nullptr);
  EXPECT_EQ(find_webui_file("/../CMakeLists.txt"), nullptr);
}

TEST(WebUiFiles, ContentTypes) {
  EXPECT_EQ(webui_content_type("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(webui_content_type("/backends/server.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(webui_content_type("/app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(webui_content_type("/blob.bin"), "application/octet-stream");
  for (const WebUiFile& file : webui_files()) EXPECT_NE(webui_content_type(file.path), "application/octet-stream") << file.path;
}

class WebUiServer : public ::testing::Test {
 protected:
  void start(ServerOptions options) {
    options.port = 0;
    options.http_threads = 4;
    server_ = std::make_unique<HttpServer>(options);
    const int port = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    server_->set_backend(std::make_shared<testing::FakeBackend>());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

TEST_F(WebUiServer, PageLoadsWithoutTheKeyButTheApiNeedsIt) {
  ServerOptions options;
  options.api_key = "secret";
  start(options);
  auto index = client_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->get_header_value("Cache-Control"), "no-cache");
  EXPECT_EQ(index->body, find_webui_file("/index.html")->content);
  const std::string etag = index->get_header_value("ETag");
  auto again = client_->Get("/", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto script = client_->Get("/backends/server.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  // Only GETs of the page's own files are public.
  EXPECT_EQ(client_->Get("/v1/models")->status, 401);
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  EXPECT_EQ(client_->Get("/secret.txt")->status, 401);
  EXPECT_EQ(client_->Post("/", "{}", "application/json")->status, 401);
  EXPECT_EQ(client_->Get("/v1/models", {{"Authorization", "Bearer secret"}})->status, 200);
}

TEST_F(WebUiServer, NoWebUiMeansNotFound) {
  ServerOptions options;
  options.webui = false;
  start(options);
  for (const char* path : {"/", "/index.html", "/app.js"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_NE(res->body.find("\"error\""), std::string::npos) << path;
  }
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

}  // namespace
}  // namespace gemma4::server
