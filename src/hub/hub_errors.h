#pragma once
// Hub HTTP failures worded for people: what went wrong and what to do about it.
#include <string>

#include "gemma4/hub.h"
#include "hub/http.h"

namespace gemma4::hub {

struct ErrorContext {
  std::string endpoint, repo_id, revision, file;  // file empty for repository-level requests
  bool has_token = false;
};

// Throws the HubError matching a non-2xx response (X-Error-Code first, then the status).
[[noreturn]] void throw_for_status(const HttpResponse& response, const ErrorContext& context);

// The Hub could not be reached and the cache cannot stand in.
[[noreturn]] void throw_unreachable(const HubError& cause, const ErrorContext& context);

}  // namespace gemma4::hub
