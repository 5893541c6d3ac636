#pragma once
// POST /v1/chat/completions and POST /v1/completions: parse, build the prompt, submit, then
// answer with one JSON object or an SSE stream. A client that goes away cancels its request.
#include <httplib.h>

#include "server/server_state.h"

namespace gemma4::server {

void handle_chat_completions(ServerState& state, const std::shared_ptr<Backend>& backend, const httplib::Request& req,
                             httplib::Response& res);
void handle_completions(ServerState& state, const std::shared_ptr<Backend>& backend, const httplib::Request& req,
                        httplib::Response& res);

}  // namespace gemma4::server
