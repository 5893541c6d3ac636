// The HTTP layer end to end over real sockets, on a scripted backend: routes, SSE framing, error
// bodies and statuses, API keys, and cancellation when the client goes away.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "fake_backend.h"
#include "server/http_server.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;
using testing::FakeBackend;

class ServerFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}, bool with_backend = true) {
    options.port = 0;
    options.http_threads = 16;
    options.max_body_bytes = 4096;
    server_ = std::make_unique<HttpServer>(options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    if (with_backend) server_->set_backend(backend_);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) {
    return client_->Post(path.c_str(), headers, body, "application/json");
  }

  // Waits until `condition` holds, up to `limit`.
  template <typename Fn>
  static bool eventually(Fn condition, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  }

  std::shared_ptr<FakeBackend> backend_ = std::make_shared<FakeBackend>();
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  int port_ = 0;
};

// A raw HTTP/1.1 connection, for streaming reads and for hanging up mid-request.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) ADD_FAILURE() << "connect failed";
  }
  ~RawConnection() { close_now(); }
  void send_post(const std::string& path, const std::string& body) {
    const std::string request = "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(::send(fd_, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  }
  // Reads until `marker` appears or the peer closes.
  std::string read_until(const std::string& marker) {
    char buf[4096];
    while (received_.find(marker) == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  std::string received_;
};

std::vector<json> sse_events(const std::string& raw, bool& saw_done) {
  std::vector<json> events;
  saw_done = false;
  size_t pos = 0;
  while ((pos = raw.find("data: ", pos)) != std::string::npos) {
    const size_t end = raw.find("\n\n", pos);
    const std::string payload = raw.substr(pos + 6, end - pos - 6);
    if (payload == "[DONE]") {
      saw_done = true;
    } else {
      events.push_back(json::parse(payload));
    }
    pos = end;
  }
  return events;
}

const std::string kChat = R"({"model":"fake-model","messages":[{"role":"user","content":"Hi"}]})";

TEST_F(ServerFixture, HealthIs503WhileLoadingThen200) {
  start({}, /*with_backend=*/false);
  auto health = client_->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  auto chat = post("/v1/chat/completions", kChat);
  EXPECT_EQ(chat->status, 503);
  EXPECT_TRUE(chat->has_header("Retry-After"));
  EXPECT_EQ(json::parse(chat->body)["error"]["code"], "model_loading");
  server_->set_backend(backend_);
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServerFixture, NonStreamingChat) {
  start();
  auto res = post("/v1/chat/completions", kChat);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello world");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["completion_tokens"], 11);
}

TEST_F(ServerFixture, StreamingChatWithUsage) {
  start();
  RawConnection c(port_);
  c.send_post("/v1/chat/completions",
              R"({"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true},"n":2})");
  bool done = false;
  const auto events = sse_events(c.read_until("data: [DONE]"), done);
  EXPECT_TRUE(done);
  std::string text[2];
  int finishes = 0;
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json& choice = events[i]["choices"][0];
    EXPECT_TRUE(events[i]["usage"].is_null());
    text[choice["index"].get<int>()] += choice["delta"].value("content", "");
    if (!choice["finish_reason"].is_null()) ++finishes;
  }
  EXPECT_EQ(text[0], "Hello world");
  EXPECT_EQ(text[1], "Hello world");
  EXPECT_EQ(finishes, 2);
  EXPECT_EQ(events.back()["choices"], json::array());
  EXPECT_EQ(events.back()["usage"]["completion_tokens"], 22);
}

TEST_F(ServerFixture, TextCompletion) {
  start();
  auto res = post("/v1/completions", R"({"prompt":"Once","max_tokens":5,"logprobs":1})");
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], "Hello");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["choices"][0]["logprobs"]["tokens"].size(), 5u);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 5);  // <bos> + 4 bytes
}

TEST_F(ServerFixture, ErrorsHaveOpenAiShapeAndStatus) {
  start();
  const auto expect_error = [](const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    const json body = json::parse(res->body);
    ASSERT_TRUE(body.contains("error")) << res->body;
    for (const char* key : {"message", "type", "param", "code"}) EXPECT_TRUE(body["error"].contains(key)) << key;
    if (!code.empty()) EXPECT_EQ(body["error"]["code"], code) << res->body;
  };
  expect_error(post("/v1/chat/completions", "{not json"), 400, "invalid_json");
  expect_error(post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"temperature":"x"})"), 400, "");
  expect_error(post("/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})"), 404,
               "model_not_found");
  expect_error(post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1000})"), 400,
               "context_length_exceeded");
  expect_error(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + std::string(5000, 'a') + "\"}]}"),
               413, "request_too_large");
  expect_error(client_->Get("/v1/nothing"), 404, "unknown_url");
  backend_->overloaded = true;
  auto busy = post("/v1/chat/completions", kChat);
  expect_error(busy, 429, "queue_full");
  EXPECT_TRUE(busy->has_header("Retry-After"));
}

TEST_F(ServerFixture, ApiKey) {
  ServerOptions options;
  options.api_key = "sekret";
  start(options);
  EXPECT_EQ(post("/v1/chat/completions", kChat)->status, 401);
  EXPECT_EQ(post("/v1/chat/completions", kChat, {{"Authorization", "Bearer wrong!"}})->status, 401);
  EXPECT_EQ(json::parse(post("/v1/chat/completions", kChat)->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(post("/v1/chat/completions", kChat, {{"Authorization", "Bearer sekret"}})->status, 200);
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServerFixture, ModelsTokenizeDetokenizeMetrics) {
  ServerOptions options;
  options.model_alias = "alias";
  start(options);
  const json models = json::parse(client_->Get("/v1/models")->body);
  EXPECT_EQ(models["data"][0]["id"], "alias");
  EXPECT_EQ(json::parse(post("/tokenize", R"({"content":"ab"})")->body)["tokens"], json::array({107, 108}));
  EXPECT_EQ(json::parse(post("/detokenize", R"({"tokens":[107,108]})")->body)["content"], "ab");
  EXPECT_EQ(post("/detokenize", R"({"tokens":[99999]})")->status, 400);
  post("/v1/chat/completions", R"({"model":"alias","messages":[{"role":"user","content":"Hi"}]})");
  const std::string metrics = client_->Get("/metrics")->body;
  EXPECT_NE(metrics.find("gemma4_time_to_first_token_seconds_count 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gemma4_inter_token_latency_seconds_count 10"), std::string::npos) << metrics;
}

TEST_F(ServerFixture, StreamingClientThatHangsUpIsCancelled) {
  backend_->reply = std::string(2000, 'x');
  backend_->token_delay = std::chrono::milliseconds(5);
  start();
  {
    RawConnection c(port_);
    c.send_post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"Hi"}],"stream":true})");
    c.read_until("\"x\"");
  }
  EXPECT_TRUE(eventually([&] { return backend_->cancelled == 1; }, std::chrono::milliseconds(1000)));
  EXPECT_TRUE(eventually([&] { return backend_->running == 0; }));
}

TEST_F(ServerFixture, NonStreamingClientThatHangsUpIsCancelled) {
  backend_->reply = std::string(2000, 'x');
  backend_->token_delay = std::chrono::milliseconds(5);
  start();
  {
    RawConnection c(port_);
    c.send_post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"Hi"}]})");
    EXPECT_TRUE(eventually([&] { return backend_->running == 1; }));
  }
  EXPECT_TRUE(eventually([&] { return backend_->cancelled == 1; }, std::chrono::milliseconds(1000)));
}

TEST_F(ServerFixture, RequestCancelledByTheEngineIsA503NotATruncatedAnswer) {
  backend_->reply = std::string(2000, 'x');
  backend_->token_delay = std::chrono::milliseconds(5);
  start();
  std::thread shutdown([&] {
    if (eventually([&] { return backend_->running == 1; })) backend_->shutdown();
  });
  auto res = post("/v1/chat/completions", kChat);
  shutdown.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "shutting_down");
  EXPECT_TRUE(res->has_header("Retry-After"));
}

TEST_F(ServerFixture, CorsPreflight) {
  ServerOptions options;
  options.cors_origin = "https://app.example";
  start(options);
  auto res = client_->Options("/v1/chat/completions");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
}

}  // namespace
}  // namespace gemma4::server
