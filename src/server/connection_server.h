#pragma once
// cpp-httplib's Server with its own connection handling. Stock httplib gives every open
// connection a thread of its fixed pool for as long as it stays open, including the whole
// keep-alive wait, so a few dozen idle clients starve everyone else. Here the accepting thread
// hands each new connection to IdleConnections (one epoll thread); a worker of the pool takes it
// only while a request is being read, handled and answered, then parks it again. Past
// `max_connections` a new connection is answered 503 with Retry-After at once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <httplib.h>

#include "server/connection_stream.h"
#include "server/idle_connections.h"
#include "server/metrics.h"

namespace gemma4::server {

struct ConnectionLimits {
  int workers = 64;               // requests read, handled and answered at once (streams hold one each)
  int max_connections = 512;      // open connections, idle ones included; more get 503 at once
  uint64_t max_skipped_body = 8u << 20;  // an unread body up to this size is skipped, a longer one closes
  std::chrono::milliseconds keep_alive{5000};  // idle time before a kept-alive connection is closed
  StreamTimeouts timeouts;
};

class ConnectionServer final : public httplib::Server {
 public:
  // `refusal` is the whole HTTP response sent to a connection over the limit.
  ConnectionServer(ConnectionLimits limits, ConnectionCounters& counters, std::string refusal);
  ~ConnectionServer() override;

  // After bind_to_port: httplib listens with a backlog of 5, too few for a burst of clients.
  void widen_backlog();
  // After listen_after_bind returns: closes idle connections, ends reads in progress and waits
  // for the requests being handled.
  void close_connections();

  // Whether the request this worker thread is reading was cut short (see ConnectionStream).
  static bool current_request_cut_short();

 private:
  bool process_and_close_socket(socket_t sock) override;
  void refuse(int fd);
  void enqueue(std::unique_ptr<Connection> connection);
  void work();
  void serve(std::unique_ptr<Connection> connection);

  const ConnectionLimits limits_;
  ConnectionCounters& counters_;
  const std::string refusal_;
  IdleConnections idle_;
  std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::deque<std::unique_ptr<Connection>> ready_;
  std::unordered_set<int> active_;  // sockets a worker is serving now
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
};

}  // namespace gemma4::server
