#include "server/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gemma4::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadChunk = 16 * 1024;

int poll_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  } while (n < 0 && errno == EINTR);
  return n > 0 ? p.revents : n;
}

void address_and_port(const sockaddr_storage& a, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    port = ntohs(v4.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    port = ntohs(v6.sin6_port);
  }
  ip = text;
}

}  // namespace

bool peer_has_closed(int fd) {
  const int revents = poll_for(fd, POLLIN | POLLRDHUP, std::chrono::milliseconds(0));
  if (revents < 0) return true;
  if (revents == 0) return false;
  if (revents & (POLLHUP | POLLERR)) return true;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

Connection::~Connection() {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  if (open_count) --*open_count;
}

void ConnectionStream::begin_request() {
  request_deadline_ = Clock::now() + timeouts_.request;
  cut_short_ = false;
}

bool ConnectionStream::wait_readable() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(request_deadline_ - Clock::now());
  const int revents = poll_for(fd_, POLLIN, std::min(timeouts_.read, left));
  return revents > 0;
}

bool ConnectionStream::is_readable() const { return has_buffered_input() || wait_readable(); }

bool ConnectionStream::is_writable() const {
  return poll_for(fd_, POLLOUT, timeouts_.write) > 0 && !peer_has_closed(fd_);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (!has_buffered_input()) {
    if (!wait_readable()) {
      cut_short_ = true;  // stalled past the read timeout or the request's deadline
      return -1;
    }
    buffer_.resize(kReadChunk);
    buffer_begin_ = 0;
    ssize_t n;
    do {
      n = recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      buffer_.clear();
      cut_short_ = true;  // closed or reset mid-request
      return n;
    }
    buffer_.resize(static_cast<size_t>(n));
  }
  const size_t taken = std::min(size, buffer_.size() - buffer_begin_);
  std::memcpy(ptr, buffer_.data() + buffer_begin_, taken);
  buffer_begin_ += taken;
  consumed_ += taken;
  return static_cast<ssize_t>(taken);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (poll_for(fd_, POLLOUT, timeouts_.write) <= 0) return -1;
  ssize_t n;
  do {
    n = send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0) address_and_port(a, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0) address_and_port(a, ip, port);
}

}  // namespace gemma4::server
