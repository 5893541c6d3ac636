// Fuzzes model.safetensors.index.json: the input is the index of a folder that also holds two
// valid shards (a.safetensors with tensors x and y, b.safetensors with z). Shard names come from
// the input, so path traversal, missing shards and mismatched tensors are all reachable.
#include <vector>

#include "fuzz_util.h"
#include "io/safetensors.h"

namespace {

const std::filesystem::path& checkpoint_dir() {
  static const std::filesystem::path dir = [] {
    using gemma4::io::DType;
    using gemma4::io::TensorSpec;
    std::filesystem::path d = gemma4::fuzz::scratch_dir() / "ckpt";
    std::filesystem::create_directories(d);
    const auto zeros = [](size_t, uint8_t* out, size_t n) { std::fill(out, out + n, uint8_t{0}); };
    gemma4::io::write_safetensors(d / "a.safetensors",
                                  {TensorSpec{"x", DType::F32, {2, 2}}, TensorSpec{"y", DType::BF16, {3}}}, zeros);
    gemma4::io::write_safetensors(d / "b.safetensors", {TensorSpec{"z", DType::F16, {4}}}, zeros);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const auto& dir = checkpoint_dir();
  fuzz::write_file(dir / "model.safetensors.index.json", fuzz::as_text(data, size));
  fuzz::expect_clean_error([&] {
    io::Checkpoint ckpt = io::Checkpoint::open(dir);
    for (const std::string& name : ckpt.names()) {
      if (ckpt.find(name) == nullptr) std::abort();
    }
  });
  return 0;
}
