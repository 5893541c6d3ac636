// Fuzzes generation_config.json (and, when the first byte is odd, config.json read as the fallback
// source of stop tokens): defaults load with valid sampling parameters or fail with gemma4::Error.
#include "fuzz_util.h"
#include "gemma4/sampling.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  if (size == 0) return 0;
  static const std::filesystem::path dir = [] {
    auto d = fuzz::scratch_dir() / "gen";
    std::filesystem::create_directories(d);
    return d;
  }();
  const bool as_model_config = data[0] & 1;
  const auto text = fuzz::as_text(data + 1, size - 1);
  std::error_code ec;
  std::filesystem::remove(dir / (as_model_config ? "generation_config.json" : "config.json"), ec);
  fuzz::write_file(dir / (as_model_config ? "config.json" : "generation_config.json"), text);
  fuzz::expect_clean_error([&] {
    const GenerationDefaults d = load_generation_config(dir);
    validate_sampling_params(d.sampling);  // what loaded must be usable
    for (int32_t id : d.stop_token_ids) {
      if (id < 0) std::abort();
    }
  });
  return 0;
}
