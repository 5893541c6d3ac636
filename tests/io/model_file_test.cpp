// The model file container (io/model_file.h): what the writer puts in comes back out, and every
// defect of a file (foreign, truncated, a flipped byte in its header, index or any blob, another
// format version) is refused with an error that names the file and the defect.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "gemma4/error.h"
#include "io/model_file.h"
#include "test_util.h"

namespace gemma4::io {
namespace {

namespace fs = std::filesystem;

// A model file's path in a folder of its own, removed with it (test_util.h).
struct TempFile {
  testing::TempDir dir;
  fs::path path = dir.path() / "model.g4w";
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// A file with two texts, a tensor section of a vector and a table, and two matrices.
void write_sample(const fs::path& path, uint32_t layout = 3) {
  ModelFileWriter w(path, "q8_0", "sample", layout);
  w.add_file("config.json", R"({"a": 1})");
  w.add_file("tokenizer.json", "{}");
  const std::vector<TensorSpec> specs = {{"model.norm.weight", DType::F32, {4}},
                                         {"model.embed_tokens.weight", DType::BF16, {8, 4}}};
  w.add_checkpoint(specs, [](size_t i, uint8_t* out, size_t n) {
    const auto bytes = pattern(n, static_cast<uint8_t>(i + 1));
    std::memcpy(out, bytes.data(), n);
  });
  const auto a = pattern(1000, 3), b = pattern(5000, 9);
  w.add_matrix("model.layers.0.q_proj.weight", "q8_0", 2, 32, a.data(), a.size());
  w.add_matrix("model.layers.0.o_proj.weight", "q8_0", 4, 32, b.data(), b.size());
  w.finish();
}

void flip_byte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x40);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::string open_error(const fs::path& path) {
  try {
    ModelFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFile, RoundTripsFilesTensorsAndMatrices) {
  TempFile t;
  write_sample(t.path);
  ASSERT_TRUE(is_model_file(t.path));
  const ModelFile f = ModelFile::open(t.path);
  EXPECT_EQ(f.weight_type(), "q8_0");
  EXPECT_EQ(f.source(), "sample");
  EXPECT_EQ(f.layout_version(), 3u);
  EXPECT_EQ(f.text("config.json"), R"({"a": 1})");
  EXPECT_EQ(f.text("tokenizer.json"), "{}");
  EXPECT_FALSE(f.text("generation_config.json").has_value());
  EXPECT_EQ(read_model_text(t.path, "config.json"), R"({"a": 1})");

  // Every blob is page-aligned.
  for (const auto& b : f.files()) EXPECT_EQ(b.offset % kModelFileAlignment, 0u) << b.name;
  EXPECT_EQ(f.checkpoint().offset % kModelFileAlignment, 0u);
  ASSERT_EQ(f.matrices().size(), 2u);
  for (const auto& m : f.matrices()) EXPECT_EQ(m.offset % kModelFileAlignment, 0u) << m.name;

  const ModelFileMatrix* o = f.matrix("model.layers.0.o_proj.weight");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->rows, 4);
  EXPECT_EQ(o->bytes, 5000u);
  std::vector<uint8_t> bytes(o->bytes);
  f.reader()->read(o->offset, bytes.size(), bytes.data());
  EXPECT_EQ(bytes, pattern(5000, 9));
  EXPECT_NO_THROW(f.check_matrix(*o, bytes.data()));
  bytes[4999] ^= 1;
  EXPECT_THROW(f.check_matrix(*o, bytes.data()), Error);

  // The tensor section is a safetensors file, mapped or read.
  for (bool read : {false, true}) {
    CheckpointReadOptions options;
    if (read) options.keep_on_disk = [](std::string_view) { return true; };
    const Checkpoint ckpt = Checkpoint::open(t.path, options);
    ASSERT_EQ(ckpt.names().size(), 2u);
    const TensorView& table = ckpt.get("model.embed_tokens.weight");
    EXPECT_EQ(table.shape, (std::vector<int64_t>{8, 4}));
    const uint8_t* data = ckpt.acquire(table);
    EXPECT_EQ(std::vector<uint8_t>(data, data + table.nbytes), pattern(64, 2));
    std::vector<uint8_t> direct(table.nbytes);
    f.reader()->read(table.file_offset, direct.size(), direct.data());  // file offsets are of the whole file
    EXPECT_EQ(direct, pattern(64, 2));
  }
  EXPECT_NO_THROW(f.verify());
}

TEST(ModelFile, RefusesForeignTruncatedAndCorruptFiles) {
  TempFile t;
  {
    std::ofstream(t.path) << R"({"not": "a model file"})";
  }
  EXPECT_FALSE(is_model_file(t.path));
  EXPECT_NE(open_error(t.path).find("shorter than a model file's header"), std::string::npos);
  {
    std::ofstream out(t.path, std::ios::binary);
    out << std::string(8192, 'x');
  }
  EXPECT_NE(open_error(t.path).find("not a gemma4 model file"), std::string::npos);

  write_sample(t.path);
  const uint64_t size = fs::file_size(t.path);
  fs::resize_file(t.path, size - 10);
  EXPECT_NE(open_error(t.path).find("truncated"), std::string::npos) << open_error(t.path);

  write_sample(t.path);
  flip_byte(t.path, 20);  // the index offset
  EXPECT_NE(open_error(t.path).find("header checksum mismatch"), std::string::npos);

  write_sample(t.path);
  flip_byte(t.path, size - 5);  // inside the index
  EXPECT_NE(open_error(t.path).find("index checksum mismatch"), std::string::npos);
}

TEST(ModelFile, NamesTheBlobWhoseBytesChanged) {
  TempFile t;
  write_sample(t.path);
  uint64_t config = 0, matrix = 0, table = 0;
  {
    const ModelFile f = ModelFile::open(t.path);
    config = f.files()[0].offset;
    matrix = f.matrix("model.layers.0.q_proj.weight")->offset + 999;
    const Checkpoint ckpt = Checkpoint::open(t.path);
    table = ckpt.get("model.embed_tokens.weight").file_offset + 10;
  }
  flip_byte(t.path, config);
  {
    const ModelFile f = ModelFile::open(t.path);  // the header and index are intact
    try {
      f.text("config.json");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'config.json' does not match its checksum"), std::string::npos) << e.what();
    }
  }
  write_sample(t.path);
  flip_byte(t.path, table);
  try {
    ModelFile::open(t.path).verify();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model.embed_tokens.weight' does not match"), std::string::npos) << e.what();
  }
  write_sample(t.path);
  flip_byte(t.path, matrix);
  try {
    ModelFile::open(t.path).verify();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matrix 'model.layers.0.q_proj.weight' does not match"), std::string::npos)
        << e.what();
  }
}

TEST(ModelFile, RefusesAnotherFormatVersion) {
  TempFile t;
  write_sample(t.path);
  // Format version 2 with a header checksum that fits it: a file from a newer engine.
  std::vector<uint8_t> header(64);
  {
    std::ifstream in(t.path, std::ios::binary);
    in.read(reinterpret_cast<char*>(header.data()), 64);
  }
  header[8] = 2;
  const uint64_t sum = content_checksum(header.data(), 48);
  std::memcpy(header.data() + 48, &sum, 8);
  {
    std::fstream f(t.path, std::ios::in | std::ios::out | std::ios::binary);
    f.write(reinterpret_cast<const char*>(header.data()), 64);
  }
  EXPECT_NE(open_error(t.path).find("model file format 2; this engine reads format 1"), std::string::npos)
      << open_error(t.path);
}

}  // namespace
}  // namespace gemma4::io
