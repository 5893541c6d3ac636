#include "server/api_error.h"

namespace gemma4::server {

ApiError invalid_request(const std::string& message, const std::string& param, const std::string& code) {
  return ApiError(400, message, "invalid_request_error", param, code);
}

ApiError unsupported_field(const std::string& param, const std::string& why) {
  return ApiError(400, "'" + param + "' is not supported by this server: " + why, "invalid_request_error", param,
                  "unsupported_parameter");
}

ApiError from_engine_error(const EngineError& error) {
  switch (error.kind()) {
    case ErrorKind::BadRequest:
      return invalid_request(error.what());
    case ErrorKind::ContextOverflow:
      return invalid_request(error.what(), "messages", "context_length_exceeded");
    case ErrorKind::OutOfMemory:
      // The request can never fit this server's KV pool: retrying will not help, a smaller one will.
      return invalid_request(error.what(), "messages", "kv_capacity_exceeded");
    case ErrorKind::Overloaded: {
      ApiError e(429, error.what(), "rate_limit_error", "", "queue_full");
      e.retry_after_seconds = 1;
      return e;
    }
    case ErrorKind::ShuttingDown: {
      ApiError e(503, error.what(), "server_error", "", "shutting_down");
      e.retry_after_seconds = 5;
      return e;
    }
    case ErrorKind::Cancelled:
      return ApiError(499, error.what(), "server_error", "", "cancelled");
    case ErrorKind::ModelError:
      break;
  }
  return ApiError(500, error.what(), "server_error", "", "model_error");
}

nlohmann::json error_body(const ApiError& error) {
  const auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error",
           {{"message", error.what()}, {"type", error.type}, {"param", or_null(error.param)}, {"code", or_null(error.code)}}}};
}

ApiError error_for_status(int status) {
  switch (status) {
    case 400:
      return invalid_request("The request could not be parsed as HTTP.");
    case 404:
      return ApiError(404, "Unknown endpoint. This server serves /v1/chat/completions, /v1/completions, /v1/models, "
                           "/health, /metrics, /tokenize and /detokenize.",
                      "not_found_error", "", "unknown_url");
    case 405:
      return ApiError(405, "Method not allowed for this endpoint.", "invalid_request_error");
    case 413:
      return ApiError(413, "The request body is larger than this server accepts.", "invalid_request_error", "",
                      "request_too_large");
    case 414:
      return ApiError(414, "The request URI is too long.", "invalid_request_error");
    default:
      break;
  }
  return ApiError(status, "HTTP error " + std::to_string(status), status >= 500 ? "server_error" : "invalid_request_error");
}

}  // namespace gemma4::server
