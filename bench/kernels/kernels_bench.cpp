// Kernel micro-benchmarks on Gemma 4 E2B shapes: GEMV (decode, n = 1) and GEMM (prefill,
// n = 128 / 512) per weight type, reporting weight-streaming GB/s and GFLOP/s, next to a
// memory-read probe run with the same threads, and the int8 multiply-add peak (a register-only
// maddubs / vpdpbusd loop) next to each quantized matmul's achieved G MAC/s; few-row batches
// (n = 2..8, batched decode) on the LM head; plus rms_norm, softmax and attention dots.
//
//   build/bench/kernels_bench --benchmark_min_time=0.2s --benchmark_filter=...
//   GEMMA4_KERNELS=scalar build/bench/kernels_bench ...   (portable path)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_dispatch.h"
#include "kernels/matmul_kernels.h"
#include "kernels/kv_ops.h"
#include "kernels/matmul.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"
#include "kernels/read_stream.h"
#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace gemma4 {
namespace {

ThreadPool& pool_with(int threads) {
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A [rows x cols] matrix of `type` with realistic values. Only 256 distinct rows are generated and
// repeated (the content does not change the speed), so the 262144-row LM head stays cheap to build.
WeightMatrix bench_matrix(WeightType type, int64_t rows, int64_t cols) {
  const int64_t distinct = std::min<int64_t>(rows, 256);
  const auto src = random_floats(distinct * cols, 42, 0.02f);
  WeightMatrix seed = make_weight_matrix(SourceType::F32, src.data(), distinct, cols, type, true);
  const size_t rb = row_bytes(type, cols);
  // In 2 MiB pages, as the engine holds its weights (weight cache, io/streaming_mapping.h).
  std::shared_ptr<uint8_t> buffer = allocate_weight_buffer(rb * rows);
  for (int64_t r = 0; r < rows; r += distinct) {
    const int64_t count = std::min(distinct, rows - r);
    std::memcpy(buffer.get() + rb * r, seed.data, rb * count);
  }
  WeightMatrix m = seed;
  m.rows = rows;
  m.data = buffer.get();
  m.owner = std::shared_ptr<const void>(buffer, buffer.get());
  return m;
}

void BM_Matmul(benchmark::State& state, WeightType type, int64_t rows, int64_t cols, int64_t n,
               int threads) {
  WeightMatrix w = bench_matrix(type, rows, cols);
  const auto x = random_floats(n * cols, 7);
  std::vector<float> y(n * rows);
  ThreadPool& pool = pool_with(threads);
  for (auto _ : state) {
    matmul(w, x.data(), n, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.byte_size()) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * cols * n / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] = benchmark::Counter(1.0 * rows * cols * n / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// The MLP weights of all 35 E2B layers (gate|up then down; F = 6144 for layers 0..14, 12288 after),
// streamed for one token the way a decode step streams them: many mid-sized matrices in a row from
// memory, not one matrix that stays in cache. Its GB/s against MemoryRead is the decode roofline
// question without the rest of the model.
void BM_DecodeMlpStack(benchmark::State& state, WeightType type, int threads) {
  constexpr int kLayers = 35;
  const int64_t H = 1536;
  struct Layer {
    WeightMatrix gate, up, down;
  };
  static std::map<WeightType, std::vector<Layer>> stacks;
  auto& layers = stacks[type];
  if (layers.empty()) {
    for (int l = 0; l < kLayers; ++l) {
      const int64_t F = l < 15 ? 6144 : 12288;
      layers.push_back({bench_matrix(type, F, H), bench_matrix(type, F, H), bench_matrix(type, H, F)});
    }
  }
  auto x = random_floats(H, 7);
  std::vector<float> gate(12288), up(12288), y(H);
  ThreadPool& pool = pool_with(threads);
  double gate_up_bytes = 0, down_bytes = 0;
  for (const Layer& l : layers) {
    gate_up_bytes += l.gate.byte_size() + l.up.byte_size();
    down_bytes += l.down.byte_size();
  }
  using Clock = std::chrono::steady_clock;
  Clock::duration gate_up_time{}, gelu_time{}, down_time{};
  for (auto _ : state) {
    for (const Layer& l : layers) {
      const MatmulTarget targets[] = {{&l.gate, gate.data()}, {&l.up, up.data()}};
      const auto t0 = Clock::now();
      matmul_shared_input(targets, x.data(), 1, pool);
      const auto t1 = Clock::now();
      gelu_tanh_mul(gate.data(), up.data(), l.gate.rows, gate.data());
      const auto t2 = Clock::now();
      matmul(l.down, gate.data(), 1, y.data(), pool);
      const auto t3 = Clock::now();
      gate_up_time += t1 - t0;
      gelu_time += t2 - t1;
      down_time += t3 - t2;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter((gate_up_bytes + down_bytes) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  // Per part: the matmuls' own streaming rate, and the serial GELU between them.
  const double iterations = static_cast<double>(state.iterations());
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  state.counters["gate_up_GB/s"] = gate_up_bytes * iterations / 1e9 / seconds(gate_up_time);
  state.counters["down_GB/s"] = down_bytes * iterations / 1e9 / seconds(down_time);
  state.counters["gelu_ms"] = 1e3 * seconds(gelu_time) / iterations;
}

// ---- int8 multiply-add peak: register-only loops, 12 independent accumulators per thread ----

constexpr int64_t kPeakIterations = 1 << 20;

#if defined(__x86_64__)
// Each step feeds the accumulator back as the signed operand, so nothing can be hoisted out of the
// loop; 12 chains hide the latency, so the loop runs at the instructions' throughput.
__attribute__((target("avx2"))) int64_t peak_maddubs(int64_t iterations) {
  __m256i acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_epi32(k);
  const __m256i a = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int k = 0; k < 12; ++k) {
      // The AVX2 kernels' sequence: u8·s8 pairs to int16, pairs to int32, accumulate.
      acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a, acc[k]), ones));
    }
  }
  int64_t sum = 0;
  for (int k = 0; k < 12; ++k) sum += _mm256_extract_epi32(acc[k], 0);
  return sum;
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) int64_t peak_dpbusd_256(int64_t iterations) {
  __m256i acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_epi32(k);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  for (int64_t i = 0; i < iterations; ++i)
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_dpbusd_epi32(acc[k], a, b);
  int64_t sum = 0;
  for (int k = 0; k < 12; ++k) sum += _mm256_extract_epi32(acc[k], 0);
  return sum;
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) int64_t peak_dpbusd_512(int64_t iterations) {
  __m512i acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm512_set1_epi32(k);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iterations; ++i)
    for (int k = 0; k < 12; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
  int64_t sum = 0;
  for (int k = 0; k < 12; ++k) {
    int32_t lanes[16];
    _mm512_storeu_si512(lanes, acc[k]);
    sum += lanes[0];
  }
  return sum;
}
#endif

// kind: 0 = AVX2 maddubs (32 MACs per op pair), 1 = 256-bit vpdpbusd (32), 2 = 512-bit (64).
void BM_Int8Peak(benchmark::State& state, int kind, int threads) {
#if defined(__x86_64__)
  if (kind == 0 && !kernel_path_supported(KernelPath::Avx2)) {
    state.SkipWithError("no AVX2");
    return;
  }
  if (kind > 0 && !(__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  ThreadPool& pool = pool_with(threads);
  std::vector<int64_t> sink(threads * 8);
  for (auto _ : state) {
    pool.run(threads, [&](int64_t, int thread) {
      const int64_t v = kind == 0 ? peak_maddubs(kPeakIterations)
                        : kind == 1 ? peak_dpbusd_256(kPeakIterations)
                                    : peak_dpbusd_512(kPeakIterations);
      sink[thread * 8] += v;
    });
  }
  benchmark::DoNotOptimize(sink.data());
  const double macs_per_op = kind == 2 ? 64 : 32;
  state.counters["GMAC/s"] = benchmark::Counter(12.0 * kPeakIterations * macs_per_op * threads / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
#else
  state.SkipWithError("x86-64 only");
  (void)kind;
  (void)threads;
#endif
}

// Streams a 1 GiB buffer with `gemma4 bench`'s read-probe loop: the bandwidth ceiling.
void BM_MemoryRead(benchmark::State& state, int threads) {
  const int64_t count = (int64_t{1} << 30) / sizeof(float);
  // In 2 MiB pages like the weights, so the ceiling is not lowered by TLB misses.
  static const std::shared_ptr<uint8_t> storage = [&] {
    auto p = allocate_weight_buffer(count * sizeof(float));
    std::memset(p.get(), 0, count * sizeof(float));
    return p;
  }();
  const float* buffer = reinterpret_cast<const float*>(storage.get());
  ThreadPool& pool = pool_with(threads);
  for (auto _ : state) benchmark::DoNotOptimize(read_stream(buffer, count, pool));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(count) * sizeof(float) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Quantize(benchmark::State& state, WeightType type, int threads) {
  const int64_t rows = 6144, cols = 1536;
  const auto src = random_floats(rows * cols, 3, 0.02f);
  std::vector<uint16_t> bf16(src.size());
  for (size_t i = 0; i < src.size(); ++i) bf16[i] = f32_to_bf16(src[i]);
  ThreadPool& pool = pool_with(threads);
  for (auto _ : state) {
    WeightMatrix m = make_weight_matrix(SourceType::BF16, bf16.data(), rows, cols, type, true, &pool);
    benchmark::DoNotOptimize(m.data);
  }
  state.counters["Mweights/s"] = benchmark::Counter(rows * cols / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}

// Latency of one empty fork-join region (decode issues a few hundred per token).
void BM_ForkJoin(benchmark::State& state, int threads) {
  ThreadPool& pool = pool_with(threads);
  std::vector<int64_t> sink(threads * 16);
  for (auto _ : state) {
    pool.run(threads, [&](int64_t task, int thread) { sink[thread * 16] += task; });
  }
  benchmark::DoNotOptimize(sink.data());
}

void BM_RmsNorm(benchmark::State& state) {
  const int64_t n = 1536;
  auto x = random_floats(n, 1), w = random_floats(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    rms_norm(x.data(), w.data(), n, 1e-6f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_Softmax(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto x = random_floats(n, 3, 4.0f);
  std::vector<float> y(n);
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    softmax_inplace(y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_GeluMul(benchmark::State& state) {
  const int64_t n = 6144;
  const auto g = random_floats(n, 4), u = random_floats(n, 5);
  std::vector<float> out(n);
  for (auto _ : state) {
    gelu_tanh_mul(g.data(), u.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

// One query head against `positions` cached keys and values: the attention inner loops.
void BM_AttentionDot(benchmark::State& state, KvType type) {
  const int64_t head_dim = state.range(0), positions = 1024;
  const auto keys = random_floats(head_dim * positions, 6);
  std::vector<uint8_t> k(head_dim * positions * kv_type_size(type)), v(k.size());
  kv_store(keys.data(), head_dim * positions, type, k.data());
  kv_store(keys.data(), head_dim * positions, type, v.data());
  const auto q = random_floats(head_dim, 7);
  std::vector<float> scores(positions), acc(head_dim);
  const size_t row = head_dim * kv_type_size(type);
  for (auto _ : state) {
    for (int64_t p = 0; p < positions; ++p) scores[p] = kv_dot(q.data(), k.data() + p * row, type, head_dim);
    softmax_inplace(scores.data(), positions);
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t p = 0; p < positions; ++p) kv_axpy(scores[p], v.data() + p * row, type, head_dim, acc.data());
    benchmark::DoNotOptimize(acc.data());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * k.size() / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  struct Shape {
    const char* name;
    int64_t rows, cols;
  };
  const Shape shapes[] = {{"6144x1536", 6144, 1536}, {"1536x6144", 1536, 6144}};
  const WeightType types[] = {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0,
                              WeightType::Q4_0};
  for (int threads : {1, 2}) {
    const std::string t = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("MemoryRead_1GiB" + t).c_str(), BM_MemoryRead, threads)->UseRealTime();
    benchmark::RegisterBenchmark(("ForkJoin" + t).c_str(), BM_ForkJoin, threads)->UseRealTime();
    const char* peak_names[] = {"Int8Peak/avx2_maddubs", "Int8Peak/vpdpbusd_256", "Int8Peak/vpdpbusd_512"};
    for (int kind = 0; kind < 3; ++kind) {
      benchmark::RegisterBenchmark((peak_names[kind] + t).c_str(), BM_Int8Peak, kind, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (WeightType type : types) {
      const std::string tn(weight_type_name(type));
      for (const Shape& s : shapes) {
        for (int64_t n : {1, 128, 512}) {
          benchmark::RegisterBenchmark(("Matmul/" + tn + "/" + s.name + "/n:" + std::to_string(n) + t).c_str(),
                                       BM_Matmul, type, s.rows, s.cols, n, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
      if (type != WeightType::F32) {  // the f32 LM head would need 1.6 GB
        // n = 2..8: batched decode, which should cost little more than n = 1 (one weight pass).
        for (int64_t n : {1, 2, 4, 8}) {
          benchmark::RegisterBenchmark(("Matmul/" + tn + "/lm_head_262144x1536/n:" + std::to_string(n) + t).c_str(),
                                       BM_Matmul, type, 262144, 1536, n, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
    for (WeightType type : {WeightType::Q8_0, WeightType::Q4_0}) {
      benchmark::RegisterBenchmark(("DecodeMlpStack/" + std::string(weight_type_name(type)) + t).c_str(),
                                   BM_DecodeMlpStack, type, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("Quantize/" + std::string(weight_type_name(type)) + "/6144x1536" + t).c_str(),
                                   BM_Quantize, type, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::RegisterBenchmark("RmsNorm/1536", BM_RmsNorm);
  benchmark::RegisterBenchmark("Softmax", BM_Softmax)->Arg(1024)->Arg(262144);
  benchmark::RegisterBenchmark("GeluMul/6144", BM_GeluMul);
  for (KvType type : {KvType::F32, KvType::F16, KvType::BF16}) {
    benchmark::RegisterBenchmark(("AttentionDot/" + std::string(kv_type_name(type)) + "/1024pos").c_str(),
                                 BM_AttentionDot, type)
        ->Arg(256)
        ->Arg(512);
  }
}

}  // namespace
}  // namespace gemma4

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kernel_path", std::string(gemma4::kernel_path_name(gemma4::active_kernel_path())));
  benchmark::AddCustomContext("vnni", gemma4::vnni_supported() ? "on" : "off");
  gemma4::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
