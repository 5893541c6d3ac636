// How the HTTP layer treats connections, over real sockets on a scripted backend: small responses
// on a kept-alive connection are not held back by Nagle's algorithm.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

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
  ~KeptAliveClient() { ::close(fd_); }
  bool connected() const { return connected_; }
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

}  // namespace
}  // namespace gemma4::server
