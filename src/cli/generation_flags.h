#pragma once
// Flags shared by the commands that generate text (run, chat): model loading, context, sampling
// and stop conditions. Sampling defaults come from the model folder's generation_config.json;
// a flag given on the command line overrides them.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "gemma4/engine.h"
#include "gemma4/model.h"
#include "gemma4/sampling.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {

struct GenerationFlags {
  std::string model;
  std::string dtype = "q8_0";  // a model file's own type unless --dtype is given
  bool dtype_given = false;
  std::string kv_type = "f16";
  int threads = 0;
  int64_t ctx = 4096;
  int64_t max_tokens = 1024;
  std::string system;
  bool thinking = false;
  bool verbose = false;
  bool no_weight_cache = false;
  float temperature = 1.0f, top_p = 1.0f, min_p = 0.0f;
  int top_k = 0;
  float repeat_penalty = 1.0f, presence_penalty = 0.0f, frequency_penalty = 0.0f;
  int repeat_last_n = 0;
  int draft = 0;  // EngineOptions::draft_tokens
  int64_t step_tokens = EngineOptions{}.step_tokens;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  std::vector<std::string> logit_bias;  // "TOKEN=BIAS"
  std::string json_schema;              // --json-schema FILE: the answer follows this JSON Schema
  bool json_object = false;             // --json-object: the answer is a JSON object
  std::string grammar;                  // --grammar FILE: the answer follows this GBNF grammar

  // Options whose presence decides whether generation_config.json's value is overridden.
  CLI::Option *temperature_opt = nullptr, *top_k_opt = nullptr, *top_p_opt = nullptr,
              *min_p_opt = nullptr, *repeat_penalty_opt = nullptr, *seed_opt = nullptr;
};

void add_generation_flags(CLI::App& cmd, GenerationFlags& flags);

// --draft N: speculative decoding by prompt lookup (EngineOptions::draft_tokens), 0..kMaxDraftTokens.
// Shared with `serve`, whose engine options are its own.
void add_draft_flag(CLI::App& cmd, int& draft);
// --step-tokens N: EngineOptions::step_tokens.
void add_step_tokens_flag(CLI::App& cmd, int64_t& step_tokens);

// The serving engine on the --model folder, opened with progress on stderr (`parallel`
// requests at once, up to `max_queue` more waiting).
struct LoadedModel {
  std::shared_ptr<Engine> engine;
};
LoadedModel load_for_generation(const GenerationFlags& flags, int parallel = 1, int64_t max_queue = 256);

// generation_config.json defaults with the command-line overrides applied.
Request make_request(const GenerationFlags& flags, const GenerationDefaults& defaults);

// engine.generate(), with a context overflow explained in terms of the CLI's flags.
RequestResult generate_or_explain(Engine& engine, Request request, TokenCallback on_token);

}  // namespace gemma4::cli
