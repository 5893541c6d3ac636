#pragma once
// Token sampling, generation_config.json defaults and stop-string matching.
//
// Sampler pipeline, applied to one step's logits in this order (Hugging Face / llama.cpp conventions):
//   1. logit bias          logits[id] += bias                         (OpenAI logit_bias)
//   2. repetition penalty  for each distinct token in the context:
//                          logit > 0 ? logit / penalty : logit * penalty   (HF RepetitionPenalty)
//   3. presence/frequency  logit -= presence * (count > 0) + frequency * count   (OpenAI)
//   -- temperature 0: greedy, argmax of the result (ties -> lowest id); the steps below are skipped.
//   4. temperature         logit / temperature
//   5. top-k               keep the k highest logits (exactly k; ties -> lower ids first)
//   6. top-p (nucleus)     over the distribution renormalised after top-k, keep the smallest set of
//                          most probable tokens whose cumulative probability >= top_p (>= 1 token)
//   7. min-p               keep tokens with probability >= min_p * max probability
//   8. renormalise and draw with the sampler's seeded mt19937_64, u = (bits >> 11) * 2^-53; weights
//      use a portable exp, so a seed gives the same tokens on every platform.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma4 {

struct SamplingParams {
  float temperature = 1.0f;          // 0: greedy (argmax); must be >= 0
  int top_k = 64;                    // <= 0 or >= vocabulary size: disabled
  float top_p = 0.95f;               // >= 1: disabled
  float min_p = 0.0f;                // <= 0: disabled
  float repetition_penalty = 1.0f;   // 1: disabled; must be > 0
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_last_n = 0;            // penalties look at the last n context tokens; 0: all of them
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, added value); -inf bans a token
  uint64_t seed = 0;

  // 0 is greedy; so is a positive temperature so small (below FLT_MIN) that 1/temperature
  // overflows, where sampling would only approximate the argmax anyway.
  bool greedy() const { return temperature < std::numeric_limits<float>::min(); }
};

// Throws gemma4::Error naming the field when a value is out of range (negative or NaN temperature,
// negative or NaN top_p, min_p above 1 or NaN, repetition_penalty <= 0, penalty_last_n < 0, non-finite
// penalties, NaN or +inf bias, negative bias token id).
void validate_sampling_params(const SamplingParams& params);

// Step 1 of the pipeline, in place. Throws gemma4::Error for a bias token id outside the logits.
void apply_logit_bias(std::span<float> logits,
                      std::span<const std::pair<int32_t, float>> logit_bias);

// Steps 2-3 of the pipeline, in place, over the last params.penalty_last_n context tokens (all when 0).
// Each distinct token is penalised once by the repetition penalty, however often it occurs.
// Throws gemma4::Error naming the position of a context token outside the logits.
void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     std::span<const int32_t> context_tokens);

// Index of the largest logit, lowest id on ties; NaN never wins. Throws gemma4::Error when the
// logits are empty or all NaN.
int32_t argmax_token(std::span<const float> logits);

struct TokenProbability {
  int32_t token;
  double probability;
};

// The distribution that steps 4-7 leave for the draw, renormalised, most probable first (ties ->
// lower id). Logits must already carry bias and penalties. For inspection and tests: Sampler does
// the same selection without materialising the whole vocabulary. Greedy params give one token.
std::vector<TokenProbability> filtered_distribution(std::span<const float> logits,
                                                    const SamplingParams& params);

struct SamplerScratch;  // internal buffers (src/sampling/candidates.h)
struct CandidateSet;    // what steps 4-7 leave for the draw (src/sampling/candidates.h)

// Reusable per-sequence sampler: owns the PRNG and scratch buffers sized to the vocabulary, so a
// step allocates nothing after the first. Not thread-safe; use one per sequence.
// Cost per step on V logits: greedy and top-k are one compare per token; without top-k one
// vectorised exp per token, plus (top-p) a selection on probability mass, never a full sort.

class Sampler {
 public:
  explicit Sampler(SamplingParams params);  // validates params (gemma4::Error)
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  // One token from logits (modified in place by steps 1-3). context_tokens: the tokens penalties
  // look at, i.e. prompt + generated so far. Throws gemma4::Error for empty logits, out-of-range
  // tokens or when no token has a finite logit.
  int32_t sample(std::span<float> logits, std::span<const int32_t> context_tokens);

  // Speculative decoding's check of a proposed token (the rejection rule of Leviathan et al. and
  // Chen et al. for a deterministic draft): with p the distribution sample() draws from, returns
  // `draft` with probability p(draft), otherwise a token drawn from p with `draft` removed and
  // renormalised. The result is distributed exactly as sample()'s, so a caller may accept the
  // draft when the result equals it. Greedy params return the argmax (sample()'s token).
  int32_t sample_given_draft(std::span<float> logits, std::span<const int32_t> context_tokens, int32_t draft);

  // Restart the random sequence: the same seed gives the same draws for the same inputs.
  void reset(uint64_t seed);

  const SamplingParams& params() const { return params_; }

 private:
  void adjust_logits(std::span<float> logits, std::span<const int32_t> context_tokens);
  int32_t draw(const CandidateSet& set, double u);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::unique_ptr<SamplerScratch> scratch_;
};

// Defaults a model ships in generation_config.json, plus the stop tokens it declares.
struct GenerationDefaults {
  SamplingParams sampling;
  std::vector<int32_t> stop_token_ids;  // eos_token_id (int or list), de-duplicated, file order
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;
  bool from_generation_config = false;  // false: the file was missing and HF defaults apply
};

// Reads model_dir/generation_config.json: temperature, top_k, top_p, min_p, repetition_penalty,
// do_sample (false => greedy: temperature 0), eos_token_id (int or list), bos/pad token ids.
// A field that is absent or null keeps the Hugging Face default: temperature 1.0, top_k 50,
// top_p 1.0, min_p off, repetition_penalty 1.0. do_sample absent means sampling (greedy only when a
// model asks for it; HF would fall back to greedy). Missing file => those defaults, with
// stop_token_ids/bos_token_id taken from config.json's eos_token_id/bos_token_id (text_config
// first, then the top level) when that file has them.
// Malformed JSON or a wrongly typed field => gemma4::Error naming the file and the field.
GenerationDefaults load_generation_config(const std::filesystem::path& model_dir);

// Holds back decoded text that may be the start of a stop string, so the caller never shows text
// that later turns out to be (part of) a stop string. Feed text as it is decoded.
class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);  // empty strings are ignored

  struct Result {
    std::string emit;      // text that is safe to show now
    bool stopped = false;  // a stop string completed: emit holds everything before it
  };

  // After a stop, further pushes emit nothing and report stopped.
  Result push(std::string_view text_delta);

  // End of generation without a stop: releases the held-back text (empty after a stop).
  std::string flush();

  bool stopped() const { return stopped_; }
  const std::string& matched_stop() const { return matched_stop_; }  // the stop string that fired

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // held-back text: a suffix that is a proper prefix of some stop string
  std::string matched_stop_;
  bool stopped_ = false;
};

}  // namespace gemma4
