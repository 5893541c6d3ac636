// Logit bias, repetition, presence and frequency penalties change logits exactly as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gemma4/error.h"
#include "gemma4/sampling.h"

namespace gemma4 {
namespace {

TEST(LogitBias, AddsToTheNamedTokensOnly) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<std::pair<int32_t, float>> bias = {{1, 100.0f}, {3, -100.0f}, {1, 0.5f}};
  apply_logit_bias(logits, bias);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], 102.5f);
  EXPECT_FLOAT_EQ(logits[2], 3.0f);
  EXPECT_FLOAT_EQ(logits[3], -96.0f);
}

TEST(LogitBias, RejectsTokenOutsideVocabulary) {
  std::vector<float> logits(4, 0.0f);
  const std::vector<std::pair<int32_t, float>> bias = {{4, 1.0f}};
  EXPECT_THROW(apply_logit_bias(logits, bias), Error);
}

TEST(RepetitionPenalty, DividesPositiveAndMultipliesNegativeLogitsOncePerToken) {
  std::vector<float> logits = {2.0f, -2.0f, 3.0f, -1.0f, 0.0f};
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  const std::vector<int32_t> context = {0, 1, 1, 1, 4};
  apply_penalties(logits, params, context);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], -4.0f);  // three occurrences, still penalised once
  EXPECT_FLOAT_EQ(logits[2], 3.0f);   // not in the context
  EXPECT_FLOAT_EQ(logits[3], -1.0f);
  EXPECT_FLOAT_EQ(logits[4], 0.0f);
}

TEST(RepetitionPenalty, BelowOneRewardsRepeats) {
  std::vector<float> logits = {2.0f, -2.0f};
  SamplingParams params;
  params.repetition_penalty = 0.5f;
  const std::vector<int32_t> context = {0, 1};
  apply_penalties(logits, params, context);
  EXPECT_FLOAT_EQ(logits[0], 4.0f);
  EXPECT_FLOAT_EQ(logits[1], -1.0f);
}

TEST(PresenceFrequencyPenalty, SubtractPresenceOnceAndFrequencyPerOccurrence) {
  std::vector<float> logits = {5.0f, 5.0f, 5.0f, 5.0f};
  SamplingParams params;
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.25f;
  const std::vector<int32_t> context = {2, 0, 2, 2, 3};
  apply_penalties(logits, params, context);
  EXPECT_FLOAT_EQ(logits[0], 5.0f - 0.5f - 0.25f * 1);
  EXPECT_FLOAT_EQ(logits[1], 5.0f);
  EXPECT_FLOAT_EQ(logits[2], 5.0f - 0.5f - 0.25f * 3);
  EXPECT_FLOAT_EQ(logits[3], 5.0f - 0.5f - 0.25f * 1);
}

TEST(Penalties, RepetitionComesBeforePresenceAndFrequency) {
  std::vector<float> logits = {3.0f};
  SamplingParams params;
  params.repetition_penalty = 1.5f;
  params.presence_penalty = 1.0f;
  params.frequency_penalty = 0.5f;
  const std::vector<int32_t> context = {0, 0};
  apply_penalties(logits, params, context);
  EXPECT_FLOAT_EQ(logits[0], 3.0f / 1.5f - 1.0f - 0.5f * 2);
}

TEST(Penalties, LastNWindowOnlyLooksAtRecentTokens) {
  std::vector<float> logits = {1.0f, 1.0f, 1.0f};
  SamplingParams params;
  params.frequency_penalty = 1.0f;
  params.penalty_last_n = 2;
  const std::vector<int32_t> context = {0, 0, 1, 2};
  apply_penalties(logits, params, context);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], 0.0f);
  EXPECT_FLOAT_EQ(logits[2], 0.0f);
}

TEST(Penalties, DisabledPenaltiesLeaveLogitsUntouched) {
  std::vector<float> logits = {1.0f, -1.0f};
  const std::vector<int32_t> context = {0, 1, 7};  // 7 is out of range, but nothing is counted
  apply_penalties(logits, SamplingParams{}, context);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], -1.0f);
}

TEST(Penalties, RejectsContextTokenOutsideVocabularyNamingThePosition) {
  std::vector<float> logits(4, 0.0f);
  SamplingParams params;
  params.presence_penalty = 1.0f;
  const std::vector<int32_t> context = {1, 2, -3};
  try {
    apply_penalties(logits, params, context);
    FAIL() << "expected gemma4::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
  }
}

TEST(Penalties, SamplerAppliesThemEveryStepWithoutCarryingCountsOver) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.presence_penalty = 10.0f;
  Sampler sampler(params);
  const std::vector<int32_t> context = {0};
  for (int step = 0; step < 3; ++step) {
    std::vector<float> logits = {5.0f, 1.0f, 0.0f};
    EXPECT_EQ(sampler.sample(logits, context), 1);
    EXPECT_FLOAT_EQ(logits[0], -5.0f);  // penalised once per step, not cumulatively
  }
  std::vector<float> logits = {5.0f, 1.0f, 0.0f};
  EXPECT_EQ(sampler.sample(logits, {}), 0);
}

TEST(SamplingParamsValidation, RejectsOutOfRangeValuesNamingTheField) {
  auto expect_rejected = [](SamplingParams params, const std::string& field) {
    try {
      Sampler sampler(params);
      FAIL() << "expected gemma4::Error for " << field;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  SamplingParams params;
  params.temperature = -1.0f;
  expect_rejected(params, "temperature");
  params = {};
  params.temperature = NAN;
  expect_rejected(params, "temperature");
  params = {};
  params.top_p = NAN;
  expect_rejected(params, "top_p");
  params = {};
  params.min_p = 1.5f;
  expect_rejected(params, "min_p");
  params = {};
  params.repetition_penalty = 0.0f;
  expect_rejected(params, "repetition_penalty");
  params = {};
  params.frequency_penalty = INFINITY;
  expect_rejected(params, "frequency_penalty");
  params = {};
  params.penalty_last_n = -1;
  expect_rejected(params, "penalty_last_n");
  params = {};
  params.logit_bias = {{3, NAN}};
  expect_rejected(params, "logit_bias[0]");
  params = {};
  params.logit_bias = {{-1, 1.0f}};
  expect_rejected(params, "logit_bias[0]");
}

}  // namespace
}  // namespace gemma4
