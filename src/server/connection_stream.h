#pragma once
// One accepted HTTP connection as the httplib::Stream its request parser reads and its response
// writer writes. It lives as long as the connection (bytes of a pipelined next request read ahead
// stay buffered across requests), waits with poll() (any descriptor number), and remembers whether
// the request being read was cut short: the client closed, failed or stalled before all of its
// headers and body arrived.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>

namespace gemma4::server {

struct StreamTimeouts {
  std::chrono::milliseconds read{5000};      // longest wait for the next bytes of a request
  std::chrono::milliseconds write{5000};     // longest wait for room in the send buffer
  std::chrono::milliseconds request{30000};  // longest time for one request's headers and body
};

class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, StreamTimeouts timeouts) : fd_(fd), timeouts_(timeouts) {}

  // A new request starts: its deadline runs from now and the cut-short flag clears.
  void begin_request();
  bool request_cut_short() const { return cut_short_; }
  bool has_buffered_input() const { return buffer_begin_ < buffer_.size(); }
  // Bytes handed to the parser so far over the whole connection (it reads headers byte by byte,
  // so this marks where a request's body begins).
  uint64_t consumed() const { return consumed_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  // Waits until the socket is readable, up to the read timeout and the request's deadline.
  bool wait_readable() const;

  int fd_;
  StreamTimeouts timeouts_;
  std::chrono::steady_clock::time_point request_deadline_{};
  bool cut_short_ = false;
  std::vector<char> buffer_;
  size_t buffer_begin_ = 0;
  uint64_t consumed_ = 0;
};

// The peer has closed its side or the connection broke (pending unread data counts as alive).
bool peer_has_closed(int fd);

// An accepted connection: its socket, closed with it, and the stream over it.
struct Connection {
  Connection(int fd, StreamTimeouts timeouts) : fd(fd), stream(fd, timeouts) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd;
  ConnectionStream stream;
  uint64_t requests = 0;                         // requests read so far
  std::atomic<int64_t>* open_count = nullptr;   // decremented when the connection closes
};

}  // namespace gemma4::server
