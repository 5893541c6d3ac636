// The per-layer embedding table read from the file row by row (io::FileRowSource), as the
// WebAssembly build reads it: the same logits as the mapped table, bit for bit, and only the rows
// the forward pass asks for ever leave the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "engine/model_impl.h"
#include "gemma4/error.h"
#include "gemma4/model.h"
#include "io/row_source.h"
#include "model/weights.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::GoldenFixture;
using testing::load_golden;

std::filesystem::path fixture_dir(const std::string& name) {
  return name == "tiny-a" ? testing::tiny_a_dir() : testing::data_dir() / "fixtures" / name;
}

std::unique_ptr<ModelWeights> load_with_table(const std::filesystem::path& dir, bool on_disk, ThreadPool& pool) {
  WeightLoadOptions o;
  o.weight_type = WeightType::F32;
  o.pool = &pool;
  o.per_layer_table_on_disk = on_disk;
  return load_weights(dir, o);
}

// Every sequence's logits, one-shot prefill.
std::vector<std::vector<float>> all_logits(const std::shared_ptr<Model>& model, const GoldenFixture& golden) {
  std::vector<std::vector<float>> out;
  for (const auto& seq : golden.sequences) {
    const int64_t T = static_cast<int64_t>(seq.ids.size());
    Session session(model, {.max_context = T, .max_chunk = T});
    std::vector<float> logits;
    session.append_all_logits(seq.ids, T, logits);
    out.push_back(std::move(logits));
  }
  return out;
}

class RowSourceFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(RowSourceFixture, TableOnDiskGivesTheMappedLogitsAndReadsOnlyAskedRows) {
  GoldenFixture golden = load_golden(fixture_dir(GetParam()));
  auto model = Model::load(golden.dir, {.dtype = "f32", .threads = 2, .weight_cache = false});
  ThreadPool& pool = *model->impl().pool;
  model->impl().weights = load_with_table(golden.dir, /*on_disk=*/false, pool);
  if (!model->config().has_per_layer_inputs()) GTEST_SKIP() << "no per-layer inputs";
  const auto mapped = all_logits(model, golden);

  model->impl().weights = load_with_table(golden.dir, /*on_disk=*/true, pool);
  const ModelWeights& w = *model->impl().weights;
  const EmbeddingTable& table = w.embed_tokens_per_layer;
  // The tables are never in memory: read, not mapped, no view has bytes; what stays in the heap
  // are the tensors the f32 load uses as they are (stored f32), never a table.
  EXPECT_EQ(table.tensor->data, nullptr);
  EXPECT_NE(dynamic_cast<const io::FileRowSource*>(w.embed_tokens.source.get()), nullptr);
  size_t others = 0;
  for (const auto& name : w.checkpoint.names()) {
    const io::TensorView& t = w.checkpoint.get(name);
    if (&t != table.tensor && &t != w.embed_tokens.tensor) others += t.nbytes;
  }
  EXPECT_LE(w.checkpoint.heap_bytes(), others + w.embed_tokens.tensor->nbytes);
  const auto* source = dynamic_cast<const io::FileRowSource*>(table.source.get());
  ASSERT_NE(source, nullptr);

  const auto on_disk = all_logits(model, golden);
  ASSERT_EQ(on_disk.size(), mapped.size());
  std::set<int32_t> distinct;
  int64_t asked = 0;
  for (size_t i = 0; i < mapped.size(); ++i) {
    EXPECT_EQ(on_disk[i], mapped[i]) << golden.sequences[i].name;
    EXPECT_LE(testing::max_abs_diff(on_disk[i], golden.sequences[i].logits), 1e-3) << golden.sequences[i].name;
    for (int32_t id : golden.sequences[i].ids) distinct.insert(id);
    asked += static_cast<int64_t>(golden.sequences[i].ids.size());
  }
  const io::RowReadStats stats = source->stats();
  EXPECT_EQ(stats.lookups, asked);
  EXPECT_GE(stats.file_reads, static_cast<int64_t>(distinct.size()));
  EXPECT_LE(stats.file_reads, asked);
  EXPECT_EQ(stats.bytes_read, static_cast<uint64_t>(stats.file_reads) * source->row_bytes());
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, RowSourceFixture,
                         ::testing::Values("tiny-a", "flat-gqa", "kv-eq", "sharded"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// Read, not mapped, a quantized load frees every tensor it converted: what it holds afterwards is
// the converted matrices, not the checkpoint (E2B's bf16 tensors, 4.6 GB besides the per-layer
// table, would not fit a 4 GB wasm heap together).
TEST(FileRowSource, QuantizedLoadKeepsNoCheckpointBytes) {
  ThreadPool pool(2);
  WeightLoadOptions o;
  o.weight_type = WeightType::Q8_0;
  o.pool = &pool;
  o.per_layer_table_on_disk = true;
  auto disk = load_weights(testing::tiny_a_dir(), o);
  // Only matrices whose rows do not split into 32-element blocks stay as stored, in their read copy.
  size_t kept = 0;
  for (const auto& name : disk->checkpoint.names()) {
    const io::TensorView& t = disk->checkpoint.get(name);
    if (t.shape.size() == 2 && t.shape[1] % 32 != 0 && &t != disk->embed_tokens_per_layer.tensor) kept += t.nbytes;
  }
  EXPECT_EQ(disk->checkpoint.heap_bytes(), kept);
  // The rows it looks up are the mapped ones.
  o.per_layer_table_on_disk = false;
  auto mapped = load_weights(testing::tiny_a_dir(), o);
  std::vector<float> a(disk->embed_tokens.cols), b(disk->embed_tokens.cols);
  for (int64_t id : {int64_t{0}, int64_t{7}, disk->embed_tokens.rows - 1}) {
    disk->embed_tokens.lookup(id, 1.0f, a.data());
    mapped->embed_tokens.lookup(id, 1.0f, b.data());
    EXPECT_EQ(a, b) << id;
  }
}

TEST(FileRowSource, CachesRecentRowsAndReadsTheFileOtherwise) {
  const auto dir = testing::tiny_a_dir();
  ThreadPool pool(1);
  auto mapped = load_with_table(dir, false, pool);
  auto disk = load_with_table(dir, true, pool);
  const io::TensorView& t = *disk->embed_tokens_per_layer.tensor;
  const size_t row_bytes = disk->embed_tokens_per_layer.source->row_bytes();
  io::FileRowSource source(disk->checkpoint.file_of(t).reader(), t.file_offset,
                           disk->embed_tokens_per_layer.rows, row_bytes, /*cache_rows=*/2);
  std::vector<uint8_t> scratch(row_bytes), expected(row_bytes);
  // 5 7 miss; 5 hit; 9 miss (evicts 7); 7 miss; 5 miss (evicted by 7).
  const int64_t rows[] = {5, 7, 5, 9, 7, 5};
  for (int64_t r : rows) {
    const uint8_t* got = source.row(r, scratch.data());
    const uint8_t* want = mapped->embed_tokens_per_layer.source->row(r, expected.data());
    ASSERT_EQ(std::vector<uint8_t>(got, got + row_bytes), std::vector<uint8_t>(want, want + row_bytes)) << r;
  }
  const io::RowReadStats s = source.stats();
  EXPECT_EQ(s.lookups, 6);
  EXPECT_EQ(s.file_reads, 5);
  EXPECT_EQ(s.bytes_read, 5 * row_bytes);
}

// Read instead of mapped, a damaged file is refused with the same checks, naming the file.
TEST(FileRowSource, TruncatedCheckpointIsRefusedWhenRead) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "gemma4_row_source_truncated";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(testing::tiny_a_dir() / f, dir / f);
  const fs::path weights = dir / "model.safetensors";
  fs::copy_file(testing::tiny_a_dir() / "model.safetensors", weights);
  fs::resize_file(weights, fs::file_size(weights) - 100);
  io::CheckpointReadOptions read;
  read.keep_on_disk = [](std::string_view) { return false; };
  try {
    io::Checkpoint::open(dir, read);
    ADD_FAILURE() << "a truncated checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gemma4
