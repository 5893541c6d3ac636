// Reader tests: the real fixture, and hand-made corrupt files that must each fail with a message
// naming the file/tensor and the defect.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gemma4/error.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace gemma4::io {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using gemma4::testing::TempDir;

const std::filesystem::path kTinyA = std::filesystem::path(GEMMA4_TEST_DATA) / "tiny-a";

// A safetensors file from a literal header and `data_bytes` zero bytes of data.
void write_raw(const std::filesystem::path& path, const std::string& header, size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header;
  out << std::string(data_bytes, '\0');
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Opens the file and returns the error message, or "" if it opened.
std::string open_error(const std::filesystem::path& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string checkpoint_error(const std::filesystem::path& dir) {
  try {
    Checkpoint::open(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafetensorsRead, TinyFixtureTensors) {
  const Checkpoint ckpt = Checkpoint::open(kTinyA);
  const TensorView& embed = ckpt.get("model.language_model.embed_tokens.weight");
  EXPECT_EQ(embed.dtype, DType::BF16);
  EXPECT_EQ(embed.shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embed.nbytes, 512u * 64u * 2u);
  EXPECT_EQ(embed.numel(), 512 * 64);
  EXPECT_EQ(embed.file, kTinyA / "model.safetensors");

  const TensorView& q4 = ckpt.get("model.language_model.layers.4.self_attn.q_proj.weight");
  EXPECT_EQ(q4.shape, (std::vector<int64_t>{128, 64}));
  const TensorView* k9 = ckpt.find("model.language_model.layers.9.self_attn.k_proj.weight");
  EXPECT_EQ(k9, nullptr);  // KV-shared layers have no k_proj

  // Values are real bf16 data: the embedding table is not all zeros.
  bool any_nonzero = false;
  for (size_t i = 0; i < embed.nbytes; ++i) any_nonzero |= embed.data[i] != 0;
  EXPECT_TRUE(any_nonzero);

  const auto names = ckpt.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GT(names.size(), 100u);
  EXPECT_EQ(ckpt.dir(), kTinyA);
  ckpt.release(embed);  // only a hint; must not disturb later reads
  EXPECT_EQ(embed.data[0], embed.data[0]);
}

TEST(SafetensorsRead, GetNamesMissingTensorAndFolder) {
  const Checkpoint ckpt = Checkpoint::open(kTinyA);
  try {
    ckpt.get("model.no_such.weight");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), AllOf(HasSubstr("tensor 'model.no_such.weight' not found in checkpoint"),
                                             HasSubstr("tiny-a")));
  }
}

TEST(SafetensorsRead, MetadataIsRead) {
  const auto file = SafetensorsFile::open(kTinyA / "model.safetensors");
  ASSERT_EQ(file->metadata().count("format"), 1u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST(SafetensorsRead, DTypeNamesAndSizes) {
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
}

TEST(SafetensorsRead, ParsesAllDTypeNames) {
  TempDir tmp;
  const auto path = tmp.path() / "all.safetensors";
  write_raw(path,
            R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},)"
            R"("c":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},)"
            R"("d":{"dtype":"I16","shape":[1],"data_offsets":[20,22]},)"
            R"("e":{"dtype":"I8","shape":[1],"data_offsets":[22,23]},)"
            R"("f":{"dtype":"U8","shape":[1],"data_offsets":[23,24]},)"
            R"("g":{"dtype":"BOOL","shape":[1],"data_offsets":[24,25]},)"
            R"("h":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[25,26]},)"
            R"("i":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[26,28]},)"
            R"("j":{"dtype":"F16","shape":[],"data_offsets":[28,30]},)"
            R"("k":{"dtype":"F32","shape":[0,5],"data_offsets":[30,30]}})",
            32);  // 2 trailing bytes: a gap at the end is tolerated
  const auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file->tensors().size(), 11u);
  EXPECT_EQ(file->tensors()[0].dtype, DType::F64);
  EXPECT_EQ(file->tensors()[8].dtype, DType::F8_E5M2);
  EXPECT_EQ(file->tensors()[9].numel(), 1);  // scalar
  EXPECT_EQ(file->tensors()[10].nbytes, 0u);
}

struct CorruptCase {
  const char* label;
  std::string header;
  size_t data_bytes;
  std::vector<std::string> expected;  // substrings of the error
};

TEST(SafetensorsRead, CorruptHeadersGiveClearErrors) {
  const std::vector<CorruptCase> cases = {
      {"invalid json", R"({"w": {"dtype": "F32", )", 0, {"not valid JSON"}},
      {"not an object", R"([1, 2, 3])", 0, {"not a JSON object"}},
      {"entry not object", R"({"w": 5})", 0, {"'w'", "not a JSON object"}},
      {"missing dtype", R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, {"'w'", "missing field 'dtype'"}},
      {"missing shape", R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4, {"'w'", "missing field 'shape'"}},
      {"missing offsets", R"({"w":{"dtype":"F32","shape":[1]}})", 4, {"'w'", "missing field 'data_offsets'"}},
      {"dtype not string", R"({"w":{"dtype":3,"shape":[1],"data_offsets":[0,4]}})", 4, {"'w'", "'dtype' is not a string"}},
      {"unknown dtype", R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4, {"'w'", "unknown dtype 'F12'"}},
      {"shape not array", R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4, {"'w'", "'shape' is not an array"}},
      {"negative dim", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, {"'w'", "negative dimension"}},
      {"float dim", R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, {"'w'", "non-integer dimension"}},
      {"shape overflow", R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
       {"'w'", "overflows"}},
      {"offsets one value", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, {"'w'", "two non-negative integers"}},
      {"offsets negative", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4, {"'w'", "two non-negative integers"}},
      {"offsets reversed", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4, {"'w'", "is after end"}},
      {"offsets past end", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, {"'w'", "truncated"}},
      {"size mismatch", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 16, {"'w'", "size mismatch"}},
      {"size mismatch huge", R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8,
       {"'w'", "size mismatch"}},
      {"overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, {"'a'", "'b'", "overlap"}},
      {"repeated name", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, {"'w'", "appears twice"}},
      {"metadata not object", R"({"__metadata__":[1]})", 0, {"'__metadata__' is not a JSON object"}},
  };
  TempDir tmp;
  for (const CorruptCase& c : cases) {
    SCOPED_TRACE(c.label);
    const auto path = tmp.path() / "bad.safetensors";
    write_raw(path, c.header, c.data_bytes);
    const std::string message = open_error(path);
    ASSERT_FALSE(message.empty()) << "opened without error";
    EXPECT_THAT(message, HasSubstr("bad.safetensors"));
    for (const std::string& part : c.expected) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST(SafetensorsRead, TruncatedAndBadLengthFiles) {
  TempDir tmp;
  const auto path = tmp.path() / "short.safetensors";

  write_bytes(path, std::string("\x05\x00\x00", 3));
  EXPECT_THAT(open_error(path), AllOf(HasSubstr("short.safetensors"), HasSubstr("shorter than the 8-byte")));

  write_bytes(path, "");
  EXPECT_THAT(open_error(path), AllOf(HasSubstr("short.safetensors"), HasSubstr("empty")));

  // Header length past the end of the file.
  write_bytes(path, std::string("\x40\x00\x00\x00\x00\x00\x00\x00{}", 10));
  EXPECT_THAT(open_error(path), AllOf(HasSubstr("header length 64"), HasSubstr("past the end")));

  // Absurd header length.
  write_bytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
  EXPECT_THAT(open_error(path), HasSubstr("absurd"));

  // A valid file cut short in its data: the tensor whose bytes are gone is named.
  const auto whole = tmp.path() / "whole.safetensors";
  write_raw(whole, R"({"w":{"dtype":"BF16","shape":[8],"data_offsets":[0,16]}})", 16);
  ASSERT_EQ(open_error(whole), "");
  std::filesystem::resize_file(whole, std::filesystem::file_size(whole) - 3);
  EXPECT_THAT(open_error(whole), AllOf(HasSubstr("whole.safetensors"), HasSubstr("'w'"), HasSubstr("truncated")));
}

TEST(SafetensorsRead, MissingFilesAndFolders) {
  TempDir tmp;
  EXPECT_THAT(open_error(tmp.path() / "nope.safetensors"),
              AllOf(HasSubstr("not found"), HasSubstr("nope.safetensors")));
  EXPECT_THAT(checkpoint_error(tmp.path() / "no_dir"), AllOf(HasSubstr("no_dir"), HasSubstr("does not exist")));
  EXPECT_THAT(checkpoint_error(tmp.path()),
              HasSubstr("has no model.safetensors or model.safetensors.index.json"));
  EXPECT_THROW(MappedFile::open(tmp.path()), Error);  // a folder is not a file
}

TEST(SafetensorsRead, IndexDefects) {
  TempDir tmp;
  const auto dir = tmp.path();
  write_raw(dir / "shard-1.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  const auto index = dir / "model.safetensors.index.json";

  write_bytes(index, R"({"weight_map": {"a": "shard-1.safetensors", "b": "shard-1.safetensors"}})");
  EXPECT_THAT(checkpoint_error(dir), AllOf(HasSubstr("'b'"), HasSubstr("missing from shard"),
                                           HasSubstr("shard-1.safetensors")));

  write_bytes(index, R"({"weight_map": {"a": "shard-1.safetensors", "b": "shard-9.safetensors"}})");
  EXPECT_THAT(checkpoint_error(dir), AllOf(HasSubstr("shard-9.safetensors"), HasSubstr("does not exist"),
                                           HasSubstr("'b'")));

  // The same tensor stored in two shards.
  write_raw(dir / "shard-2.safetensors",
            R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            8);
  write_bytes(index, R"({"weight_map": {"a": "shard-1.safetensors", "x": "shard-2.safetensors"}})");
  EXPECT_THAT(checkpoint_error(dir), AllOf(HasSubstr("'a'"), HasSubstr("two shards")));

  write_bytes(index, R"({"weight_map": {"a": "../escape.safetensors"}})");
  EXPECT_THAT(checkpoint_error(dir), HasSubstr("outside the checkpoint folder"));

  write_bytes(index, R"({"weight_map": [1]})");
  EXPECT_THAT(checkpoint_error(dir), HasSubstr("'weight_map' is not a JSON object"));

  write_bytes(index, R"({"metadata": {}})");
  EXPECT_THAT(checkpoint_error(dir), HasSubstr("missing field 'weight_map'"));

  write_bytes(index, "{nope");
  EXPECT_THAT(checkpoint_error(dir), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("not valid JSON")));
}

TEST(MappedFile, AdviseDontNeedKeepsDataReadable) {
  const MappedFile file = MappedFile::open(kTinyA / "model.safetensors");
  ASSERT_GT(file.size(), 8192u);
  const uint8_t before = file.data()[5000];
  file.advise_willneed(0, file.size());
  file.advise_dontneed(1, file.size());  // unaligned start, past-the-end length: clamped
  file.advise_dontneed(file.size() + 10, 5);
  EXPECT_EQ(file.data()[5000], before);  // a private read-only mapping reloads from the file
}

}  // namespace
}  // namespace gemma4::io
