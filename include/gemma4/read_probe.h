#pragma once
// The memory-read ceiling of this machine: the rate at which `threads` threads stream a buffer far
// larger than any cache. Decode reads every weight once per token, so its weight GB/s over this
// figure (measured in the same run: bandwidth drifts) says how close decode is to the roofline.
namespace gemma4 {

// Streams a 512 MiB buffer (2 MiB pages, like the weights) `passes` times over `threads` threads
// (0: one per hardware thread) and returns the median GB/s of the passes. Allocates and frees
// the buffer on each call.
double measure_read_bandwidth(int threads, int passes = 5);

}  // namespace gemma4
