#include "server/server_state.h"

#include "server/heap_trim.h"
#include "server/json_body_shape.h"
#include "server/openai_json.h"

namespace gemma4::server {

std::string ServerState::served_model_name() const {
  if (!options_.model_alias.empty()) return options_.model_alias;
  const auto b = backend();
  return b ? b->model_name() : "";
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(to_json_text(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
  if (error.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(error.retry_after_seconds));
  send_json(res, error_body(error), error.status);
}

nlohmann::json parse_json_body(const httplib::Request& req) {
  check_json_body_shape(req.body);
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    if (req.body.size() >= kTrimAfterBodyBytes) trim_heap();  // the partial DOM is freed by now
    throw invalid_request("We could not parse the JSON body of your request: it is not valid JSON.", "", "invalid_json");
  }
  if (!body.is_object()) throw invalid_request("The request body must be a JSON object.", "", "invalid_json");
  return body;
}

}  // namespace gemma4::server
