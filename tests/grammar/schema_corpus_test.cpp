// The grammar compiler over 250 real schemas (tests/data/schema_corpus, from JSONSchemaBench):
// which compile and which are refused, and why, is recorded in expected.json, so coverage only
// moves on purpose (GEMMA4_UPDATE_CORPUS=1 rewrites it). Every compiled schema is walked with the
// real vocabulary: each drawn token was in its mask, no state is a dead end, and a finished walk
// parses as JSON and satisfies the schema (tests/grammar/schema_validator.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"
#include "grammar/schema_validator.h"
#include "grammar/schema_walk.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kCorpus = fs::path(GEMMA4_TEST_DATA) / "schema_corpus";

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kCorpus))
    if (e.path().extension() == ".json" && e.path().parent_path() != kCorpus) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

TEST(SchemaCorpus, WhatCompilesIsWhatWasRecordedAndEveryWalkStaysInTheSchema) {
  const Tokenizer tokenizer = Tokenizer::load(fs::path(GEMMA4_TEST_DATA) / "tokenizer");
  const testing::WalkVocab vocab(tokenizer);
  const std::vector<fs::path> files = corpus_files();
  ASSERT_GE(files.size(), 200u);
  json outcomes = json::object();
  int compiled = 0, finished = 0;
  uint64_t seed = 7;
  for (const fs::path& f : files) {
    const std::string name = f.lexically_relative(kCorpus).generic_string();
    const json schema = read_json(f);
    std::shared_ptr<const Grammar> grammar;
    try {
      grammar = compile_json_schema(schema);
      outcomes[name] = "ok";
    } catch (const GrammarError& e) {
      outcomes[name] = e.what();
      continue;
    }
    ++compiled;
    const testing::SchemaWalk w = testing::walk_schema(grammar, vocab, seed++, 16);
    EXPECT_FALSE(w.rejected) << name << ": a token its mask allowed was refused";
    EXPECT_FALSE(w.stuck) << name << ": no token allowed before the value was complete";
    if (!w.finished) continue;
    ++finished;
    const std::string text = tokenizer.decode(w.tokens);
    const json value = json::parse(text, nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << name << ": " << text;
    EXPECT_TRUE(testing::validates(value, schema, schema)) << name << ": " << text;
  }
  if (std::getenv("GEMMA4_UPDATE_CORPUS")) {
    std::ofstream(kCorpus / "expected.json") << outcomes.dump(1) << "\n";
    GTEST_SKIP() << "wrote " << (kCorpus / "expected.json");
  }
  const json expected = read_json(kCorpus / "expected.json");
  for (const auto& [name, outcome] : outcomes.items())
    EXPECT_EQ(outcome, expected.value(name, json("(not recorded)"))) << name;
  EXPECT_EQ(outcomes.size(), expected.size());
  std::printf("corpus: %zu schemas, %d compile, %d walks finished\n", files.size(), compiled, finished);
}

}  // namespace
}  // namespace gemma4
