#pragma once
// The few HTTP exchanges the Hub needs, over libcurl (TLS, proxies from HTTPS_PROXY / NO_PROXY,
// redirects, ranges). Transport failures throw HubError(Network); HTTP statuses are returned.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gemma4::hub {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, of the last response
  std::string body;                            // error bodies and small documents only
  std::string url;                             // after redirects
  std::string header(const std::string& lower_name) const;
};

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool head = false;
  bool follow_redirects = true;
  uint64_t range_from = 0;           // > 0: "Range: bytes=N-"
  // GET bodies of 2xx responses go here instead of `body` (with the status, 200 or 206);
  // returning false aborts the transfer.
  std::function<bool(long status, const char* data, size_t n)> sink;
  const std::atomic<bool>* cancel = nullptr;
};

// How a transfer ended when no HTTP status could be read to the end.
enum class Transport { Ok, Interrupted, Aborted };

// Throws HubError(Network) when the server cannot be reached at all. A body cut short (connection
// dropped, stalled) returns with `transport` = Interrupted so the caller can resume.
HttpResponse http_request(const HttpRequest& request, Transport* transport = nullptr);

// "https://host:port" of an absolute URL ("" when relative).
std::string url_origin(const std::string& url);
// Percent-encodes everything but unreserved characters (and '/' when keep_slash).
std::string url_encode(const std::string& text, bool keep_slash);

}  // namespace gemma4::hub
