// A checkpoint that does not match its config is refused with an error naming the tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "gemma4/error.h"
#include "gemma4/model.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace gemma4 {
namespace {

// Copies tiny-a into `dir`, letting `edit` change the list of tensors (name, dtype, shape, bytes).
struct EditableTensor {
  io::TensorSpec spec;
  std::vector<uint8_t> bytes;
};

void write_edited_tiny_a(const std::filesystem::path& dir,
                         const std::function<void(std::vector<EditableTensor>&)>& edit) {
  auto src = io::Checkpoint::open(testing::tiny_a_dir());
  std::vector<EditableTensor> tensors;
  for (const auto& name : src.names()) {
    const auto& t = src.get(name);
    tensors.push_back({{t.name, t.dtype, t.shape}, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  edit(tensors);
  std::vector<io::TensorSpec> specs;
  for (const auto& t : tensors) specs.push_back(t.spec);
  io::write_safetensors(dir / "model.safetensors", specs, [&](size_t i, uint8_t* out, size_t n) {
    std::memcpy(out, tensors[i].bytes.data(), std::min(n, tensors[i].bytes.size()));
  });
  std::filesystem::copy_file(testing::tiny_a_dir() / "config.json", dir / "config.json");
}

std::string load_error(const std::filesystem::path& dir) {
  try {
    Model::load(dir, {.dtype = "f32", .threads = 1});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kQProj = "model.language_model.layers.3.self_attn.q_proj.weight";

TEST(BadCheckpoint, MissingTensorIsNamed) {
  testing::TempDir dir;
  write_edited_tiny_a(dir.path(), [](auto& ts) {
    std::erase_if(ts, [](const EditableTensor& t) { return t.spec.name == kQProj; });
  });
  std::string err = load_error(dir.path());
  EXPECT_NE(err.find(kQProj), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
}

TEST(BadCheckpoint, ShapeMismatchIsNamed) {
  testing::TempDir dir;
  write_edited_tiny_a(dir.path(), [](auto& ts) {
    for (auto& t : ts)
      if (t.spec.name == kQProj) t.spec.shape = {32, 128};  // same bytes, wrong shape
  });
  std::string err = load_error(dir.path());
  EXPECT_NE(err.find(kQProj), std::string::npos) << err;
  EXPECT_NE(err.find("has shape [32, 128], expected [64, 64]"), std::string::npos) << err;
}

TEST(BadCheckpoint, NonFloatDtypeIsNamed) {
  testing::TempDir dir;
  write_edited_tiny_a(dir.path(), [](auto& ts) {
    for (auto& t : ts)
      if (t.spec.name == kQProj) {
        t.spec.dtype = io::DType::I16;  // same byte size as BF16
      }
  });
  std::string err = load_error(dir.path());
  EXPECT_NE(err.find(kQProj), std::string::npos) << err;
  EXPECT_NE(err.find("dtype I16"), std::string::npos) << err;
}

TEST(BadCheckpoint, UntiedConfigWithoutLmHead) {
  testing::TempDir dir;
  write_edited_tiny_a(dir.path(), [](auto&) {});
  auto cfg = testing::read_json(dir.path() / "config.json");
  cfg["tie_word_embeddings"] = false;
  cfg["text_config"]["tie_word_embeddings"] = false;
  std::ofstream(dir.path() / "config.json") << cfg.dump();
  std::string err = load_error(dir.path());
  EXPECT_NE(err.find("lm_head.weight"), std::string::npos) << err;
}

TEST(BadCheckpoint, FolderWithoutWeights) {
  testing::TempDir dir;
  std::filesystem::copy_file(testing::tiny_a_dir() / "config.json", dir.path() / "config.json");
  std::string err = load_error(dir.path());
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
}

TEST(BadCheckpoint, TokenIdOutOfRangeIsRefusedWithPosition) {
  auto model = Model::load(testing::tiny_a_dir(), {.dtype = "f32", .threads = 1});
  Session session(model, {.max_context = 8});
  std::vector<int32_t> ids = {2, 105, 600};
  try {
    session.append(ids);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 600 at position 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(session.length(), 0);  // nothing was appended
}

TEST(BadCheckpoint, ContextLimitIsAClearError) {
  auto model = Model::load(testing::tiny_a_dir(), {.dtype = "f32", .threads = 1});
  Session session(model, {.max_context = 4});
  std::vector<int32_t> ids = {2, 105, 106, 107, 108};
  try {
    session.append(ids);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context length exceeded"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
