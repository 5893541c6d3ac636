#pragma once
// The routes besides completions: /health, /v1/models, /metrics, /tokenize, /detokenize.
#include <httplib.h>

#include "server/server_state.h"

namespace gemma4::server {

void handle_health(ServerState& state, httplib::Response& res);
void handle_models(ServerState& state, const Backend& backend, httplib::Response& res);
void handle_model(ServerState& state, const Backend& backend, const std::string& id, httplib::Response& res);
void handle_metrics(ServerState& state, httplib::Response& res);
void handle_tokenize(const Backend& backend, const httplib::Request& req, httplib::Response& res);
void handle_detokenize(const Backend& backend, const httplib::Request& req, httplib::Response& res);

}  // namespace gemma4::server
