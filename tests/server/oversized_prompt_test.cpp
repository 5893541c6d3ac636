// Prompts past the context limit and pathological JSON bodies against the real engine and
// tokenizer (tiny-a) over HTTP: each gets an OpenAI-shaped 400 that states the limit, and the
// server keeps answering ordinary requests.
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>
#include <thread>

#include "engine/tiny_engine_options.h"
#include "server/backend.h"
#include "server/http_server.h"
#include "test_util.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

class RealEngineServer : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions engine_options = gemma4::testing::tiny_engine_options(2);
    engine_options.max_context = 4096;
    ServerOptions options;
    options.port = 0;
    options.http_threads = 8;
    options.max_body_bytes = 8u << 20;
    server_ = std::make_unique<HttpServer>(options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    server_->set_backend(make_engine_backend(Engine::open(gemma4::testing::tiny_a_dir(), engine_options)));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(120, 0);
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  httplib::Result post(const std::string& path, const std::string& body) {
    return client_->Post(path.c_str(), body, "application/json");
  }
  // The 400's error object, after checking its status and code.
  static json expect_400(const httplib::Result& res, const std::string& code) {
    EXPECT_TRUE(res);
    if (!res) return json::object();
    EXPECT_EQ(res->status, 400) << res->body.substr(0, 300);
    const json body = json::parse(res->body);
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_EQ(body["error"]["code"], code) << res->body;
    return body["error"];
  }
  // "... maximum context length is 4096 tokens. However, your prompt has at least N tokens ..."
  static void expect_context_error(const json& error, const std::string& param) {
    EXPECT_EQ(error["param"], param);
    const std::string message = error["message"];
    EXPECT_NE(message.find("maximum context length is 4096 tokens"), std::string::npos) << message;
    const size_t at = message.find("at least ");
    ASSERT_NE(at, std::string::npos) << message;
    EXPECT_GT(std::stoll(message.substr(at + 9)), 4096) << message;
  }
  void expect_ordinary_request_answered() {
    const auto res = post("/v1/chat/completions",
                          R"({"messages":[{"role":"user","content":"Hello"}],"max_tokens":4,"temperature":0})");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }

  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  int port_ = 0;
};

std::string words(size_t bytes) {
  std::string text;
  for (size_t i = 0; text.size() < bytes; ++i) text += (i % 3 == 0 ? "context " : i % 3 == 1 ? "limit " : "the ");
  return text;
}

TEST_F(RealEngineServer, TwoMebibytesOfOneCharacterIsRefusedWithTheLimit) {
  const std::string text(2u << 20, 'x');
  expect_context_error(
      expect_400(post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", text}}}}}.dump()),
                 "context_length_exceeded"),
      "messages");
  expect_context_error(expect_400(post("/v1/completions", json{{"prompt", text}}.dump()), "context_length_exceeded"),
                       "prompt");
  expect_ordinary_request_answered();
}

TEST_F(RealEngineServer, TwoMegabytesOfWordsIsRefusedWithTheLimit) {
  const std::string text = words(2'000'000);
  expect_context_error(
      expect_400(post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", text}}}}}.dump()),
                 "context_length_exceeded"),
      "messages");
  expect_context_error(expect_400(post("/v1/completions", json{{"prompt", text}}.dump()), "context_length_exceeded"),
                       "prompt");
  expect_ordinary_request_answered();
}

TEST_F(RealEngineServer, PromptJustOverTheLimitGetsItsExactCount) {
  // Short enough that the length bound cannot refuse it: it is encoded and counted exactly.
  const auto res = post("/v1/completions", json{{"prompt", words(4096 * 8)}, {"max_tokens", 1}}.dump());
  const json error = expect_400(res, "context_length_exceeded");
  const std::string message = error["message"];
  EXPECT_NE(message.find("maximum context length is 4096 tokens"), std::string::npos) << message;
}

TEST_F(RealEngineServer, PathologicalJsonIsRefusedBeforeParsing) {
  const json deep = expect_400(post("/v1/chat/completions", std::string(1u << 20, '[')), "invalid_json");
  EXPECT_NE(deep["message"].get<std::string>().find("nests deeper than 100 levels"), std::string::npos) << deep;
  std::string arrays = "{\"messages\":[";
  for (int i = 0; i < 300000; ++i) arrays += "[],";
  arrays += "[]]}";
  const json many = expect_400(post("/v1/chat/completions", arrays), "invalid_json");
  EXPECT_NE(many["message"].get<std::string>().find("holds more than 131072"), std::string::npos) << many;
  // Within the limits, brackets inside strings do not count.
  const auto res = post("/v1/chat/completions",
                        json{{"messages", {{{"role", "user"}, {"content", std::string(2000, '[')}}}}, {"max_tokens", 2}}
                            .dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

}  // namespace
}  // namespace gemma4::server
