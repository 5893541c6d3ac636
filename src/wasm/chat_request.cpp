#include "wasm/chat_request.h"

#include <set>

#include <nlohmann/json.hpp>

namespace gemma4::wasm {
namespace {

using nlohmann::json;

void check_messages(const json& messages) {
  static const std::set<std::string> roles{"system", "developer", "user", "assistant", "tool"};
  if (!messages.is_array() || messages.empty())
    throw RequestError("'messages' must be a non-empty array");
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw RequestError(where + " is not an object");
    if (!m.contains("role") || !m["role"].is_string()) throw RequestError(where + " has no string 'role'");
    if (!roles.count(m["role"].get<std::string>()))
      throw RequestError(where + ".role '" + m["role"].get<std::string>() +
                         "' is not one of system, developer, user, assistant, tool");
  }
}

double number(const json& body, const char* field) {
  if (!body[field].is_number()) throw RequestError(std::string("'") + field + "' must be a number");
  return body[field].get<double>();
}

int64_t integer(const json& body, const char* field) {
  if (!body[field].is_number_integer()) throw RequestError(std::string("'") + field + "' must be an integer");
  return body[field].get<int64_t>();
}

void read_sampling(const json& body, SamplingParams& s) {
  if (body.contains("temperature")) s.temperature = static_cast<float>(number(body, "temperature"));
  if (body.contains("top_p")) s.top_p = static_cast<float>(number(body, "top_p"));
  if (body.contains("top_k")) s.top_k = static_cast<int>(integer(body, "top_k"));
  if (body.contains("min_p")) s.min_p = static_cast<float>(number(body, "min_p"));
  if (body.contains("seed")) s.seed = static_cast<uint64_t>(integer(body, "seed"));
  try {
    validate_sampling_params(s);
  } catch (const Error& e) {
    throw RequestError(e.what());
  }
}

std::vector<std::string> stop_strings(const json& stop) {
  if (stop.is_null()) return {};
  if (stop.is_string()) return {stop.get<std::string>()};
  if (!stop.is_array()) throw RequestError("'stop' must be a string or an array of strings");
  std::vector<std::string> out;
  for (const json& s : stop) {
    if (!s.is_string()) throw RequestError("'stop' must be a string or an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

ChatRequest parse_chat_request(const std::string& json_text, const Engine& engine) {
  const json body = json::parse(json_text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) throw RequestError("the request is not a JSON object");
  if (!body.contains("messages")) throw RequestError("'messages' is missing");
  check_messages(body["messages"]);
  ChatRequest out;
  Request& r = out.request;
  r.sampling = engine.defaults().sampling;
  read_sampling(body, r.sampling);
  const char* max_field = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (body.contains(max_field) && !body[max_field].is_null()) {
    r.max_tokens = integer(body, max_field);
    if (r.max_tokens < 0) throw RequestError(std::string("'") + max_field + "' must be >= 0");
  }
  if (body.contains("stop")) r.stop_strings = stop_strings(body["stop"]);
  if (body.contains("stream")) {
    if (!body["stream"].is_boolean()) throw RequestError("'stream' must be true or false");
    out.stream = body["stream"].get<bool>();
  }
  const json tools = body.value("tools", json());
  try {
    r.prompt = engine.encode_chat(body["messages"], tools, {});
  } catch (const EngineError&) {
    throw;
  } catch (const Error& e) {
    throw RequestError(e.what());  // the chat template refused the conversation
  }
  return out;
}

}  // namespace gemma4::wasm
