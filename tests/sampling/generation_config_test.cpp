// load_generation_config: the tiny-a file, eos forms, missing files and malformed input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "gemma4/error.h"
#include "gemma4/sampling.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

// A scratch model directory per test, removed afterwards.
class ModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("gemma4_generation_config_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  void write_generation_config(const std::string& text) { write("generation_config.json", text); }

  void expect_error(const std::string& needle) {
    try {
      load_generation_config(dir_);
      FAIL() << "expected gemma4::Error mentioning " << needle;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(needle), std::string::npos) << message;
      EXPECT_NE(message.find("generation_config.json"), std::string::npos) << message;
    }
  }

  fs::path dir_;
};

TEST(GenerationConfig, ReadsTinyAFixture) {
  const GenerationDefaults defaults = load_generation_config(fs::path(GEMMA4_TEST_DATA) / "tiny-a");
  EXPECT_TRUE(defaults.from_generation_config);
  EXPECT_FLOAT_EQ(defaults.sampling.temperature, 1.0f);
  EXPECT_EQ(defaults.sampling.top_k, 64);
  EXPECT_FLOAT_EQ(defaults.sampling.top_p, 0.95f);
  EXPECT_FLOAT_EQ(defaults.sampling.min_p, 0.0f);
  EXPECT_FLOAT_EQ(defaults.sampling.repetition_penalty, 1.0f);
  EXPECT_FALSE(defaults.sampling.greedy());
  EXPECT_EQ(defaults.stop_token_ids, (std::vector<int32_t>{1, 106, 50}));
  EXPECT_EQ(defaults.bos_token_id, 2);
  EXPECT_EQ(defaults.pad_token_id, 0);
}

TEST_F(ModelDir, SingleIntegerEos) {
  write_generation_config(R"({"eos_token_id": 7, "do_sample": true})");
  EXPECT_EQ(load_generation_config(dir_).stop_token_ids, (std::vector<int32_t>{7}));
}

TEST_F(ModelDir, DuplicateEosIdsAreMerged) {
  write_generation_config(R"({"eos_token_id": [3, 4, 3]})");
  EXPECT_EQ(load_generation_config(dir_).stop_token_ids, (std::vector<int32_t>{3, 4}));
}

TEST_F(ModelDir, DoSampleFalseMeansGreedy) {
  write_generation_config(R"({"do_sample": false, "temperature": 0.7, "eos_token_id": 1})");
  EXPECT_TRUE(load_generation_config(dir_).sampling.greedy());
}

TEST_F(ModelDir, OptionalFieldsAndNullsKeepHuggingFaceDefaults) {
  write_generation_config(
      R"({"top_k": null, "min_p": 0.05, "repetition_penalty": 1.1, "temperature": 2})");
  const GenerationDefaults defaults = load_generation_config(dir_);
  EXPECT_EQ(defaults.sampling.top_k, 50);
  EXPECT_FLOAT_EQ(defaults.sampling.top_p, 1.0f);
  EXPECT_FLOAT_EQ(defaults.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(defaults.sampling.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(defaults.sampling.temperature, 2.0f);
  EXPECT_FALSE(defaults.bos_token_id.has_value());
}

TEST_F(ModelDir, MissingFileUsesDefaultsAndConfigJsonStopIds) {
  write("config.json",
        R"({"eos_token_id": [1, 106], "text_config": {"eos_token_id": 1, "bos_token_id": 2}})");
  const GenerationDefaults defaults = load_generation_config(dir_);
  EXPECT_FALSE(defaults.from_generation_config);
  EXPECT_FLOAT_EQ(defaults.sampling.temperature, 1.0f);
  EXPECT_EQ(defaults.sampling.top_k, 50);
  EXPECT_FLOAT_EQ(defaults.sampling.top_p, 1.0f);
  EXPECT_FALSE(defaults.sampling.greedy());
  EXPECT_EQ(defaults.stop_token_ids, (std::vector<int32_t>{1, 106}));
  EXPECT_EQ(defaults.bos_token_id, 2);
}

TEST_F(ModelDir, MissingEverythingGivesPlainDefaults) {
  const GenerationDefaults defaults = load_generation_config(dir_);
  EXPECT_TRUE(defaults.stop_token_ids.empty());
  EXPECT_FALSE(defaults.bos_token_id.has_value());
  EXPECT_EQ(defaults.sampling.top_k, 50);
}

TEST_F(ModelDir, MalformedJsonNamesTheFile) {
  write_generation_config(R"({"temperature": 1.0,)");
  expect_error("malformed JSON");
}

TEST_F(ModelDir, WrongTypesNameTheField) {
  write_generation_config(R"({"temperature": "hot"})");
  expect_error("'temperature'");
  write_generation_config(R"({"top_k": 1.5})");
  expect_error("'top_k'");
  write_generation_config(R"({"top_p": [0.9]})");
  expect_error("'top_p'");
  write_generation_config(R"({"do_sample": "yes"})");
  expect_error("'do_sample'");
  write_generation_config(R"({"eos_token_id": "1"})");
  expect_error("'eos_token_id'");
  write_generation_config(R"({"eos_token_id": [1, "x"]})");
  expect_error("'eos_token_id[1]'");
  write_generation_config(R"({"bos_token_id": -2})");
  expect_error("'bos_token_id'");
  write_generation_config(R"({"temperature": 1e300})");
  expect_error("'temperature'");
  write_generation_config(R"({"temperature": 1e400})");  // beyond double: nlohmann's out_of_range
  expect_error("malformed JSON");
  write_generation_config(R"([1, 2])");
  expect_error("object");
}

TEST_F(ModelDir, OutOfRangeValuesNameTheField) {
  write_generation_config(R"({"temperature": -0.5})");
  expect_error("temperature");
  write_generation_config(R"({"repetition_penalty": 0})");
  expect_error("repetition_penalty");
  // A negative top-k is a mistake, not a way to say "off" (that is 0).
  write_generation_config(R"({"top_k": -5})");
  expect_error("'top_k' must be >= 0");
}

TEST_F(ModelDir, HugeTopKMeansOffWithoutWrapping) {
  write_generation_config(R"({"top_k": 18446744073709551615})");
  EXPECT_EQ(load_generation_config(dir_).sampling.top_k, 0);
}

TEST_F(ModelDir, MalformedConfigJsonIsReportedWhenItIsNeeded) {
  write("config.json", R"({"eos_token_id": {"a": 1}})");
  try {
    load_generation_config(dir_);
    FAIL() << "expected gemma4::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("eos_token_id"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
