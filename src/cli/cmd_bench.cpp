// gemma4 bench: load, prefill and decode speed of a model on this machine.
// A contract: the JSON names (load_s, prefill_tok_s, decode_tok_s, ttft_ms, peak_rss_bytes) stay.
// read_probe_gb_s / decode_roofline_fraction: decode's weight stream against a plain read of
// memory by the same threads, measured after each repetition (include/gemma4/read_probe.h).
// decode_ms / verify5_ms / verify5_ratio: one decode step against a speculative verification step
// of 5 rows with logits for all 5 (what `--draft 4` costs per step when it guesses).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "cli/flag_checks.h"
#include "gemma4/engine.h"
#include "gemma4/error.h"
#include "gemma4/model.h"
#include "gemma4/read_probe.h"
#include "gemma4/sampling.h"

namespace gemma4::cli {

namespace {

double total_seconds(const PhaseTimes& t) {
  double sum = 0.0;
  for (const auto& [phase, seconds] : t.seconds) sum += seconds;
  return sum;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

size_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<size_t>(u.ru_maxrss) * 1024;
}

// Deterministic ordinary-text token ids (clear of the control tokens at the start of the vocabulary).
std::vector<int32_t> bench_prompt(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids(n);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  int64_t lo = vocab > 4096 ? 1000 : 0;
  for (auto& id : ids) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>(lo + (state >> 33) % (vocab - lo));
  }
  if (!ids.empty()) ids[0] = 2;  // <bos>
  return ids;
}

// Interleaved pairs of a 1-token decode step and a 5-token step with every row's logits, appended
// to `session` (each pair adds 6 positions); their times in ms go to `decode_ms` / `verify_ms`.
constexpr int64_t kVerifyPairs = 8;
constexpr int64_t kVerifyRows = 5;

void time_verification(Session& session, int32_t token, std::vector<double>& decode_ms, std::vector<double>& verify_ms) {
  using clock = std::chrono::steady_clock;
  std::vector<float> logits;
  std::vector<int32_t> rows(kVerifyRows);
  for (int64_t pair = 0; pair < kVerifyPairs; ++pair) {
    auto t0 = clock::now();
    session.append(std::span<const int32_t>(&token, 1), &logits);
    token = argmax_token(logits);
    auto t1 = clock::now();
    std::fill(rows.begin(), rows.end(), token);  // the drafts' values do not change the cost
    session.append_all_logits(rows, kVerifyRows, logits);
    auto t2 = clock::now();
    token = argmax_token(std::span<const float>(logits).last(logits.size() / kVerifyRows));
    decode_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    verify_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  struct Args {
    std::string model, dtype = "q8_0", kv_type = "f16", json;
    bool dtype_given = false;
    bool no_weight_cache = false;
    int threads = 0, reps = 3;
    int64_t prompt = 128, gen = 64, chunk = EngineOptions{}.step_tokens;
    bool no_skip = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure load time, prefill and decode speed, memory");
  add_model_option(*cmd, a->model);
  cmd->add_flag("--no-weight-cache", a->no_weight_cache, "Convert the weights at every load (the cold-start figure)");
  cmd->add_option("--dtype", a->dtype, "Weight type: f32, bf16, f16, q8_0, q4_0 (a model file: its own)")
      ->capture_default_str()
      ->each([a](const std::string&) { a->dtype_given = true; });
  cmd->add_option("--kv-type", a->kv_type, "KV cache type: f32, f16, bf16")->capture_default_str();
  cmd->add_option("--threads,-t", a->threads, "Worker threads (0 = all cores)")->check(thread_count());
  cmd->add_option("--prompt,-p", a->prompt, "Prompt tokens to prefill")->check(integer_in(1, 1 << 24))->capture_default_str();
  cmd->add_option("--gen,-g", a->gen, "Tokens to generate (decode speed covers gen - 1 steps)")
      ->check(integer_in(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--chunk", a->chunk, "Prefill chunk: tokens per forward pass")
      ->check(integer_in(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--reps,-r", a->reps, "Repetitions (medians are reported)")->check(integer_in(1, 1000))->capture_default_str();
  cmd->add_option("--json", a->json, "Also write the results as JSON to this file");
  cmd->add_flag("--no-skip", a->no_skip, "Run KV-shared layers for every prompt token (for comparison)");
  cmd->callback([a] {
    using clock = std::chrono::steady_clock;
    std::vector<double> load_s, prefill, decode, ttft, decode_ms, verify_ms, read_gb_s;
    size_t peak_rss = 0;  // before the read probe's buffer adds to it
    PhaseTimes decode_phases;  // of the last repetition
    const std::filesystem::path dir = model_folder(a->model);
    adopt_model_file_dtype(dir, a->dtype_given, a->dtype);
    std::shared_ptr<Model> model;
    for (int rep = 0; rep < a->reps; ++rep) {
      model.reset();
      auto t0 = clock::now();
      model = Model::load(dir, {.dtype = a->dtype, .threads = a->threads, .weight_cache = !a->no_weight_cache});
      load_s.push_back(std::chrono::duration<double>(clock::now() - t0).count());
      std::vector<int32_t> prompt = bench_prompt(a->prompt, model->config().vocab_size);
      SessionOptions so;
      so.max_context = a->prompt + a->gen + 1 + kVerifyPairs * (1 + kVerifyRows);
      so.kv_type = a->kv_type;
      so.skip_shared_layers = !a->no_skip;
      so.time_phases = true;
      so.max_chunk = a->chunk;
      Session session(model, so);
      std::vector<float> logits;
      auto p0 = clock::now();
      session.append(prompt, &logits);
      int32_t token = argmax_token(logits);
      auto p1 = clock::now();
      double prefill_s = std::chrono::duration<double>(p1 - p0).count();
      prefill.push_back(a->prompt / prefill_s);
      ttft.push_back(prefill_s * 1000.0);
      session.reset_phase_times();
      for (int64_t i = 1; i < a->gen; ++i) {
        session.append(std::span<const int32_t>(&token, 1), &logits);
        token = argmax_token(logits);
      }
      double decode_s = std::chrono::duration<double>(clock::now() - p1).count();
      decode.push_back(a->gen > 1 ? (a->gen - 1) / decode_s : 0.0);
      decode_phases = session.phase_times();
      decode_phases.seconds.emplace_back("outside the forward pass (argmax, session)",
                                         decode_s - total_seconds(decode_phases));
      time_verification(session, token, decode_ms, verify_ms);
      // Every repetition does the same work, so the first one's peak stands for all (afterwards the
      // probe's buffer would mask it: the peak only grows).
      if (rep == 0) peak_rss = peak_rss_bytes();
      read_gb_s.push_back(measure_read_bandwidth(model->threads()));
      std::fprintf(stderr, "rep %d: load %.2f s, prefill %.1f tok/s, decode %.2f tok/s, read probe %.1f GB/s\n",
                   rep + 1, load_s.back(), prefill.back(), decode.back(), read_gb_s.back());
    }
    nlohmann::json j = {{"model", a->model},
                        {"dtype", a->dtype},
                        {"kv_type", a->kv_type},
                        {"threads", model->threads()},
                        {"prompt", a->prompt},
                        {"gen", a->gen},
                        {"chunk", a->chunk},
                        {"reps", a->reps},
                        {"skip_shared_layers", !a->no_skip},
                        {"load_s", median(load_s)},
                        {"prefill_tok_s", median(prefill)},
                        {"decode_tok_s", median(decode)},
                        {"ttft_ms", median(ttft)},
                        {"decode_ms", median(decode_ms)},
                        {"verify5_ms", median(verify_ms)},
                        {"verify5_ratio", median(verify_ms) / median(decode_ms)},
                        {"peak_rss_bytes", peak_rss},
                        {"weight_bytes", model->weight_bytes()},
                        // Every converted matrix is read once per decoded token (the LM head included).
                        {"decode_weight_gb_s", model->weight_bytes() * median(decode) / 1e9},
                        // The same threads streaming a 512 MiB buffer right after each repetition.
                        {"read_probe_gb_s", median(read_gb_s)},
                        {"decode_roofline_fraction", model->weight_bytes() * median(decode) / 1e9 / median(read_gb_s)}};
    const double steps = static_cast<double>(std::max<int64_t>(1, a->gen - 1));
    for (const auto& [phase, seconds] : decode_phases.seconds) j["decode_phase_ms"][phase] = seconds * 1000.0 / steps;
    std::printf("| model | dtype | threads | P | G | load s | prefill tok/s | decode tok/s | TTFT ms | peak RSS GiB |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %d | %lld | %lld | %.2f | %.1f | %.2f | %.0f | %.2f |\n", a->model.c_str(),
                a->dtype.c_str(), model->threads(), static_cast<long long>(a->prompt),
                static_cast<long long>(a->gen), median(load_s), median(prefill), median(decode), median(ttft),
                peak_rss / 1073741824.0);
    std::printf("verification step of %lld rows (logits for all): %.2f ms, decode step: %.2f ms, ratio %.2f\n",
                static_cast<long long>(kVerifyRows), median(verify_ms), median(decode_ms),
                median(verify_ms) / median(decode_ms));
    std::printf("decode streams %.2f GB of weights per token: %.1f GB/s, %.0f %% of the read probe (%.1f GB/s)\n",
                model->weight_bytes() / 1e9, model->weight_bytes() * median(decode) / 1e9,
                100.0 * model->weight_bytes() * median(decode) / 1e9 / median(read_gb_s), median(read_gb_s));
    std::printf("one decoded token by phase (last repetition, ms):\n");
    for (const auto& [phase, seconds] : decode_phases.seconds)
      std::printf("  %-45s %8.2f\n", phase.c_str(), seconds * 1000.0 / steps);
    if (!a->json.empty()) {
      std::ofstream out(a->json);
      if (!out) throw Error("cannot write " + a->json);
      out << j.dump(2) << "\n";
    }
  });
}

}  // namespace gemma4::cli
