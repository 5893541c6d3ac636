#pragma once
// Connections waiting for their next request (new ones, and kept-alive ones between requests),
// watched by one epoll thread instead of one blocked HTTP worker each, so idle clients cost a
// descriptor, not a thread. A connection whose request starts arriving goes to `on_ready`; one
// that stays idle past the keep-alive timeout, or whose peer hangs up, is closed.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "server/connection_stream.h"

namespace gemma4::server {

class IdleConnections {
 public:
  using Ready = std::function<void(std::unique_ptr<Connection>)>;

  IdleConnections(std::chrono::milliseconds idle_timeout, Ready on_ready);
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Watches `connection` until bytes arrive (also bytes already waiting) or it times out.
  void park(std::unique_ptr<Connection> connection);
  // A refused connection whose answer is already sent: its input is read and discarded (closing
  // with unread input would reset the connection and could destroy that answer) until the peer
  // closes or `linger` passes.
  void drain(int fd, std::chrono::milliseconds linger);
  // Closes everything watched and ends the thread; later connections are closed at once.
  void stop();
  size_t size() const;

 private:
  struct Entry {
    std::unique_ptr<Connection> connection;  // null: a refused socket being drained
    int fd = -1;
    std::chrono::steady_clock::time_point deadline;
  };
  void watch(Entry entry);
  void run();
  void on_event(int fd);
  void close_expired();
  static void close_entry(Entry& entry);

  const std::chrono::milliseconds idle_timeout_;
  const Ready on_ready_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that interrupts epoll_wait on stop
  mutable std::mutex mutex_;
  std::unordered_map<int, Entry> entries_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace gemma4::server
