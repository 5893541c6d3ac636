#include "server/info_routes.h"

#include <chrono>

#include "gemma4/error.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

json model_object(const ServerState& state, const Backend& backend) {
  static const int64_t started =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"id", state.served_model_name()},
          {"object", "model"},
          {"created", started},
          {"owned_by", "gemma4"},
          {"max_model_len", backend.max_context()}};
}

}  // namespace

void handle_health(ServerState& state, httplib::Response& res) {
  if (state.shutting_down) {
    res.set_header("Retry-After", "5");
    send_json(res, {{"status", "shutting_down"}}, 503);
  } else if (!state.backend()) {
    res.set_header("Retry-After", "1");
    send_json(res, {{"status", "loading"}}, 503);
  } else {
    send_json(res, {{"status", "ok"}});
  }
}

void handle_models(ServerState& state, const Backend& backend, httplib::Response& res) {
  send_json(res, {{"object", "list"}, {"data", json::array({model_object(state, backend)})}});
}

void handle_model(ServerState& state, const Backend& backend, const std::string& id, httplib::Response& res) {
  if (id != state.served_model_name() && id != backend.model_name()) {
    throw ApiError(404, "The model '" + id + "' does not exist.", "invalid_request_error", "model", "model_not_found");
  }
  send_json(res, model_object(state, backend));
}

void handle_metrics(ServerState& state, httplib::Response& res) {
  const auto backend = state.backend();
  const std::optional<EngineStats> stats = backend ? std::optional<EngineStats>(backend->stats()) : std::nullopt;
  res.set_content(state.metrics().render(stats), "text/plain; version=0.0.4");
}

// {"content": TEXT, "add_special": bool (prepend <bos>), "with_pieces": bool}
void handle_tokenize(const Backend& backend, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req);
  const auto content = fields::string(body, "content");
  if (!content) throw invalid_request("'content' must be a string", "content");
  std::vector<int32_t> tokens = backend.encode(*content);
  const auto bos = backend.defaults().bos_token_id;
  if (fields::boolean(body, "add_special").value_or(false) && bos) tokens.insert(tokens.begin(), *bos);
  if (!fields::boolean(body, "with_pieces").value_or(false)) {
    send_json(res, {{"tokens", tokens}});
    return;
  }
  json pieces = json::array();
  for (const int32_t id : tokens) {
    pieces.push_back({{"id", id}, {"piece", backend.decode(std::span<const int32_t>(&id, 1))}});
  }
  send_json(res, {{"tokens", pieces}});
}

// {"tokens": [ids]}
void handle_detokenize(const Backend& backend, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req);
  const json* tokens = fields::array(body, "tokens");
  if (!tokens) throw invalid_request("'tokens' must be an array of token ids", "tokens");
  std::vector<int32_t> ids;
  for (const json& id : *tokens) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= backend.vocab_size()) {
      throw invalid_request("'tokens' must hold token ids in [0, " + std::to_string(backend.vocab_size()) + ")", "tokens");
    }
    ids.push_back(id.get<int32_t>());
  }
  send_json(res, {{"content", backend.decode(ids)}});
}

}  // namespace gemma4::server
