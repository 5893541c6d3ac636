#include "server/generation_params.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

void parse_sampling(const json& body, SamplingParams& s) {
  if (auto v = fields::number(body, "temperature", 0.0, 2.0)) s.temperature = static_cast<float>(*v);
  if (auto v = fields::number(body, "top_p", 0.0, 1.0)) s.top_p = static_cast<float>(*v);
  if (auto v = fields::integer(body, "top_k", -1, kIntMax)) s.top_k = static_cast<int>(*v);
  if (auto v = fields::number(body, "min_p", 0.0, 1.0)) s.min_p = static_cast<float>(*v);
  if (auto v = fields::number(body, "presence_penalty", -2.0, 2.0)) s.presence_penalty = static_cast<float>(*v);
  if (auto v = fields::number(body, "frequency_penalty", -2.0, 2.0)) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = fields::number(body, "repetition_penalty", 0.0, 10.0)) {
    if (*v <= 0.0) throw invalid_request("'repetition_penalty' must be greater than 0", "repetition_penalty");
    s.repetition_penalty = static_cast<float>(*v);
  }
}

void parse_logit_bias(const json& body, int32_t vocab_size, SamplingParams& s) {
  const json* bias = fields::object(body, "logit_bias");
  if (!bias) return;
  for (const auto& [key, value] : bias->items()) {
    const auto id = fields::parse_integer_key(key);
    if (!id || *id < 0 || *id >= vocab_size) {
      throw invalid_request("'logit_bias' key \"" + key + "\" is not a token id in [0, " +
                                std::to_string(vocab_size) + ")",
                            "logit_bias");
    }
    const std::string param = "logit_bias." + key;
    const double v = *fields::number(*bias, key, -100.0, 100.0, param);
    s.logit_bias.emplace_back(static_cast<int32_t>(*id), static_cast<float>(v));
  }
}

std::vector<std::string> parse_stop(const json& body) {
  const auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  if (it->is_string()) {
    if (it->get<std::string>().empty()) throw invalid_request("'stop' must not be an empty string", "stop");
    return {it->get<std::string>()};
  }
  if (!it->is_array()) throw invalid_request("'stop' must be a string or an array of strings", "stop");
  if (it->size() > kMaxStopStrings) {
    throw invalid_request("'stop' holds at most " + std::to_string(kMaxStopStrings) + " strings", "stop");
  }
  std::vector<std::string> stops;
  for (const json& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      throw invalid_request("'stop' must be an array of non-empty strings", "stop");
    }
    stops.push_back(s.get<std::string>());
  }
  return stops;
}

void parse_limits(const json& body, GenerationParams& p) {
  auto max_tokens = fields::integer(body, "max_completion_tokens", 1, kIntMax);
  if (!max_tokens) max_tokens = fields::integer(body, "max_tokens", 1, kIntMax);
  if (max_tokens) {
    p.request.max_tokens = *max_tokens;
    p.max_tokens_given = true;
    // As OpenAI does: a requested completion length that cannot fit is an error, not a truncation.
    p.request.require_room_for_max_tokens = true;
  }
}

void parse_logprobs(const json& body, bool legacy, GenerationParams& p) {
  if (legacy) {
    if (auto top = fields::integer(body, "logprobs", 0, kMaxTopLogprobs)) {
      p.request.logprobs = true;
      p.request.top_logprobs = static_cast<int>(*top);
    }
    return;
  }
  if (auto v = fields::boolean(body, "logprobs")) {
    p.request.logprobs = *v;
  }
  if (auto top = fields::integer(body, "top_logprobs", 0, kMaxTopLogprobs)) {
    if (!p.request.logprobs) {
      throw invalid_request("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
    }
    p.request.top_logprobs = static_cast<int>(*top);
  }
}

void parse_streaming(const json& body, GenerationParams& p) {
  p.stream = fields::boolean(body, "stream").value_or(false);
  if (const json* options = fields::object(body, "stream_options")) {
    if (!p.stream) {
      throw invalid_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }
    p.include_usage =
        fields::boolean(*options, "include_usage", "stream_options.include_usage").value_or(false);
  }
}

}  // namespace

// response_format: text (unconstrained), json_object (any JSON object) or json_schema (the
// schema's subset in docs/grammar.md; a schema the compiler cannot honour is a 400 naming why).
static std::shared_ptr<const Grammar> parse_response_format(const json& body) {
  const json* format = fields::object(body, "response_format");
  if (!format) return nullptr;
  const auto type = fields::string(*format, "type", "response_format.type").value_or("text");
  if (type == "text") return nullptr;
  if (type == "json_object") return compile_any_json_object();
  if (type != "json_schema")
    throw invalid_request("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\", not \"" +
                          type + "\"", "response_format");
  const json* spec = fields::object(*format, "json_schema", "response_format.json_schema");
  if (!spec) throw invalid_request("'response_format.json_schema' is required for type \"json_schema\"", "response_format");
  const auto it = spec->find("schema");
  if (it == spec->end() || !(it->is_object() || it->is_boolean()))
    throw invalid_request("'response_format.json_schema.schema' must be a JSON Schema object", "response_format");
  try {
    return compile_json_schema(*it);
  } catch (const GrammarError& e) {
    throw invalid_request(std::string("'response_format.json_schema.schema': ") + e.what(), "response_format",
                          "invalid_schema");
  }
}

// grammar (llama.cpp's extension): GBNF text (docs/grammar.md); "" is none, as there. A grammar
// the compiler cannot honour is a 400 naming why.
static std::shared_ptr<const Grammar> parse_grammar(const json& body) {
  const auto text = fields::string(body, "grammar");
  if (!text || text->empty()) return nullptr;
  try {
    return compile_gbnf(*text);
  } catch (const GrammarError& e) {
    throw invalid_request(std::string("'grammar': ") + e.what(), "grammar", "invalid_grammar");
  }
}

std::shared_ptr<const Grammar> parse_constraint(const json& body) {
  auto format = parse_response_format(body);
  auto grammar = parse_grammar(body);
  if (format && grammar)
    throw invalid_request("'grammar' cannot be combined with a 'response_format' of type json_object or json_schema",
                          "grammar");
  return format ? format : grammar;
}

void reject_unsupported_fields(const json& body) {
  for (const char* legacy : {"functions", "function_call"}) {
    if (body.contains(legacy) && !body[legacy].is_null()) {
      throw unsupported_field(legacy, "use 'tools' and 'tool_choice'");
    }
  }
  for (const char* field : {"audio", "prediction", "web_search_options"}) {
    if (body.contains(field) && !body[field].is_null()) {
      throw unsupported_field(field, "this model generates text only");
    }
  }
  if (const json* modalities = fields::array(body, "modalities")) {
    for (const json& m : *modalities) {
      if (m != "text") throw unsupported_field("modalities", "this model generates text only");
    }
  }
}

GenerationParams parse_generation_params(const json& body, const GenerationDefaults& defaults, int32_t vocab_size,
                                         bool legacy_logprobs) {
  reject_unsupported_fields(body);
  GenerationParams p;
  p.model = fields::string(body, "model").value_or("");
  p.request.sampling = defaults.sampling;
  parse_sampling(body, p.request.sampling);
  parse_logit_bias(body, vocab_size, p.request.sampling);
  if (const auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    p.seed = static_cast<uint64_t>(*fields::integer(body, "seed", std::numeric_limits<int64_t>::min(),
                                                    std::numeric_limits<int64_t>::max()));
  }
  p.request.stop_strings = parse_stop(body);
  parse_limits(body, p);
  parse_logprobs(body, legacy_logprobs, p);
  p.n = static_cast<int>(fields::integer(body, "n", 1, kMaxChoices).value_or(1));
  parse_streaming(body, p);
  p.request.grammar = parse_constraint(body);
  return p;
}

}  // namespace gemma4::server
