// Config parsing: Hugging Face defaults and post-init rules, nested vs flat, invalid values.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "gemma4/config.h"
#include "gemma4/error.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::json;

void expect_error(const json& doc, const std::string& fragment) {
  try {
    parse_model_config(doc, "config.json");
    FAIL() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Every JSON number that becomes a count or size is range-checked before any conversion: no
// wrap-around (4e9 layers once read as -294967296), no undefined float-to-int cast (1e300).
TEST(Config, IntegerFieldsAreRangeCheckedBeforeConversion) {
  expect_error(json::parse(R"({"num_hidden_layers": 4e9})"),
               "field 'num_hidden_layers' must be an integer in [1, 1024] (got 4000000000.0)");
  expect_error(json::parse(R"({"num_hidden_layers": 4000000000})"), "'num_hidden_layers' must be an integer in [1, 1024]");
  expect_error(json::parse(R"({"vocab_size": 1e300})"), "field 'vocab_size' must be an integer in [1, 16777216]");
  expect_error(json::parse(R"({"vocab_size": 18446744073709551615})"), "'vocab_size' must be an integer in");
  expect_error(json::parse(R"({"vocab_size": -1})"), "'vocab_size' must be an integer in [1, 16777216] (got -1)");
  expect_error(json::parse(R"({"head_dim": 64.5})"), "field 'head_dim' must be an integer (got 64.5)");
  expect_error(json::parse(R"({"max_position_embeddings": 1e10})"), "'max_position_embeddings' must be an integer in");
  expect_error(json::parse(R"({"sliding_window": 0})"), "'sliding_window' must be an integer in [1,");
  expect_error(json::parse(R"({"num_kv_shared_layers": -1})"), "'num_kv_shared_layers'");
  expect_error(json::parse(R"({"vocab_size": 0})"), "'vocab_size' must be an integer in [1, 16777216] (got 0)");
  // Found by fuzz/fuzz_config_json: 0 key/value heads once reached a division by zero.
  expect_error(json::parse(R"({"num_key_value_heads": 0})"), "'num_key_value_heads' must be an integer in [1, 1024] (got 0)");
  expect_error(json::parse(R"({"attention_k_eq_v": true, "num_global_key_value_heads": 0})"),
               "'num_global_key_value_heads' must be an integer in [1, 1024] (got 0)");
  expect_error(json::parse(R"({"head_dim": 0})"), "'head_dim' must be an integer in [1, 16384] (got 0)");
  expect_error(json::parse(R"({"bos_token_id": 3e9})"), "'bos_token_id' must be an integer in [0, 2147483647]");
  expect_error(json::parse(R"({"eos_token_id": [1, "x"]})"), "field 'eos_token_id[1]' must be an integer (got \"x\")");
  expect_error(json::parse(R"({"eos_token_id": [1, 5e9]})"), "'eos_token_id[1]' must be an integer in [0, 2147483647]");
  expect_error(json::parse(R"({"text_config": {"intermediate_size": 1e300}})"), "(text_config): field 'intermediate_size'");
  // Whole floats inside the range are still accepted, as Python's json would give them to HF.
  ModelConfig c = parse_model_config(json::parse(R"({"num_hidden_layers": 6.0, "eos_token_id": [1.0, 106]})"));
  EXPECT_EQ(c.num_layers, 6);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{1, 106}));
}

TEST(Config, NumbersBeyondDoubleAreAnErrorNamingTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "config.json") << R"({"rms_norm_eps": 1e400})";
  try {
    load_model_config(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: invalid JSON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1e400"), std::string::npos) << e.what();
  }
}

TEST(Config, AFileInsteadOfTheFolderIsNamed) {
  try {
    load_model_config(testing::tiny_a_dir() / "model.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors is a file; --model takes the model folder"),
              std::string::npos) << e.what();
  }
}

TEST(Config, TinyANestedDerivesEveryLayer) {
  ModelConfig c = load_model_config(testing::tiny_a_dir());
  EXPECT_TRUE(c.nested);
  EXPECT_EQ(c.num_layers, 10);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.first_kv_shared_layer(), 6);
  ASSERT_EQ(c.layers.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    bool full = i == 4 || i == 9;
    EXPECT_EQ(c.layers[i].type, full ? AttentionType::Full : AttentionType::Sliding) << i;
    EXPECT_EQ(c.layers[i].head_dim, full ? 32 : 16) << i;
    EXPECT_EQ(c.layers[i].kv_shared, i >= 6) << i;
    EXPECT_EQ(c.layers[i].mlp_width, i >= 6 ? 256 : 128) << i;
  }
  // Last non-shared layer of the same type: sliding -> 5, full -> 4.
  EXPECT_EQ(c.layers[6].kv_source_layer, 5);
  EXPECT_EQ(c.layers[8].kv_source_layer, 5);
  EXPECT_EQ(c.layers[9].kv_source_layer, 4);
  EXPECT_EQ(c.layers[3].kv_source_layer, 3);
  // Proportional RoPE on 32-dim heads with factor 0.25: 4 rotated pairs, base dim 32.
  EXPECT_EQ(c.layers[4].rotary_pairs, 4);
  EXPECT_DOUBLE_EQ(c.layers[4].inv_freq[1], 1.0 / std::pow(1e6, 2.0 / 32.0));
  EXPECT_EQ(c.layers[0].rotary_pairs, 8);
  EXPECT_DOUBLE_EQ(c.layers[0].inv_freq[3], 1.0 / std::pow(1e4, 6.0 / 16.0));
  ASSERT_TRUE(c.final_logit_softcapping.has_value());
  EXPECT_DOUBLE_EQ(*c.final_logit_softcapping, 30.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{1, 106}));
}

TEST(Config, FlatDefaultsFollowGemma4TextConfig) {
  ModelConfig c = parse_model_config(json{{"model_type", "gemma4_text"}, {"num_hidden_layers", 8}});
  EXPECT_FALSE(c.nested);
  EXPECT_EQ(c.hidden_size, 2304);
  EXPECT_EQ(c.vocab_size, 262144);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.global_head_dim, 512);
  EXPECT_EQ(c.sliding_window, 512);
  EXPECT_EQ(c.hidden_size_per_layer_input, 256);
  EXPECT_FALSE(c.final_logit_softcapping.has_value());
  EXPECT_TRUE(c.tie_word_embeddings);
  // Default pattern 5 sliding : 1 full, and the last layer is forced to full attention.
  std::vector<AttentionType> want = {AttentionType::Sliding, AttentionType::Sliding, AttentionType::Sliding,
                                     AttentionType::Sliding, AttentionType::Sliding, AttentionType::Full,
                                     AttentionType::Sliding, AttentionType::Full};
  EXPECT_EQ(c.layer_types, want);
  EXPECT_EQ(c.rope_full.rope_type, "proportional");
  EXPECT_DOUBLE_EQ(c.rope_full.theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rope_sliding.theta, 1e4);
  EXPECT_EQ(c.layers[5].head_dim, 512);
  EXPECT_EQ(c.layers[5].rotary_pairs, 64);  // 0.25 * 512 / 2
}

TEST(Config, LastLayerForcedToFullEvenWhenListed) {
  json doc = {{"num_hidden_layers", 3}, {"layer_types", {"sliding_attention", "full_attention", "sliding_attention"}}};
  ModelConfig c = parse_model_config(doc);
  EXPECT_EQ(c.layer_types[2], AttentionType::Full);
}

TEST(Config, NullMeansNoneForOptionalFields) {
  json doc = {{"num_hidden_layers", 2}, {"final_logit_softcapping", nullptr},
              {"hidden_size_per_layer_input", 0}, {"global_head_dim", nullptr}};
  ModelConfig c = parse_model_config(doc);
  EXPECT_FALSE(c.final_logit_softcapping.has_value());
  EXPECT_FALSE(c.has_per_layer_inputs());
  EXPECT_EQ(c.layers[1].head_dim, c.head_dim);
}

TEST(Config, KEqVUsesGlobalKvHeadsOnFullLayers) {
  json doc = {{"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 1},
              {"attention_k_eq_v", true}, {"num_global_key_value_heads", 2}};
  ModelConfig c = parse_model_config(doc);
  EXPECT_EQ(c.layers[0].num_kv_heads, 1);
  EXPECT_TRUE(c.layers[0].has_v_proj);
  EXPECT_EQ(c.layers[1].num_kv_heads, 2);
  EXPECT_FALSE(c.layers[1].has_v_proj);
}

TEST(Config, TopLevelUntiedFlagAppliesToNestedTextConfig) {
  json doc = {{"tie_word_embeddings", false}, {"text_config", {{"num_hidden_layers", 2}}}};
  EXPECT_FALSE(parse_model_config(doc).tie_word_embeddings);
}

TEST(Config, RefusesUnsupportedAndInvalidConfigs) {
  expect_error({{"enable_moe_block", true}}, "enable_moe_block");
  expect_error({{"model_type", "llama"}}, "not a Gemma 4 model");
  expect_error({{"hidden_size", "64"}}, "'hidden_size' must be an integer");
  expect_error({{"hidden_size", -4}}, "'hidden_size' must be an integer in [1, 65536] (got -4)");
  expect_error({{"num_hidden_layers", 3}, {"layer_types", {"sliding_attention"}}}, "layer_types");
  expect_error({{"num_hidden_layers", 2}, {"layer_types", {"sliding_attention", "global"}}}, "entry 1");
  expect_error({{"num_hidden_layers", 4}, {"num_kv_shared_layers", 4}}, "num_kv_shared_layers");
  expect_error({{"num_attention_heads", 6}, {"num_key_value_heads", 4}}, "multiple");
  expect_error({{"rope_parameters", {{"sliding_attention", {{"rope_type", "yarn"}}}}}}, "rope_type 'yarn'");
  expect_error({{"hidden_activation", "silu"}}, "hidden_activation");
  expect_error({{"text_config", 5}}, "text_config");
  expect_error(json::array(), "expected a JSON object");
  // A shared full layer needs an earlier non-shared full layer to read from.
  expect_error({{"num_hidden_layers", 7}, {"num_kv_shared_layers", 2}}, "no earlier full-attention layer");
}

// A field the engine reads is type-checked wherever it may appear, even where another level's copy
// wins: the text config's eos_token_id under a top-level one, and the architectures list.
TEST(Config, WrongTypesAreErrorsNamingTheField) {
  const json nested_eos = json::parse(R"({"eos_token_id": [1, 106], "text_config": {"eos_token_id": [1, "x"]}})");
  expect_error(nested_eos, "config.json (text_config): field 'eos_token_id[1]' must be an integer (got \"x\")");
  expect_error(json::parse(R"({"eos_token_id": 1, "text_config": {"eos_token_id": true}})"),
               "(text_config): field 'eos_token_id' must be an integer or a list of integers");
  expect_error(json::parse(R"({"architectures": "Gemma4ForConditionalGeneration"})"),
               "field 'architectures' must be a list of strings");
  expect_error(json::parse(R"({"architectures": ["Gemma4ForConditionalGeneration", 5]})"),
               "field 'architectures[1]' must be a string (got 5)");
  expect_error(json::parse(R"({"text_config": {"architectures": {}}})"), "(text_config): field 'architectures'");
  expect_error(json::parse(R"({"text_config": {"rms_norm_eps": "1e-6"}})"),
               "(text_config): field 'rms_norm_eps' must be a number");
  expect_error(json::parse(R"({"model_type": ["gemma4"]})"), "field 'model_type' must be a string");
  // The well-typed forms still load, and the top-level stop tokens still win.
  const ModelConfig c = parse_model_config(json::parse(
      R"({"architectures": ["Gemma4ForConditionalGeneration"], "eos_token_id": [1, 106],
          "text_config": {"num_hidden_layers": 2, "eos_token_id": 1}})"));
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{1, 106}));
}

TEST(Config, MissingFolderAndFileAreClearErrors) {
  try {
    load_model_config("/nonexistent/model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  testing::TempDir dir;
  try {
    load_model_config(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  std::ofstream(dir.path() / "config.json") << "{ not json";
  try {
    load_model_config(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
