// gemma4 batch: offline generation for a JSONL file of requests, run concurrently on the serving
// engine (continuous batching), with results written in input order (a stable contract).
//
//   in:  {"id": ..., "prompt": "text"} (one user turn), {"id": ..., "messages": [...]} (a chat) or
//        {"id": ..., "tokens": [ids]} (raw prompt ids, no template); optional max_tokens,
//        temperature, top_k, top_p, seed, stop (string or array), ignore_eos (generate past the
//        model's stop tokens, for benchmarks), draft (draft tokens per step, overriding --draft),
//        response_format / grammar (as the server takes them; overriding --json-schema etc.)
//   out: {"id", "text", "tokens", "finish_reason", "usage": {"prompt_tokens", "completion_tokens",
//        "cached_tokens"}}; a bad line gives {"id", "error"} and an `error:` line on stderr naming
//        its line number, the other lines still run, and the exit code is 1.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "gemma4/error.h"
#include "server/api_error.h"
#include "server/generation_params.h"

namespace gemma4::cli {

namespace {

using nlohmann::json;

struct BatchArgs {
  GenerationFlags flags;
  std::string input, output, summary;
  int parallel = 8;
};

// Reads one input line into an engine request; throws gemma4::Error naming the field.
Request request_from_line(const json& line, const Engine& engine, const Request& base, const GenerationFlags& f,
                          uint64_t default_seed) {
  if (!line.is_object()) throw Error("the line is not a JSON object");
  Request r = base;
  r.sampling.seed = default_seed;
  ChatOptions co;
  co.enable_thinking = f.thinking;
  json messages;
  if (line.contains("tokens")) {
    const json& ids = line["tokens"];
    if (!ids.is_array() || ids.empty()) throw Error("\"tokens\" must be a non-empty array of token ids");
    r.prompt.clear();
    for (const auto& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        throw Error("\"tokens\" must hold token ids (non-negative integers)");
      r.prompt.push_back(id.get<int32_t>());
    }
  } else if (line.contains("messages")) {
    messages = line["messages"];
    if (!messages.is_array() || messages.empty()) throw Error("\"messages\" must be a non-empty array");
  } else if (line.contains("prompt")) {
    if (!line["prompt"].is_string()) throw Error("\"prompt\" must be a string");
    messages = json::array();
    if (!f.system.empty()) messages.push_back({{"role", "system"}, {"content", f.system}});
    messages.push_back({{"role", "user"}, {"content", line["prompt"]}});
  } else {
    throw Error("the line has neither \"prompt\" nor \"messages\"");
  }
  if (!messages.is_null()) r.prompt = engine.encode_chat(messages, nullptr, co);
  if (line.contains("ignore_eos")) {
    if (!line["ignore_eos"].is_boolean()) throw Error("\"ignore_eos\" must be true or false");
    if (line["ignore_eos"].get<bool>()) r.stop_token_ids = std::vector<int32_t>{};
  }
  auto number = [&](const char* key) -> std::optional<double> {
    if (!line.contains(key) || line[key].is_null()) return std::nullopt;
    if (!line[key].is_number()) throw Error(std::string("\"") + key + "\" must be a number");
    return line[key].get<double>();
  };
  auto integer = [&](const char* key, double lo, double hi) -> std::optional<int64_t> {
    auto v = number(key);
    if (!v) return std::nullopt;
    if (*v != static_cast<double>(static_cast<int64_t>(*v)) || *v < lo || *v > hi)
      throw Error(std::string("\"") + key + "\" must be an integer between " + std::to_string(static_cast<int64_t>(lo)) +
                  " and " + std::to_string(static_cast<int64_t>(hi)));
    return static_cast<int64_t>(*v);
  };
  if (auto v = integer("max_tokens", 0, 1 << 30)) r.max_tokens = *v;
  if (auto v = number("temperature")) r.sampling.temperature = static_cast<float>(*v);
  if (auto v = integer("top_k", 0, 1 << 30)) r.sampling.top_k = static_cast<int>(*v);
  if (auto v = number("top_p")) r.sampling.top_p = static_cast<float>(*v);
  if (auto v = integer("seed", 0, 9007199254740991.0)) r.sampling.seed = static_cast<uint64_t>(*v);
  if (auto v = integer("draft", 0, kMaxDraftTokens)) r.draft_tokens = static_cast<int>(*v);
  if (line.contains("stop") && !line["stop"].is_null()) {
    const json& s = line["stop"];
    r.stop_strings.clear();
    if (s.is_string()) {
      r.stop_strings.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      for (const auto& item : s) {
        if (!item.is_string()) throw Error("\"stop\" must be a string or an array of strings");
        r.stop_strings.push_back(item.get<std::string>());
      }
    } else {
      throw Error("\"stop\" must be a string or an array of strings");
    }
  }
  // A line's own constraint replaces --json-schema/--grammar/--json-object (the server's fields).
  if (line.contains("response_format") || line.contains("grammar")) {
    try {
      r.grammar = server::parse_constraint(line);
    } catch (const server::ApiError& e) {
      throw Error(e.what());
    }
  }
  validate_sampling_params(r.sampling);
  return r;
}

json result_line(const json& id, const RequestResult& r) {
  json usage = {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens},
                {"cached_tokens", r.cached_tokens}};
  json out = {{"id", id}, {"text", r.text}, {"tokens", r.tokens}, {"finish_reason", finish_reason_name(r.finish)},
              {"usage", usage}};
  if (r.error) out["error"] = r.error->what();
  return out;
}

}  // namespace

void add_batch_command(CLI::App& app) {
  auto a = std::make_shared<BatchArgs>();
  CLI::App* cmd = app.add_subcommand("batch", "Generate answers for a JSONL file of requests, many at once");
  add_generation_flags(*cmd, a->flags);
  cmd->add_option("--input,-i", a->input, "JSONL requests: {\"id\", \"prompt\" | \"messages\" | \"tokens\"} per line")->required();
  cmd->add_option("--output,-o", a->output, "JSONL results, in input order")->required();
  cmd->add_option("--parallel,-P", a->parallel, "Requests computed at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--json", a->summary, "Also write a summary (requests, tokens, wall time, tok/s) to this file");
  cmd->callback([a] {
    const GenerationFlags& f = a->flags;
    std::ifstream in(a->input);
    if (!in) throw Error("cannot open --input file " + a->input);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::ofstream out(a->output);
    if (!out) throw Error("cannot write --output file " + a->output);

    LoadedModel lm = load_for_generation(f, a->parallel, static_cast<int64_t>(lines.size()));
    Engine& engine = *lm.engine;
    Request base = make_request(f, engine.defaults());
    const bool seed_given = f.seed_opt->count() > 0;

    struct Item {
      json id;
      std::optional<Request> request;
      std::shared_ptr<RequestHandle> handle;
      std::string error;
    };
    std::vector<Item> items;
    int failed = 0;
    const auto refuse = [&](Item& item, size_t line, const std::exception& e) {
      item.error = a->input + " line " + std::to_string(line + 1) + ": " + e.what();
      std::fprintf(stderr, "error: %s\n", item.error.c_str());
      ++failed;
    };
    // Lines are parsed (schemas compiled) before the clock starts: the summary times generation.
    std::vector<size_t> line_of;
    bool constrained = false;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines
      Item item;
      try {
        json line = json::parse(lines[i]);
        if (line.is_object() && line.contains("id")) item.id = line["id"];
        // Without a seed each line gets its own fixed one, so results do not depend on --parallel.
        uint64_t seed = seed_given ? f.seed : static_cast<uint64_t>(i + 1);
        item.request = request_from_line(line, engine, base, f, seed);
        constrained = constrained || item.request->grammar;
      } catch (const std::exception& e) {
        refuse(item, i, e);
      }
      items.push_back(std::move(item));
      line_of.push_back(i);
    }
    if (constrained) engine.prepare_grammars();
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t k = 0; k < items.size(); ++k) {
      if (!items[k].request) continue;
      try {
        items[k].handle = engine.submit(std::move(*items[k].request));
      } catch (const std::exception& e) {
        refuse(items[k], line_of[k], e);
      }
      items[k].request.reset();
    }
    int64_t generated = 0, computed_prompt = 0;
    for (Item& item : items) {
      if (!item.handle) {
        out << json{{"id", item.id}, {"error", item.error}}.dump() << "\n";
        continue;
      }
      RequestResult r = item.handle->wait();
      generated += r.completion_tokens;
      computed_prompt += r.prompt_tokens - r.cached_tokens;
      if (r.error) {
        std::fprintf(stderr, "error: request %s: %s\n", item.id.dump().c_str(), r.error->what());
        ++failed;
      }
      out << result_line(item.id, r).dump() << "\n";
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json summary = {{"requests", items.size()}, {"failed", failed}, {"parallel", a->parallel},
                    {"generated_tokens", generated}, {"prompt_tokens_computed", computed_prompt}, {"wall_s", wall},
                    {"gen_tok_s", wall > 0 ? generated / wall : 0.0},
                    {"prefill_tok_s", wall > 0 ? computed_prompt / wall : 0.0},
                    {"prefix_cache_hits", engine.stats().prefix_cache_hits}, {"preemptions", engine.stats().preemptions}};
    const EngineStats stats = engine.stats();
    if (stats.drafted_tokens > 0 || f.draft > 0) {
      summary["drafted_tokens"] = stats.drafted_tokens;
      summary["accepted_drafts"] = stats.accepted_drafts;
      summary["draft_acceptance"] =
          stats.drafted_tokens > 0 ? static_cast<double>(stats.accepted_drafts) / static_cast<double>(stats.drafted_tokens) : 0.0;
    }
    if (!a->summary.empty()) {
      std::ofstream s(a->summary);
      if (!s) throw Error("cannot write --json file " + a->summary);
      s << summary.dump(1) << "\n";
    }
    if (f.verbose) std::fprintf(stderr, "%s\n", summary.dump().c_str());
    if (failed > 0) throw Error(std::to_string(failed) + " of " + std::to_string(items.size()) + " requests failed");
  });
}

}  // namespace gemma4::cli
