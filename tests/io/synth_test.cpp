// `gemma4 synth`: the tensor layout must match the real model family (checked against the tiny-a
// fixture, which was exported from the reference implementation), values must be deterministic
// and sanely scaled, and the CLI must produce a folder the reader accepts.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "kernels/numeric.h"
#include "model/synth/synth_checkpoint.h"
#include "model/synth/synth_random.h"

namespace gemma4::synth {
namespace {

using ::testing::HasSubstr;
using gemma4::testing::TempDir;

const std::filesystem::path kTinyA = std::filesystem::path(GEMMA4_TEST_DATA) / "tiny-a";

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Same names, dtypes and shapes as a reference checkpoint.
void expect_same_layout(const io::Checkpoint& expected, const std::vector<io::TensorSpec>& actual) {
  std::vector<std::string> names;
  for (const io::TensorSpec& spec : actual) {
    names.push_back(spec.name);
    const io::TensorView* ref = expected.find(spec.name);
    ASSERT_NE(ref, nullptr) << spec.name << " is not in the reference";
    EXPECT_EQ(spec.dtype, ref->dtype) << spec.name;
    EXPECT_EQ(spec.shape, ref->shape) << spec.name;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, expected.names());
}

TEST(Synth, TinyPresetMatchesTinyAFixture) {
  const io::Checkpoint ref = io::Checkpoint::open(kTinyA);
  std::vector<io::TensorSpec> specs;
  for (const SynthTensor& t : synth_tensors(tiny_config())) specs.push_back(t.spec);
  expect_same_layout(ref, specs);

  // config.json and generation_config.json have the fixture's content.
  EXPECT_EQ(nlohmann::json::parse(synth_config_json(tiny_config()).dump()), read_json(kTinyA / "config.json"));
  EXPECT_EQ(nlohmann::json::parse(synth_generation_config_json().dump()),
            read_json(kTinyA / "generation_config.json"));
}

TEST(Synth, E2BLayout) {
  const SynthConfig cfg = e2b_config();
  const std::vector<SynthTensor> tensors = synth_tensors(cfg);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const SynthTensor& t : tensors) {
    EXPECT_EQ(t.spec.dtype, io::DType::BF16);
    shapes[t.spec.name] = t.spec.shape;
  }
  // 5 model-level tensors, 17 per layer with own K/V (0..14), 14 per KV-shared layer (15..34).
  EXPECT_EQ(tensors.size(), 5u + 15u * 17u + 20u * 14u);
  EXPECT_EQ(shapes.size(), tensors.size());
  const std::string p = "model.language_model.";
  using Shape = std::vector<int64_t>;
  EXPECT_EQ(shapes[p + "embed_tokens.weight"], (Shape{262144, 1536}));
  EXPECT_EQ(shapes[p + "embed_tokens_per_layer.weight"], (Shape{262144, 8960}));
  EXPECT_EQ(shapes[p + "per_layer_model_projection.weight"], (Shape{8960, 1536}));
  EXPECT_EQ(shapes[p + "per_layer_projection_norm.weight"], (Shape{256}));
  EXPECT_EQ(shapes[p + "norm.weight"], (Shape{1536}));
  EXPECT_EQ(shapes[p + "layers.0.self_attn.q_proj.weight"], (Shape{2048, 1536}));
  EXPECT_EQ(shapes[p + "layers.0.self_attn.k_proj.weight"], (Shape{256, 1536}));
  EXPECT_EQ(shapes[p + "layers.4.self_attn.q_proj.weight"], (Shape{4096, 1536}));
  EXPECT_EQ(shapes[p + "layers.4.self_attn.o_proj.weight"], (Shape{1536, 4096}));
  EXPECT_EQ(shapes[p + "layers.14.self_attn.v_proj.weight"], (Shape{512, 1536}));
  EXPECT_EQ(shapes[p + "layers.14.self_attn.k_norm.weight"], (Shape{512}));
  EXPECT_EQ(shapes.count(p + "layers.15.self_attn.k_proj.weight"), 0u);
  EXPECT_EQ(shapes[p + "layers.14.mlp.gate_proj.weight"], (Shape{6144, 1536}));
  EXPECT_EQ(shapes[p + "layers.15.mlp.gate_proj.weight"], (Shape{12288, 1536}));
  EXPECT_EQ(shapes[p + "layers.34.mlp.down_proj.weight"], (Shape{1536, 12288}));
  EXPECT_EQ(shapes[p + "layers.34.self_attn.q_norm.weight"], (Shape{512}));
  EXPECT_EQ(shapes[p + "layers.33.self_attn.q_norm.weight"], (Shape{256}));
  EXPECT_EQ(shapes[p + "layers.20.per_layer_input_gate.weight"], (Shape{256, 1536}));
  EXPECT_EQ(shapes[p + "layers.20.per_layer_projection.weight"], (Shape{1536, 256}));
  EXPECT_EQ(shapes[p + "layers.20.layer_scalar"], (Shape{1}));
  // About 9.3 GB of BF16 (4.6 G parameters).
  const uint64_t total = synth_total_bytes(cfg);
  EXPECT_GT(total, 9'000'000'000ull);
  EXPECT_LT(total, 9'600'000'000ull);

  const auto config = synth_config_json(cfg);
  const auto& text = config["text_config"];
  EXPECT_EQ(text["num_hidden_layers"], 35);
  EXPECT_EQ(text["layer_types"].size(), 35u);
  EXPECT_EQ(text["layer_types"][4], "full_attention");
  EXPECT_EQ(text["layer_types"][34], "full_attention");
  EXPECT_EQ(text["layer_types"][33], "sliding_attention");
  EXPECT_EQ(text["vocab_size"], 262144);
  EXPECT_EQ(text["sliding_window"], 512);
  EXPECT_EQ(text["max_position_embeddings"], 131072);
}

TEST(Synth, UnknownPreset) {
  try {
    preset_config("e4b");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("unknown synth preset 'e4b'"));
  }
}

std::vector<float> fill_values(const SynthTensor& t, uint64_t seed, size_t index) {
  const size_t nbytes = io::tensor_nbytes(t.spec);
  std::vector<uint8_t> bytes(nbytes);
  fill_synth_bf16(t, seed, index, 0, bytes.data(), nbytes);
  std::vector<float> values(nbytes / 2);
  for (size_t i = 0; i < values.size(); ++i) values[i] = bf16_to_f32(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
  return values;
}

TEST(Synth, ValuesAreDeterministicChunkIndependentAndScaled) {
  const SynthTensor matrix{{"m", io::DType::BF16, {64, 400}}, InitKind::kMatrix};
  const size_t nbytes = io::tensor_nbytes(matrix.spec);
  std::vector<uint8_t> whole(nbytes), pieces(nbytes);
  fill_synth_bf16(matrix, 7, 3, 0, whole.data(), nbytes);
  for (size_t offset = 0; offset < nbytes; offset += 1000) {
    fill_synth_bf16(matrix, 7, 3, offset, pieces.data() + offset, std::min<size_t>(1000, nbytes - offset));
  }
  EXPECT_EQ(whole, pieces);
  std::vector<uint8_t> other_seed(nbytes), other_tensor(nbytes);
  fill_synth_bf16(matrix, 8, 3, 0, other_seed.data(), nbytes);
  fill_synth_bf16(matrix, 7, 4, 0, other_tensor.data(), nbytes);
  EXPECT_NE(whole, other_seed);
  EXPECT_NE(whole, other_tensor);

  const std::vector<float> m = fill_values(matrix, 7, 3);
  double sum = 0, sq = 0;
  for (float v : m) {
    sum += v;
    sq += double(v) * v;
  }
  const double mean = sum / m.size();
  const double stddev = std::sqrt(sq / m.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.003);
  EXPECT_NEAR(stddev, 1.0 / std::sqrt(400.0), 0.002);

  // 1 +- 0.1, widened by bf16 rounding (a step is 2^-7 just above 1).
  for (float v : fill_values({{"n", io::DType::BF16, {333}}, InitKind::kNorm}, 1, 0)) {
    EXPECT_GE(v, 0.9f - 0.004f);
    EXPECT_LE(v, 1.1f + 0.008f);
  }
  for (float v : fill_values({{"s", io::DType::BF16, {1}}, InitKind::kLayerScalar}, 1, 0)) {
    EXPECT_GE(v, 0.5f);
    EXPECT_LE(v, 1.0f);
  }
  const std::vector<float> e = fill_values({{"e", io::DType::BF16, {100, 100}}, InitKind::kEmbedding}, 1, 0);
  double esq = 0;
  for (float v : e) esq += double(v) * v;
  EXPECT_NEAR(std::sqrt(esq / e.size()), 0.02, 0.001);
}

int run_cli(const std::string& args, const std::filesystem::path& log) {
  const std::string command = std::string("\"") + GEMMA4_BINARY + "\" " + args + " 2>\"" + log.string() + "\"";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SynthCli, TinyPresetWritesAReadableCheckpoint) {
  TempDir tmp;
  const auto out = tmp.path() / "tiny";
  const auto log = tmp.path() / "log.txt";
  ASSERT_EQ(run_cli("synth --preset tiny --seed 5 --out \"" + out.string() + "\"", log), 0) << read_bytes(log);
  EXPECT_THAT(read_bytes(log), HasSubstr("tensors"));

  const io::Checkpoint ckpt = io::Checkpoint::open(out);
  std::vector<io::TensorSpec> written;
  for (const std::string& name : ckpt.names()) {
    const io::TensorView& t = ckpt.get(name);
    written.push_back({t.name, t.dtype, t.shape});
  }
  expect_same_layout(io::Checkpoint::open(kTinyA), written);
  EXPECT_EQ(read_json(out / "config.json"), read_json(kTinyA / "config.json"));
  EXPECT_EQ(read_json(out / "generation_config.json"), read_json(kTinyA / "generation_config.json"));
  EXPECT_EQ(read_bytes(out / "tokenizer.json"), read_bytes(kTinyA / "tokenizer.json"));

  // The same seed reproduces the file byte for byte; another seed does not.
  const auto again = tmp.path() / "again";
  const auto other = tmp.path() / "other";
  ASSERT_EQ(run_cli("synth --quiet --preset tiny --seed 5 --out \"" + again.string() + "\"", log), 0);
  ASSERT_EQ(run_cli("synth --quiet --preset tiny --seed 6 --out \"" + other.string() + "\"", log), 0);
  EXPECT_EQ(read_bytes(out / "model.safetensors"), read_bytes(again / "model.safetensors"));
  EXPECT_NE(read_bytes(out / "model.safetensors"), read_bytes(other / "model.safetensors"));
}

TEST(SynthCli, ErrorsAreReported) {
  TempDir tmp;
  const auto log = tmp.path() / "log.txt";
  EXPECT_NE(run_cli("synth --preset huge --out \"" + (tmp.path() / "x").string() + "\"", log), 0);
  EXPECT_THAT(read_bytes(log), HasSubstr("unknown synth preset 'huge'"));
  EXPECT_NE(run_cli("synth --preset tiny --tokenizer /nonexistent/tok.json --out \"" + (tmp.path() / "y").string() + "\"",
                    log),
            0);
  EXPECT_THAT(read_bytes(log), HasSubstr("/nonexistent/tok.json"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "y" / "model.safetensors"));
}

}  // namespace
}  // namespace gemma4::synth
