// generation_config.json (and config.json's stop tokens when it is missing) -> GenerationDefaults.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "gemma4/error.h"
#include "gemma4/sampling.h"
#include "io/model_file.h"

namespace gemma4 {

namespace {

using nlohmann::json;

// Hugging Face GenerationConfig defaults for the fields a file may leave out.
SamplingParams hugging_face_defaults() {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 50;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.repetition_penalty = 1.0f;
  return params;
}

json parse_json(const std::string& text, const std::filesystem::path& file) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw Error(file.string() + ": malformed JSON: " + e.what());
  }
  if (!document.is_object()) throw Error(file.string() + ": top level must be a JSON object");
  return document;
}

// A field that is absent or null reads as "not given".
const json* field(const json& object, const char* name) {
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const std::filesystem::path& file, const std::string& name,
                             const char* expected) {
  throw Error(file.string() + ": field '" + name + "' must be " + expected);
}

void read_float(const json& object, const char* name, const std::filesystem::path& file,
                float& out) {
  const json* value = field(object, name);
  if (value == nullptr) return;
  if (!value->is_number()) wrong_type(file, name, "a number");
  const double number = value->get<double>();
  if (!(std::abs(number) <= std::numeric_limits<float>::max())) {
    throw Error(file.string() + ": field '" + name + "' is out of range: " + value->dump());
  }
  out = static_cast<float>(number);
}

int32_t as_token_id(const json& value, const std::filesystem::path& file, const std::string& name) {
  if (!value.is_number_integer()) wrong_type(file, name, "an integer token id");
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    throw Error(file.string() + ": field '" + name + "' holds token id " + std::to_string(id) +
                ", outside [0, 2^31)");
  }
  return static_cast<int32_t>(id);
}

// eos_token_id is either one id or a list of ids; appends the new ones in order.
void read_token_ids(const json& object, const char* name, const std::filesystem::path& file,
                    std::vector<int32_t>& ids) {
  const json* value = field(object, name);
  if (value == nullptr) return;
  if (value->is_array()) {
    for (size_t i = 0; i < value->size(); ++i) {
      const int32_t id = as_token_id((*value)[i], file, std::string(name) + "[" +
                                                            std::to_string(i) + "]");
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    return;
  }
  if (!value->is_number_integer()) wrong_type(file, name, "an integer or a list of integers");
  const int32_t id = as_token_id(*value, file, name);
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

void read_optional_id(const json& object, const char* name, const std::filesystem::path& file,
                      std::optional<int32_t>& out) {
  const json* value = field(object, name);
  if (value != nullptr) out = as_token_id(*value, file, name);
}

// config.json: stop ids from text_config.eos_token_id then the top level's (union, de-duplicated);
// bos/pad from text_config first, the top level otherwise.
void read_model_config(const std::string& text, const std::filesystem::path& file, GenerationDefaults& defaults) {
  const json config = parse_json(text, file);
  const json* text_config = field(config, "text_config");
  if (text_config != nullptr && !text_config->is_object()) wrong_type(file, "text_config", "an object");
  for (const json* scope : {text_config, &config}) {
    if (scope == nullptr) continue;
    read_token_ids(*scope, "eos_token_id", file, defaults.stop_token_ids);
    if (!defaults.bos_token_id) read_optional_id(*scope, "bos_token_id", file, defaults.bos_token_id);
    if (!defaults.pad_token_id) read_optional_id(*scope, "pad_token_id", file, defaults.pad_token_id);
  }
}

}  // namespace

GenerationDefaults load_generation_config(const std::filesystem::path& model_dir) {
  GenerationDefaults defaults;
  defaults.sampling = hugging_face_defaults();
  // A model folder's files, or a model file's embedded copies (named model.g4w/config.json in errors).
  const std::filesystem::path file = model_dir / "generation_config.json";
  const std::filesystem::path model_config = model_dir / "config.json";
  const std::optional<std::string> text = io::read_model_text(model_dir, "generation_config.json");
  if (!text) {
    if (auto config_text = io::read_model_text(model_dir, "config.json")) read_model_config(*config_text, model_config, defaults);
    return defaults;
  }

  const json config = parse_json(*text, file);
  defaults.from_generation_config = true;
  SamplingParams& params = defaults.sampling;
  read_float(config, "temperature", file, params.temperature);
  read_float(config, "top_p", file, params.top_p);
  read_float(config, "min_p", file, params.min_p);
  read_float(config, "repetition_penalty", file, params.repetition_penalty);
  if (const json* top_k = field(config, "top_k")) {
    if (!top_k->is_number_integer()) wrong_type(file, "top_k", "an integer");
    if (!top_k->is_number_unsigned() && top_k->get<int64_t>() < 0)
      throw Error(file.string() + ": field 'top_k' must be >= 0 (0 = off), got " + top_k->dump());
    // Unsigned values above 2^63 would wrap in get<int64_t>(); they disable top-k like any huge k.
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    const int64_t k = top_k->is_number_unsigned() && top_k->get<uint64_t>() > kMax
                          ? std::numeric_limits<int64_t>::max()
                          : top_k->get<int64_t>();
    // Anything at or beyond the int range keeps every token, exactly like "disabled".
    params.top_k = k > std::numeric_limits<int>::max() ? 0 : static_cast<int>(k);
  }
  if (const json* do_sample = field(config, "do_sample")) {
    if (!do_sample->is_boolean()) wrong_type(file, "do_sample", "true or false");
    if (!do_sample->get<bool>()) params.temperature = 0.0f;
  }
  try {
    validate_sampling_params(params);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }

  read_token_ids(config, "eos_token_id", file, defaults.stop_token_ids);
  read_optional_id(config, "bos_token_id", file, defaults.bos_token_id);
  read_optional_id(config, "pad_token_id", file, defaults.pad_token_id);
  const std::optional<std::string> config_text =
      defaults.stop_token_ids.empty() ? io::read_model_text(model_dir, "config.json") : std::nullopt;
  if (config_text) {
    GenerationDefaults from_model;
    read_model_config(*config_text, model_config, from_model);
    defaults.stop_token_ids = from_model.stop_token_ids;
    if (!defaults.bos_token_id) defaults.bos_token_id = from_model.bos_token_id;
    if (!defaults.pad_token_id) defaults.pad_token_id = from_model.pad_token_id;
  }
  return defaults;
}

}  // namespace gemma4
