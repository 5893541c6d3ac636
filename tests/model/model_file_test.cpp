// `gemma4 convert`'s model file (model/model_file_weights.h): a model loaded from it gives the
// logits of the folder it was converted from at the same weight type, bit for bit, mapped and
// read (as the WebAssembly build reads); it holds the converted matrices and not their sources;
// and a file in another weight type or with a changed matrix is refused by name.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/model_impl.h"
#include "gemma4/engine.h"
#include "gemma4/error.h"
#include "gemma4/model.h"
#include "io/model_file.h"
#include "model/model_file_weights.h"
#include "test_util.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using testing::GoldenFixture;
using testing::load_golden;

// A model file's path in a folder of its own, removed with it (test_util.h).
struct TempFile {
  testing::TempDir dir;
  fs::path path = dir.path() / "model.g4w";
};

fs::path fixture_dir(const std::string& name) {
  return name == "tiny-a" ? testing::tiny_a_dir() : testing::data_dir() / "fixtures" / name;
}

std::vector<std::vector<float>> all_logits(const std::shared_ptr<Model>& model, const GoldenFixture& golden) {
  std::vector<std::vector<float>> out;
  for (const auto& seq : golden.sequences) {
    const int64_t T = static_cast<int64_t>(seq.ids.size());
    Session session(model, {.max_context = T, .max_chunk = 3});  // odd chunks: decode and prefill paths
    std::vector<float> logits;
    session.append_all_logits(seq.ids, T, logits);
    out.push_back(std::move(logits));
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class ModelFileFixture : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ModelFileFixture, LoadsTheFolderLogitsBitForBit) {
  const auto& [fixture, dtype] = GetParam();
  const GoldenFixture golden = load_golden(fixture_dir(fixture));
  TempFile file;
  ThreadPool pool(2);
  const ConvertResult r = convert_to_model_file(golden.dir, file.path, {.weight_type = *parse_weight_type(dtype), .pool = &pool});
  EXPECT_EQ(r.file_bytes, fs::file_size(file.path));
  EXPECT_TRUE(io::is_model_file(file.path));
  EXPECT_NO_THROW(io::ModelFile::open(file.path).verify());

  const auto folder = Model::load(golden.dir, {.dtype = dtype, .threads = 2, .weight_cache = false});
  const auto expected = all_logits(folder, golden);
  auto model = Model::load(file.path, {.dtype = dtype, .threads = 2});
  EXPECT_EQ(model->config().num_layers, folder->config().num_layers);
  EXPECT_EQ(all_logits(model, golden), expected);

  // Read, not mapped: matrices are read into the heap, the tables stay in the file.
  WeightLoadOptions read;
  read.weight_type = *parse_weight_type(dtype);
  read.pool = &pool;
  read.per_layer_table_on_disk = true;
  model->impl().weights = load_weights(file.path, read);
  const ModelWeights& w = *model->impl().weights;
  // (A tied head used as stored keeps the token embedding's bytes; lookups read them there.)
  if (!w.checkpoint.held(*w.embed_tokens.tensor))
    EXPECT_NE(dynamic_cast<const io::FileRowSource*>(w.embed_tokens.source.get()), nullptr);
  if (model->config().has_per_layer_inputs())
    EXPECT_NE(dynamic_cast<const io::FileRowSource*>(w.embed_tokens_per_layer.source.get()), nullptr);
  EXPECT_EQ(all_logits(model, golden), expected);

  // The file's sources of converted matrices are gone from its tensor section.
  const io::ModelFile f = io::ModelFile::open(file.path);
  EXPECT_EQ(f.weight_type(), dtype);
  const io::Checkpoint stored = io::Checkpoint::open(file.path);
  for (const io::ModelFileMatrix& m : f.matrices()) {
    const bool table = m.name.find("embed_tokens") != std::string::npos;  // a tied head's table
    EXPECT_EQ(stored.find(m.name) != nullptr, table) << m.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelFileFixture,
                         ::testing::Combine(::testing::Values("tiny-a", "flat-gqa", "kv-eq", "sharded"),
                                            ::testing::Values("q4_0", "q8_0", "bf16")),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(ModelFile, AnEngineServesIt) {
  TempFile file;
  convert_to_model_file(testing::tiny_a_dir(), file.path, {.weight_type = WeightType::Q8_0});
  auto engine = Engine::open(file.path, {.dtype = "q8_0", .max_context = 128});
  EXPECT_EQ(engine->model_name(), file.path.stem().string());
  const auto folder = Engine::open(testing::tiny_a_dir(), {.dtype = "q8_0", .max_context = 128});
  EXPECT_EQ(engine->tokenizer().encode("The capital of France"), folder->tokenizer().encode("The capital of France"));
  EXPECT_EQ(engine->defaults().stop_token_ids, folder->defaults().stop_token_ids);
}

TEST(ModelFile, RefusesAnotherWeightTypeAndChangedMatrices) {
  TempFile file;
  convert_to_model_file(testing::tiny_a_dir(), file.path, {.weight_type = WeightType::Q4_0});
  EXPECT_NE(error_of([&] { Model::load(file.path, {.dtype = "q8_0"}); }).find("holds q4_0 weights; load it with dtype q4_0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { convert_to_model_file(file.path, file.path.string() + ".2", {}); }).find("is a model file already"),
            std::string::npos);

  // One byte of one matrix changed: its load names it (the index and header are intact).
  const io::ModelFileMatrix m = io::ModelFile::open(file.path).matrices().at(3);
  {
    std::fstream f(file.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(m.offset + m.bytes / 2));
    f.put('\x5a');
  }
  for (bool read : {false, true}) {
    WeightLoadOptions o;
    o.weight_type = WeightType::Q4_0;
    o.per_layer_table_on_disk = read;
    const std::string e = error_of([&] { load_weights(file.path, o); });
    EXPECT_NE(e.find("matrix '" + m.name + "' does not match its checksum"), std::string::npos) << e;
  }
}

// The committed file that the wasm and browser tests load (tests/data/tiny-a-q4_0.g4w) is what
// this engine's convert writes, byte for byte, and it loads to the folder's q4_0 logits.
TEST(ModelFile, CommittedTestFileIsCurrent) {
  const fs::path committed = testing::data_dir() / "tiny-a-q4_0.g4w";
  TempFile fresh;
  convert_to_model_file(testing::tiny_a_dir(), fresh.path, {.weight_type = WeightType::Q4_0});
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_TRUE(bytes(committed) == bytes(fresh.path))
      << committed << " is out of date: build/gemma4 convert --model tests/data/tiny-a --dtype q4_0 --out " << committed;
  const GoldenFixture golden = load_golden(testing::tiny_a_dir());
  EXPECT_EQ(all_logits(Model::load(committed, {.dtype = "q4_0", .threads = 2}), golden),
            all_logits(Model::load(golden.dir, {.dtype = "q4_0", .threads = 2, .weight_cache = false}), golden));
}

}  // namespace
}  // namespace gemma4
