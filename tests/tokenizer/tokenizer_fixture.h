#pragma once
// Shared test helpers: the official tokenizer is loaded once per test binary (it is 32 MB).
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/tokenizer.h"

namespace gemma4::testing {

inline const std::string kTokenizerDir = std::string(GEMMA4_TEST_DATA) + "/tokenizer";

inline const Tokenizer& official_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(kTokenizerDir + "/tokenizer.json");
  return tokenizer;
}

inline const std::vector<nlohmann::json>& corpus() {
  static const std::vector<nlohmann::json> lines = [] {
    std::vector<nlohmann::json> result;
    std::ifstream file(kTokenizerDir + "/corpus.jsonl");
    std::string line;
    while (std::getline(file, line)) {
      if (!line.empty()) result.push_back(nlohmann::json::parse(line));
    }
    return result;
  }();
  return lines;
}

inline std::vector<int32_t> ids_of(const nlohmann::json& array) { return array.get<std::vector<int32_t>>(); }

}  // namespace gemma4::testing
