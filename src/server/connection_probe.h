#pragma once
// Detects that the client of a request being handled has closed its connection, so a
// non-streaming request can be cancelled while it waits (streaming requests learn it from failed
// writes). cpp-httplib does not hand its socket to handlers, so the probe finds it among this
// process's descriptors by the connection's two endpoints, which the Request does carry. The
// descriptor stays open while the handler runs (httplib closes it after the response).
#include <string>

namespace gemma4::server {

class ConnectionProbe {
 public:
  // Finds the socket of the connection (remote_addr:remote_port -> local_port). Linux only; when
  // it is not found, peer_closed() is always false.
  ConnectionProbe(const std::string& remote_addr, int remote_port, int local_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed its side (an orderly FIN or a reset). Does not consume data.
  bool peer_closed() const;

 private:
  int fd_ = -1;
};

}  // namespace gemma4::server
