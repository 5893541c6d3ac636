#include "gemma4/read_probe.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "kernels/read_stream.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

double read_stream(const float* data, int64_t count, ThreadPool& pool) {
  std::vector<double> sums(static_cast<size_t>(pool.size()) * 8);  // a cache line apart
  pool.parallel_for(count, 1 << 20, [&](int64_t b, int64_t e, int thread) {
    float s[16] = {};
    for (int64_t i = b; i + 16 <= e; i += 16)
      for (int k = 0; k < 16; ++k) s[k] += data[i + k];
    for (float v : s) sums[static_cast<size_t>(thread) * 8] += v;
  });
  double total = 0;
  for (double v : sums) total += v;
  return total;
}

double measure_read_bandwidth(int threads, int passes) {
  const int64_t count = (int64_t{512} << 20) / sizeof(float);
  const std::shared_ptr<uint8_t> storage = allocate_weight_buffer(count * sizeof(float));
  std::memset(storage.get(), 0, count * sizeof(float));
  const float* buffer = reinterpret_cast<const float*>(storage.get());
  ThreadPool pool(threads > 0 ? threads : hardware_threads());
  std::vector<double> rates;
  volatile double sink = 0;
  for (int pass = 0; pass < std::max(1, passes); ++pass) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + read_stream(buffer, count, pool);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(count) * sizeof(float) / 1e9 / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace gemma4
