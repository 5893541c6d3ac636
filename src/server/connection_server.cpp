#include "server/connection_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace gemma4::server {
namespace {

// Requests on one connection before it is closed: high, so clients keep reusing it.
constexpr uint64_t kMaxRequestsPerConnection = 100000;
constexpr std::chrono::milliseconds kRefusalLinger{1000};

// The accepting thread runs httplib's per-connection task itself: it only parks the socket.
class InlineTaskQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

thread_local const ConnectionStream* t_current_stream = nullptr;

// Where a request's body lies in the connection's byte stream, taken once its headers are parsed.
struct BodyFraming {
  bool known = false;    // headers parsed and the length understood
  bool chunked = false;
  uint64_t start = 0;    // ConnectionStream::consumed() at the end of the headers
  uint64_t length = 0;   // Content-Length
};

BodyFraming framing_of(const httplib::Request& req, uint64_t body_start) {
  BodyFraming f;
  f.start = body_start;
  if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
    f.chunked = f.known = true;
    return f;
  }
  const std::string length = req.get_header_value("Content-Length");
  if (length.empty()) {
    f.known = true;
    return f;
  }
  try {
    size_t end = 0;
    f.length = std::stoull(length, &end);
    f.known = end == length.size();
  } catch (const std::exception&) {
  }
  return f;
}

// A request answered without reading its body (a 401 before routing, a 413) leaves the body on
// the connection, where it would be parsed as the next request: skip it, or say the connection
// must close. A chunked body left unread cannot be skipped without parsing it.
bool skip_unread_body(const BodyFraming& f, ConnectionStream& stream, uint64_t limit) {
  if (!f.known) return false;
  const uint64_t read = stream.consumed() - f.start;
  if (f.chunked) return read > 0;
  if (read >= f.length) return true;
  uint64_t left = f.length - read;
  if (left > limit) return false;
  char discard[16 * 1024];
  while (left > 0) {
    const ssize_t n = stream.read(discard, static_cast<size_t>(std::min<uint64_t>(left, sizeof(discard))));
    if (n <= 0) return false;
    left -= static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

ConnectionServer::ConnectionServer(ConnectionLimits limits, ConnectionCounters& counters, std::string refusal)
    : limits_(limits),
      counters_(counters),
      refusal_(std::move(refusal)),
      idle_(limits.keep_alive, [this](std::unique_ptr<Connection> c) { enqueue(std::move(c)); }) {
  new_task_queue = [] { return new InlineTaskQueue; };
  for (int i = 0; i < limits_.workers; ++i) workers_.emplace_back([this] { work(); });
}

ConnectionServer::~ConnectionServer() { close_connections(); }

void ConnectionServer::widen_backlog() {
  if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, SOMAXCONN);  // re-listen only resizes the queue
}

bool ConnectionServer::current_request_cut_short() { return t_current_stream && t_current_stream->request_cut_short(); }

bool ConnectionServer::process_and_close_socket(socket_t sock) {
  // Responses go out as headers then body; Nagle's algorithm would hold the body back until the
  // client's delayed ACK (~40 ms) on every small response.
  const int yes = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  // httplib's request parser answers 500 to descriptors select() cannot take.
  if (stopping_ || counters_.open >= limits_.max_connections || sock >= FD_SETSIZE) {
    refuse(sock);
    return true;
  }
  ++counters_.open;
  auto connection = std::make_unique<Connection>(sock, limits_.timeouts);
  connection->open_count = &counters_.open;
  idle_.park(std::move(connection));
  return true;
}

void ConnectionServer::refuse(int fd) {
  ++counters_.refused;
  // A fresh socket's send buffer is empty, so the short answer goes out without blocking.
  [[maybe_unused]] const ssize_t n = send(fd, refusal_.data(), refusal_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  idle_.drain(fd, kRefusalLinger);
}

void ConnectionServer::enqueue(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // closes it
    ready_.push_back(std::move(connection));
  }
  ready_cv_.notify_one();
}

void ConnectionServer::work() {
  for (;;) {
    std::unique_ptr<Connection> connection;
    {
      std::unique_lock lock(mutex_);
      ready_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (stopping_) return;
      connection = std::move(ready_.front());
      ready_.pop_front();
      active_.insert(connection->fd);
    }
    serve(std::move(connection));
  }
}

// Serves requests while they keep arriving back to back, then parks the connection (or closes it).
void ConnectionServer::serve(std::unique_ptr<Connection> connection) {
  const int fd = connection->fd;
  bool keep = true;
  while (keep) {
    connection->stream.begin_request();
    const bool last = stopping_ || ++connection->requests >= kMaxRequestsPerConnection;
    bool client_closes = false;
    BodyFraming body;
    t_current_stream = &connection->stream;
    const bool answered = process_request(connection->stream, last, client_closes, [&](httplib::Request& req) {
      body = framing_of(req, connection->stream.consumed());
    });
    t_current_stream = nullptr;
    keep = answered && !client_closes && !last && !connection->stream.request_cut_short() &&
           skip_unread_body(body, connection->stream, limits_.max_skipped_body);
    if (keep && !connection->stream.has_buffered_input()) break;
  }
  {
    std::lock_guard lock(mutex_);
    active_.erase(fd);
  }
  if (keep && !stopping_) idle_.park(std::move(connection));
}

void ConnectionServer::close_connections() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    // Reads in progress end now; responses being written go on.
    for (const int fd : active_) ::shutdown(fd, SHUT_RD);
    ready_.clear();
  }
  ready_cv_.notify_all();
  idle_.stop();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

}  // namespace gemma4::server
