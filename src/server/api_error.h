#pragma once
// Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
// Everything a client did wrong becomes an ApiError with a 4xx status; the engine's typed errors
// are mapped here, so no other file decides status codes.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/engine.h"

namespace gemma4::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type, std::string param = "", std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}

  int status;
  std::string type;   // invalid_request_error, authentication_error, not_found_error, ...
  std::string param;  // the request field at fault, empty when none
  std::string code;   // machine-readable reason, empty when none
  int retry_after_seconds = 0;  // sent as Retry-After when > 0
};

// 400 invalid_request_error naming the parameter.
ApiError invalid_request(const std::string& message, const std::string& param = "", const std::string& code = "");
// 400 for a field the server recognises but does not implement.
ApiError unsupported_field(const std::string& param, const std::string& why);

// Status and shape for an error the engine raised.
ApiError from_engine_error(const EngineError& error);

nlohmann::json error_body(const ApiError& error);
// Body for a status httplib produced on its own (404 route, 413 payload, 400 unparsable request).
ApiError error_for_status(int status);

}  // namespace gemma4::server
