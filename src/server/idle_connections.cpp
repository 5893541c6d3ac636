#include "server/idle_connections.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "gemma4/error.h"

namespace gemma4::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSweepMs = 100;  // how often idle deadlines are checked
constexpr int kMaxEvents = 64;

}  // namespace

IdleConnections::IdleConnections(std::chrono::milliseconds idle_timeout, Ready on_ready)
    : idle_timeout_(idle_timeout), on_ready_(std::move(on_ready)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw Error("cannot create the HTTP server's epoll instance");
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &e);
  thread_ = std::thread([this] { run(); });
}

IdleConnections::~IdleConnections() {
  stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void IdleConnections::park(std::unique_ptr<Connection> connection) {
  Entry entry;
  entry.fd = connection->fd;
  entry.connection = std::move(connection);
  entry.deadline = Clock::now() + idle_timeout_;
  watch(std::move(entry));
}

void IdleConnections::drain(int fd, std::chrono::milliseconds linger) {
  Entry entry;
  entry.fd = fd;
  entry.deadline = Clock::now() + linger;
  watch(std::move(entry));
}

void IdleConnections::watch(Entry entry) {
  std::lock_guard lock(mutex_);
  if (stopped_) {
    close_entry(entry);
    return;
  }
  const int fd = entry.fd;
  entries_[fd] = std::move(entry);
  // One-shot: the fd is reported once and leaves the set before anyone else touches it.
  epoll_event e{};
  e.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  e.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e) != 0) {
    close_entry(entries_[fd]);
    entries_.erase(fd);
  }
}

void IdleConnections::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (auto& [fd, entry] : entries_) close_entry(entry);
  entries_.clear();
}

size_t IdleConnections::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void IdleConnections::close_entry(Entry& entry) {
  if (entry.connection) {
    entry.connection.reset();  // closes the socket
  } else if (entry.fd >= 0) {
    close(entry.fd);
  }
  entry.fd = -1;
}

void IdleConnections::run() {
  epoll_event events[kMaxEvents];
  auto next_sweep = Clock::now() + std::chrono::milliseconds(kSweepMs);
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, kSweepMs);
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd != wake_fd_) on_event(events[i].data.fd);
    }
    if (Clock::now() >= next_sweep) {
      close_expired();
      next_sweep = Clock::now() + std::chrono::milliseconds(kSweepMs);
    }
  }
}

void IdleConnections::on_event(int fd) {
  std::unique_lock lock(mutex_);
  auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (!entry.connection) {  // draining a refused socket: discard, re-arm until EOF
    char discard[4096];
    ssize_t got;
    while ((got = recv(fd, discard, sizeof(discard), MSG_DONTWAIT)) > 0) {
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      epoll_event e{};
      e.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
      e.data.fd = fd;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &e) == 0) return;
    }
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close_entry(entry);
    entries_.erase(it);
    return;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  std::unique_ptr<Connection> connection = std::move(entry.connection);
  entries_.erase(it);
  lock.unlock();
  // A hang-up between requests is no request: close here rather than wake a worker for it.
  if (peer_has_closed(connection->fd)) return;
  on_ready_(std::move(connection));
}

void IdleConnections::close_expired() {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
    close_entry(it->second);
    it = entries_.erase(it);
  }
}

}  // namespace gemma4::server
