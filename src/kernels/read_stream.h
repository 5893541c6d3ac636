#pragma once
// The memory-read probe's loop (gemma4/read_probe.h), shared with kernels_bench's MemoryRead: one
// definition of the bandwidth ceiling that decode is compared with.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace gemma4 {

// Reads data[0, count) once over the pool (contiguous ranges, sixteen independent sums per thread
// so the adds keep pace with memory) and returns the sum, so the reads cannot be optimised away.
double read_stream(const float* data, int64_t count, ThreadPool& pool);

}  // namespace gemma4
