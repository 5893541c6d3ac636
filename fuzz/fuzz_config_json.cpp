// Fuzzes config.json parsing: any JSON document either yields a consistent configuration or a
// gemma4::Error naming the field. Checks the derived per-layer specs agree with the counts.
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const auto text = fuzz::as_text(data, size);
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  fuzz::expect_clean_error([&] {
    const ModelConfig c = parse_model_config(doc, "config.json");
    if (c.num_layers <= 0 || static_cast<int>(c.layers.size()) != c.num_layers) std::abort();
    for (const LayerSpec& l : c.layers) {
      if (l.head_dim <= 0 || l.num_kv_heads <= 0 || l.mlp_width <= 0) std::abort();
      if (l.kv_source_layer < 0 || l.kv_source_layer >= c.num_layers) std::abort();
      if (static_cast<int64_t>(l.inv_freq.size()) != l.rotary_pairs) std::abort();
    }
  });
  return 0;
}
