// How the HTTP layer treats connections, over real sockets on a scripted backend: small responses
// on a kept-alive connection are not held back by Nagle's algorithm, idle and slow clients do not
// starve the others, a connection over the limit gets 503, and requests cut short are counted
// apart from answered ones.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fake_backend.h"
#include "server/http_server.h"

namespace gemma4::server {
namespace {

using Clock = std::chrono::steady_clock;
using testing::FakeBackend;

class ConnectionFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    server_->set_backend(backend_);
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // The /metrics text (retried while a connection is refused).
  std::string metrics_text() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      httplib::Client client("127.0.0.1", port_);
      if (auto res = client.Get("/metrics"); res && res->status == 200) return res->body;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }
  // The value of the sample line `name value`, or -1 when there is none.
  static int64_t metric_value(const std::string& metrics, const std::string& name) {
    const size_t at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size() + 2));
  }

  std::shared_ptr<FakeBackend> backend_ = std::make_shared<FakeBackend>();
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

// A client socket speaking HTTP/1.1 by hand: one send() per request, responses read to their end.
class KeptAliveClient {
 public:
  explicit KeptAliveClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~KeptAliveClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void close_now() {
    ::close(fd_);
    fd_ = -1;
  }
  bool send_text(const std::string& text) { return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()); }
  // One whole response (headers and a Content-Length body); empty if the server closed first.
  std::string read_response() {
    for (;;) {
      const size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t length = content_length(buffer_.substr(0, head_end));
        if (buffer_.size() >= head_end + 4 + length) {
          std::string response = buffer_.substr(0, head_end + 4 + length);
          buffer_.erase(0, response.size());
          return response;
        }
      }
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  static size_t content_length(const std::string& head) {
    const size_t at = head.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
  }
  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

const std::string kHealthRequest = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

// The response's header and body go out in separate writes; with Nagle's algorithm on, the second
// waits for the client's delayed ACK (about 40 ms on Linux) on every request.
TEST_F(ConnectionFixture, SmallResponsesOnAKeptAliveConnectionAreNotDelayed) {
  start();
  KeptAliveClient client(port_);
  ASSERT_TRUE(client.connected());
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    ASSERT_TRUE(client.send_text(kHealthRequest));
    const std::string response = client.read_response();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ASSERT_NE(response.find("200 OK"), std::string::npos) << response;
  }
  EXPECT_LT(median(ms), 20.0) << "median of 20 kept-alive /health requests in ms";
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Idle kept-alive clients used to hold one worker each for the whole keep-alive timeout, and a
// client sending its body slowly holds one while it reads: 200 of the first and 4 of the second
// are more than the pool has workers, yet /health and a chat completion are answered at once.
TEST_F(ConnectionFixture, IdleAndSlowClientsDoNotStarveOthers) {
  ServerOptions options;
  options.http_threads = 16;
  start(options);
  std::vector<std::unique_ptr<KeptAliveClient>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<KeptAliveClient>(port_));
    ASSERT_TRUE(idle.back()->connected());
    ASSERT_TRUE(idle.back()->send_text(kHealthRequest));
    ASSERT_NE(idle.back()->read_response().find("200 OK"), std::string::npos) << "idle client " << i;
  }
  std::vector<std::unique_ptr<KeptAliveClient>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<KeptAliveClient>(port_));
    ASSERT_TRUE(slow.back()->send_text("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                       "Content-Length: 1000\r\n\r\n{\"messages\":"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the slow bodies are being read
  double worst_ms = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    KeptAliveClient fresh(port_);
    ASSERT_TRUE(fresh.send_text(kHealthRequest));
    ASSERT_NE(fresh.read_response().find("200 OK"), std::string::npos);
    worst_ms = std::max(worst_ms, ms_since(t0));
  }
  EXPECT_LT(worst_ms, 500.0) << "slowest of 5 /health requests (connect included), ms";
  httplib::Client client("127.0.0.1", port_);
  const auto t0 = Clock::now();
  auto chat = client.Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"Hi"}]})", "application/json");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->status, 200) << chat->body;
  EXPECT_LT(ms_since(t0), 500.0);
  // The idle connections are still usable.
  ASSERT_TRUE(idle.front()->send_text(kHealthRequest));
  EXPECT_NE(idle.front()->read_response().find("200 OK"), std::string::npos);
}

TEST_F(ConnectionFixture, ConnectionsOverTheLimitGet503WithRetryAfter) {
  ServerOptions options;
  options.max_connections = 3;
  start(options);
  std::vector<std::unique_ptr<KeptAliveClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<KeptAliveClient>(port_));
    ASSERT_TRUE(held.back()->send_text(kHealthRequest));
    ASSERT_NE(held.back()->read_response().find("200 OK"), std::string::npos);
  }
  KeptAliveClient over(port_);
  ASSERT_TRUE(over.connected());
  over.send_text(kHealthRequest);
  const std::string refused = over.read_response();
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("\"code\":\"too_many_connections\""), std::string::npos) << refused;
  // Once one closes, a new connection is served.
  held.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    KeptAliveClient next(port_);
    next.send_text(kHealthRequest);
    served = next.read_response().find("200 OK") != std::string::npos;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
  // Retries may have been refused too while the server noticed the closed connection.
  const std::string metrics = metrics_text();
  EXPECT_GE(metric_value(metrics, "gemma4_http_connections_refused_total"), 1) << metrics;
}

// A client that sends its headers and part of its body, then hangs up, made no mistake the
// server answered: it is counted as aborted, not as a 400.
TEST_F(ConnectionFixture, HalfSentBodiesAreCountedAsAbortedNotAs400) {
  start();
  {
    KeptAliveClient quitter(port_);
    ASSERT_TRUE(quitter.send_text("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 500\r\n\r\n{\"messages\":[{\"role\""));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    quitter.close_now();
  }
  httplib::Client client("127.0.0.1", port_);
  auto bad = client.Post("/v1/chat/completions", "{not json", "application/json");  // a real 400
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  // A request is counted after its answer is written: wait for both counts.
  const std::string aborted = "gemma4_http_requests_aborted_total", bad_request = "gemma4_http_requests_total{code=\"400\"}";
  std::string metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {
    metrics = metrics_text();
    if (metric_value(metrics, aborted) >= 1 && metric_value(metrics, bad_request) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metric_value(metrics, aborted), 1) << metrics;
  EXPECT_EQ(metric_value(metrics, bad_request), 1) << metrics;
}

// A request refused before its body is read (a wrong API key) leaves the body on the connection;
// the next request on it must still be parsed from its own first byte.
TEST_F(ConnectionFixture, AnUnreadBodyDoesNotCorruptTheNextRequest) {
  ServerOptions options;
  options.api_key = "sekret";
  start(options);
  KeptAliveClient client(port_);
  const std::string body = R"({"messages":[{"role":"user","content":"Hi"}]})";
  ASSERT_TRUE(client.send_text("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                               "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body));
  EXPECT_NE(client.read_response().find("HTTP/1.1 401"), std::string::npos);
  ASSERT_TRUE(client.send_text("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\n\r\n"));
  const std::string models = client.read_response();
  EXPECT_NE(models.find("HTTP/1.1 200"), std::string::npos) << models;
}

}  // namespace
}  // namespace gemma4::server
