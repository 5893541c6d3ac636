// One sampling step on a Gemma-sized (262,144-entry) logits vector for each sampler configuration.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "gemma4/sampling.h"

namespace {

constexpr size_t kVocabulary = 262144;

// Peaked like a language model: a handful of plausible tokens above a wide low tail.
std::vector<float> model_like_logits() {
  std::mt19937 rng(17);
  std::vector<float> logits(kVocabulary);
  for (float& logit : logits) logit = static_cast<float>(rng() >> 8) * 0x1.0p-24f * 8.0f - 6.0f;
  for (int i = 0; i < 20; ++i) logits[rng() % kVocabulary] += 12.0f;
  return logits;
}

std::vector<int32_t> context_tokens(size_t count) {
  std::mt19937 rng(5);
  std::vector<int32_t> tokens(count);
  for (int32_t& token : tokens) token = static_cast<int32_t>(rng() % kVocabulary);
  return tokens;
}

void run(benchmark::State& state, gemma4::SamplingParams params, size_t context_size) {
  const std::vector<float> logits = model_like_logits();
  const std::vector<int32_t> context = context_tokens(context_size);
  std::vector<float> step_logits = logits;
  gemma4::Sampler sampler(params);
  // Bias and penalties rewrite the logits in place, so those configurations restore them each
  // step (a 1 MiB copy that is part of the measured time); the others leave them untouched.
  const bool rewrites = !params.logit_bias.empty() || params.repetition_penalty != 1.0f ||
                        params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f;
  for (auto _ : state) {
    if (rewrites) step_logits = logits;
    benchmark::DoNotOptimize(sampler.sample(step_logits, context));
  }
}

gemma4::SamplingParams params_with(float temperature, int top_k, float top_p, float min_p) {
  gemma4::SamplingParams params;
  params.temperature = temperature;
  params.top_k = top_k;
  params.top_p = top_p;
  params.min_p = min_p;
  return params;
}

void BM_Greedy(benchmark::State& state) { run(state, params_with(0.0f, 0, 1.0f, 0.0f), 0); }
void BM_GemmaDefaults(benchmark::State& state) {  // temperature 1, top-k 64, top-p 0.95
  run(state, params_with(1.0f, 64, 0.95f, 0.0f), 0);
}
void BM_TopKOnly(benchmark::State& state) { run(state, params_with(1.0f, 40, 1.0f, 0.0f), 0); }
void BM_TopPOnly(benchmark::State& state) { run(state, params_with(1.0f, 0, 0.95f, 0.0f), 0); }
void BM_MinPOnly(benchmark::State& state) { run(state, params_with(1.0f, 0, 1.0f, 0.05f), 0); }
void BM_TemperatureOnly(benchmark::State& state) {
  run(state, params_with(0.8f, 0, 1.0f, 0.0f), 0);
}
void BM_DefaultsWithPenalties(benchmark::State& state) {
  gemma4::SamplingParams params = params_with(1.0f, 64, 0.95f, 0.0f);
  params.repetition_penalty = 1.1f;
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.5f;
  params.logit_bias = {{42, 5.0f}, {7, -100.0f}};
  run(state, params, static_cast<size_t>(state.range(0)));
}

BENCHMARK(BM_Greedy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemmaDefaults)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopKOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopPOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinPOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TemperatureOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DefaultsWithPenalties)->Arg(4096)->Arg(32768)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
