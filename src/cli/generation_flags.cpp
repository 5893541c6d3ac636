#include "cli/generation_flags.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <unistd.h>

#include "cli/flag_checks.h"
#include "cli/grammar_files.h"
#include "cli/model_source.h"
#include "gemma4/error.h"

namespace gemma4::cli {

void add_generation_flags(CLI::App& cmd, GenerationFlags& f) {
  // Far above any model's context (Gemma 4: 131,072); the model's own limit is checked on load.
  constexpr int64_t kMaxContextFlag = int64_t{1} << 24;
  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  add_model_option(cmd, f.model);
  cmd.add_flag("--no-weight-cache", f.no_weight_cache, "Convert the weights afresh; do not read or write the weight cache");
  cmd.add_option("--dtype", f.dtype, "Weight type: f32 (exact), bf16, f16, q8_0, q4_0 (a model file: its own)")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "q8_0", "q4_0"}))
      ->each([&f](const std::string&) { f.dtype_given = true; })
      ->capture_default_str();
  cmd.add_option("--kv-type", f.kv_type, "KV cache type: f32, f16, bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd.add_option("--threads,-t", f.threads, "Worker threads (0 = all cores)")->check(thread_count());
  cmd.add_option("--ctx,-c", f.ctx, "Context size in tokens")->check(integer_in(1, kMaxContextFlag))->capture_default_str();
  cmd.add_option("--max-tokens,-n", f.max_tokens, "Most tokens to generate per answer")
      ->check(integer_in(0, kMaxInt))
      ->capture_default_str();
  cmd.add_option("--system", f.system, "System prompt")->transform(utf8_text("--system"));
  cmd.add_flag("--thinking", f.thinking, "Let the model think before answering (shown apart)");
  cmd.add_flag("--verbose,-v", f.verbose, "Print load and speed figures to stderr");
  f.temperature_opt = cmd.add_option("--temperature", f.temperature, "Sampling temperature (0 = greedy)")
                          ->check(number_at_least(0));
  f.top_k_opt = cmd.add_option("--top-k", f.top_k, "Keep the k most likely tokens (0 = off)")
                    ->check(integer_in(0, kMaxInt));
  f.top_p_opt = cmd.add_option("--top-p", f.top_p, "Nucleus sampling threshold (1 = off)")->check(number_in(0, 1));
  f.min_p_opt = cmd.add_option("--min-p", f.min_p, "Drop tokens below min-p x the best probability")
                    ->check(number_in(0, 1));
  f.repeat_penalty_opt = cmd.add_option("--repeat-penalty", f.repeat_penalty, "Repetition penalty (1 = off)")
                             ->check(number_at_least(0, /*exclusive=*/true));
  cmd.add_option("--repeat-last-n", f.repeat_last_n, "Penalties look at the last n tokens (0 = all)")
      ->check(integer_in(0, kMaxInt));
  cmd.add_option("--presence-penalty", f.presence_penalty, "Presence penalty (OpenAI semantics)");
  cmd.add_option("--frequency-penalty", f.frequency_penalty, "Frequency penalty (OpenAI semantics)");
  cmd.add_option("--logit-bias", f.logit_bias, "TOKEN_ID=BIAS added to a token's logit (repeatable)");
  f.seed_opt = cmd.add_option("--seed,-s", f.seed, "Random seed (default: random)");
  cmd.add_option("--stop", f.stop, "Stop string (repeatable); not included in the output");
  auto* schema = cmd.add_option("--json-schema", f.json_schema,
                                "Constrain the answer to JSON valid for the JSON Schema in FILE (docs/grammar.md)");
  auto* object = cmd.add_flag("--json-object", f.json_object, "Constrain the answer to a JSON object")->excludes(schema);
  cmd.add_option("--grammar", f.grammar, "Constrain the answer to the GBNF grammar in FILE (docs/grammar.md)")
      ->excludes(schema)
      ->excludes(object);
  add_draft_flag(cmd, f.draft);
  add_step_tokens_flag(cmd, f.step_tokens);
}

void add_step_tokens_flag(CLI::App& cmd, int64_t& step_tokens) {
  cmd.add_option("--step-tokens", step_tokens,
                 "Tokens per engine step: decode rows first, then prompt chunks (EngineOptions::step_tokens)")
      ->check(integer_in(1, 65536))
      ->capture_default_str();
}

void add_draft_flag(CLI::App& cmd, int& draft) {
  cmd.add_option("--draft", draft,
                 "Speculative decoding: check up to N tokens guessed from earlier text per step (0 = off; "
                 "same answers, faster on repetitive text)")
      ->check(integer_in(0, kMaxDraftTokens))
      ->capture_default_str();
}

LoadedModel load_for_generation(const GenerationFlags& f, int parallel, int64_t max_queue) {
  const bool tty = isatty(STDERR_FILENO);
  EngineOptions eo;
  eo.dtype = f.dtype;
  eo.kv_type = f.kv_type;
  eo.threads = f.threads;
  eo.max_context = f.ctx;
  eo.parallel = parallel;
  eo.max_queue = max_queue;
  eo.weight_cache = !f.no_weight_cache;
  eo.draft_tokens = f.draft;
  eo.step_tokens = f.step_tokens;
  int last_percent = -1;
  eo.progress = [&](double fraction) {
    int percent = static_cast<int>(fraction * 100);
    if (percent == last_percent || !tty) return;
    last_percent = percent;
    std::fprintf(stderr, "\rloading %s (%s): %3d%%", f.model.c_str(), eo.dtype.c_str(), percent);
    std::fflush(stderr);
  };
  std::shared_ptr<Engine> engine;
  try {
    const std::filesystem::path dir = model_folder(f.model);
    adopt_model_file_dtype(dir, f.dtype_given, eo.dtype);
    engine = Engine::open(dir, eo);
  } catch (const EngineError& e) {
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (e.kind() == ErrorKind::BadRequest && f.ctx > 0 && std::string(e.what()).find("max_position_embeddings") != std::string::npos)
      throw Error(std::string(e.what()) + " (lower --ctx)");
    throw;
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  for (const auto& w : engine->warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const Model& model = *engine->model();
  if (f.verbose)
    std::fprintf(stderr, "loaded %s as %s in %.2f s (%.1f MiB of weights, %d threads)\n", f.model.c_str(),
                 model.dtype().c_str(), model.load_seconds(), model.weight_bytes() / 1048576.0, model.threads());
  return {std::move(engine)};
}

Request make_request(const GenerationFlags& f, const GenerationDefaults& defaults) {
  Request r;
  r.sampling = defaults.sampling;
  if (f.temperature_opt->count()) r.sampling.temperature = f.temperature;
  if (f.top_k_opt->count()) r.sampling.top_k = f.top_k;
  if (f.top_p_opt->count()) r.sampling.top_p = f.top_p;
  if (f.min_p_opt->count()) r.sampling.min_p = f.min_p;
  if (f.repeat_penalty_opt->count()) r.sampling.repetition_penalty = f.repeat_penalty;
  r.sampling.presence_penalty = f.presence_penalty;
  r.sampling.frequency_penalty = f.frequency_penalty;
  r.sampling.penalty_last_n = f.repeat_last_n;
  r.sampling.seed = f.seed_opt->count() ? f.seed : std::random_device{}();
  for (const auto& item : f.logit_bias) {
    auto eq = item.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument("no '='");
      size_t used = 0;
      int id = std::stoi(item.substr(0, eq), &used);
      if (used != eq) throw std::invalid_argument("token");
      float bias = std::stof(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1) throw std::invalid_argument("bias");
      r.sampling.logit_bias.emplace_back(id, bias);
    } catch (const std::exception&) {
      throw Error("--logit-bias '" + item + "' must look like TOKEN_ID=BIAS, e.g. 236761=-5");
    }
  }
  validate_sampling_params(r.sampling);
  r.max_tokens = f.max_tokens;
  r.stop_token_ids = defaults.stop_token_ids;
  r.stop_strings = f.stop;
  r.grammar = compile_grammar_files({f.json_object, f.grammar, f.json_schema});
  r.tag = "cli";
  return r;
}

RequestResult generate_or_explain(Engine& engine, Request request, TokenCallback on_token) {
  try {
    return engine.generate(std::move(request), std::move(on_token));
  } catch (const EngineError& e) {
    if (e.kind() == ErrorKind::ContextOverflow) throw Error(std::string(e.what()) + " (raise it with --ctx)");
    throw;
  }
}

}  // namespace gemma4::cli
