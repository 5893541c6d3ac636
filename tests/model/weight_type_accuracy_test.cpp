// Accuracy of every weight type and KV-cache type against the float64 reference logits:
// max |Δlogit|, mean KL divergence of the softmax, top-1 agreement. Prints the report table
// (quoted in the README) and fails when a path drifts past its bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "gemma4/model.h"
#include "test_util.h"

namespace gemma4 {
namespace {

struct Accuracy {
  double max_abs = 0, mean_kl = 0, top1 = 0;
};

Accuracy compare(const std::vector<float>& got, const std::vector<float>& want, int64_t V) {
  Accuracy a;
  int64_t T = static_cast<int64_t>(want.size()) / V, agree = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* g = got.data() + t * V;
    const float* w = want.data() + t * V;
    double gmax = g[0], wmax = w[0];
    int64_t garg = 0, warg = 0;
    for (int64_t v = 0; v < V; ++v) {
      a.max_abs = std::max(a.max_abs, std::abs(static_cast<double>(g[v]) - w[v]));
      if (g[v] > gmax) gmax = g[v], garg = v;
      if (w[v] > wmax) wmax = w[v], warg = v;
    }
    double gz = 0, wz = 0;
    for (int64_t v = 0; v < V; ++v) gz += std::exp(g[v] - gmax), wz += std::exp(w[v] - wmax);
    double kl = 0;  // KL(reference || engine)
    for (int64_t v = 0; v < V; ++v) {
      double lp = w[v] - wmax - std::log(wz), lq = g[v] - gmax - std::log(gz);
      kl += std::exp(lp) * (lp - lq);
    }
    a.mean_kl += kl / T;
    agree += garg == warg;
  }
  a.top1 = static_cast<double>(agree) / T;
  return a;
}

struct PathCase {
  const char* dtype;
  const char* kv;
  double max_abs, mean_kl, min_top1;  // bounds
};

TEST(WeightTypeAccuracy, EveryPathStaysCloseToTheReference) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  // bf16 weights are the stored values; f16 rounds them again; q8_0 / q4_0 quantize per 32 weights
  // tiny-a is a random network (no structure to absorb noise) with 64-wide rows, so errors grow
  // layer by layer far more than on trained weights: these bounds guard against regressions.
  const PathCase cases[] = {
      {"f32", "f32", 1e-3, 1e-8, 1.0},   {"f32", "f16", 0.05, 1e-4, 0.97},
      {"f32", "bf16", 0.35, 1e-3, 0.97},  {"bf16", "f32", 1e-3, 1e-8, 1.0},
      {"f16", "f32", 0.05, 1e-4, 0.97},  {"q8_0", "f16", 3.0, 0.02, 0.93},
      {"q4_0", "f16", 15.0, 0.8, 0.6},
  };
  std::printf("| weights | KV cache | max abs dlogit | mean KL | top-1 agreement |\n|---|---|---|---|---|\n");
  for (const auto& c : cases) {
    auto model = Model::load(golden.dir, {.dtype = c.dtype, .threads = 2});
    std::vector<float> got, want;
    for (const auto& seq : golden.sequences) {
      int64_t T = static_cast<int64_t>(seq.ids.size());
      Session session(model, {.max_context = T, .max_chunk = 16, .kv_type = c.kv});
      std::vector<float> logits;
      session.append_all_logits(seq.ids, 16, logits);
      got.insert(got.end(), logits.begin(), logits.end());
      want.insert(want.end(), seq.logits.begin(), seq.logits.end());
    }
    Accuracy a = compare(got, want, golden.sequences[0].vocab);
    std::printf("| %s | %s | %.3g | %.3g | %.1f%% |\n", c.dtype, c.kv, a.max_abs, a.mean_kl, 100 * a.top1);
    EXPECT_LE(a.max_abs, c.max_abs) << c.dtype << "/" << c.kv;
    EXPECT_LE(a.mean_kl, c.mean_kl) << c.dtype << "/" << c.kv;
    EXPECT_GE(a.top1, c.min_top1) << c.dtype << "/" << c.kv;
  }
}

}  // namespace
}  // namespace gemma4
