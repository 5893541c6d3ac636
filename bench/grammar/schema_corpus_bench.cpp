// Grammar cost over a corpus of real JSON schemas (tests/data/schema_corpus: 250 schemas from
// JSONSchemaBench's GitHub, Kubernetes, Snowplow, JSONSchemaStore, Washington Post and GlaiveAI
// function-call sets) on the real 262,144-token vocabulary: compile time per schema, and mask time
// per token along seeded random walks (tests/grammar/schema_walk.h). Prints a table per category;
// --json FILE keeps the numbers. Not a Google Benchmark: percentiles over the corpus are the point.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"
#include "grammar/schema_walk.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Category {
  int schemas = 0, compiled = 0, finished = 0;
  std::vector<double> compile_ms, mask_us;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json_out;
  int steps = 64;
  bool errors = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_out = argv[++i];
    else if (a == "--steps" && i + 1 < argc) steps = std::stoi(argv[++i]);
    else if (a == "--errors") errors = true;
    else {
      std::fprintf(stderr, "usage: schema_corpus_bench [--steps N] [--json FILE] [--errors]\n");
      return 1;
    }
  }
  const std::string data = GEMMA4_TEST_DATA;
  const gemma4::Tokenizer tokenizer = gemma4::Tokenizer::load(data + "/tokenizer");
  const gemma4::testing::WalkVocab vocab(tokenizer);
  std::map<std::string, Category> categories;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(data + "/schema_corpus"))
    if (e.path().extension() == ".json" && e.path().filename() != "expected.json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  uint64_t seed = 1;
  for (const fs::path& f : files) {
    Category& c = categories[f.parent_path().filename().string()];
    ++c.schemas;
    std::ifstream in(f);
    const json schema = json::parse(in);
    const auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<const gemma4::Grammar> g;
    try {
      g = gemma4::compile_json_schema(schema);
    } catch (const gemma4::Error& e) {
      if (errors) std::printf("%s: %s\n", f.lexically_relative(data).c_str(), e.what());
      continue;
    }
    c.compile_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++c.compiled;
    const auto w = gemma4::testing::walk_schema(g, vocab, seed++, steps);
    c.finished += w.finished;
    c.mask_us.insert(c.mask_us.end(), w.mask_us.begin(), w.mask_us.end());
  }
  Category all;
  json out = json::object();
  std::printf("| corpus | schemas | compiled | compile p50 / p99 (ms) | masks | mask p50 / p99 (us) |\n|---|---|---|---|---|---|\n");
  auto row = [&](const std::string& name, const Category& c) {
    std::printf("| %s | %d | %d | %.2f / %.2f | %zu | %.1f / %.1f |\n", name.c_str(), c.schemas, c.compiled,
                percentile(c.compile_ms, 0.5), percentile(c.compile_ms, 0.99), c.mask_us.size(), percentile(c.mask_us, 0.5),
                percentile(c.mask_us, 0.99));
    out[name] = {{"schemas", c.schemas}, {"compiled", c.compiled}, {"walks_finished", c.finished},
                 {"compile_ms_p50", percentile(c.compile_ms, 0.5)}, {"compile_ms_p99", percentile(c.compile_ms, 0.99)},
                 {"masks", c.mask_us.size()}, {"mask_us_p50", percentile(c.mask_us, 0.5)}, {"mask_us_p99", percentile(c.mask_us, 0.99)}};
  };
  for (const auto& [name, c] : categories) {
    row(name, c);
    all.schemas += c.schemas;
    all.compiled += c.compiled;
    all.finished += c.finished;
    all.compile_ms.insert(all.compile_ms.end(), c.compile_ms.begin(), c.compile_ms.end());
    all.mask_us.insert(all.mask_us.end(), c.mask_us.begin(), c.mask_us.end());
  }
  row("all", all);
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  return 0;
}
