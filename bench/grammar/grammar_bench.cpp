// Grammar mask cost on the real 262,144-token vocabulary: a mask computed from scratch (a fresh
// matcher, so the per-state cache is empty) at typical positions, the cached lookup, and schema
// compile time.
#include <benchmark/benchmark.h>

#include "gemma4/grammar.h"

namespace gemma4 {
namespace {

using nlohmann::json;

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::load(std::string(GEMMA4_TEST_DATA) + "/tokenizer");
  return t;
}
const std::shared_ptr<const TokenTrie>& trie() {
  static const auto t = build_token_trie(tokenizer());
  return t;
}
const json& schema() {
  static const json s = json::parse(R"({"type":"object","properties":{"name":{"type":"string"},
    "age":{"type":"integer"},"city":{"type":"string","maxLength":20},"tags":{"type":"array","items":{"type":"string"}},
    "kind":{"enum":["a","b","c"]}},"required":["age","name"],"additionalProperties":false})");
  return s;
}

// Position after `prefix` (bytes fed as single-byte tokens would be: through the byte matcher).
void mask_from_scratch(benchmark::State& state, const char* prefix) {
  const auto grammar = compile_json_schema(schema());
  const std::vector<int32_t> ends = {1, 106};
  TokenMask allowed(static_cast<size_t>(tokenizer().vocab_size()));
  const std::vector<int32_t> ids = tokenizer().encode(prefix, false);
  for (auto _ : state) {
    state.PauseTiming();
    TokenMatcher m(grammar, trie());
    for (int32_t id : ids)
      if (!m.accept_token(id)) state.SkipWithError("prefix rejected");
    state.ResumeTiming();
    m.fill_mask(allowed, ends);
    benchmark::DoNotOptimize(allowed.words().data());
  }
}
BENCHMARK_CAPTURE(mask_from_scratch, object_start, "")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_from_scratch, between_keys, R"({"age":3,)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_from_scratch, in_number, R"({"age":12)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_from_scratch, in_string, R"({"age":3,"name":"Ann)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_from_scratch, in_bounded_string, R"({"age":3,"city":"Pa)")->Unit(benchmark::kMicrosecond);

// The same measurement for any grammar; `prefix` is tokenized with special tokens parsed.
void mask_after(benchmark::State& state, const std::shared_ptr<const Grammar>& grammar, const char* prefix) {
  const std::vector<int32_t> ends = {1, 106};
  TokenMask allowed(static_cast<size_t>(tokenizer().vocab_size()));
  const std::vector<int32_t> ids = tokenizer().encode(prefix, true);
  for (auto _ : state) {
    state.PauseTiming();
    TokenMatcher m(grammar, trie());
    for (int32_t id : ids)
      if (!m.accept_token(id)) state.SkipWithError("prefix rejected");
    state.ResumeTiming();
    m.fill_mask(allowed, ends);
    benchmark::DoNotOptimize(allowed.words().data());
  }
}

const std::shared_ptr<const Grammar>& pattern_grammar() {
  static const auto g = compile_json_schema(json::parse(R"({"type":"object","properties":{
    "id":{"type":"string","pattern":"[A-Za-z ]+"},"n":{"type":"integer","minimum":0,"maximum":5000},
    "when":{"type":"string","format":"date-time"}},"required":["id","n","when"],"additionalProperties":false})"));
  return g;
}
const std::shared_ptr<const Grammar>& tool_grammar() {
  static const auto g = compile_tool_calls(json::parse(R"([{"type":"function","function":{"name":"get_weather",
    "strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},
    "required":["city","days"],"additionalProperties":false}}}])"));
  return g;
}
const std::shared_ptr<const Grammar>& gbnf_grammar() {
  static const auto g = compile_gbnf(R"g(root ::= "{" pair ("," pair)* "}"
pair ::= key ":" [0-9]+
key ::= [a-z_]+)g");
  return g;
}
BENCHMARK_CAPTURE(mask_after, pattern_string, pattern_grammar(), R"({"id":"Ab)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, bounded_integer, pattern_grammar(), R"({"id":"a","n":12)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, date_time, pattern_grammar(), R"({"id":"a","n":1,"when":"2024-)")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, tool_call_free_text, tool_grammar(), "Let me check")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, tool_call_name, tool_grammar(), "<|tool_call>call:")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, tool_call_string, tool_grammar(), "<|tool_call>call:get_weather{city:<|\"|>Par")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mask_after, gbnf_key, gbnf_grammar(), "{ab")->Unit(benchmark::kMicrosecond);

void mask_cached(benchmark::State& state) {
  const auto grammar = compile_json_schema(schema());
  const std::vector<int32_t> ends = {1, 106};
  TokenMask allowed(static_cast<size_t>(tokenizer().vocab_size()));
  TokenMatcher m(grammar, trie());
  for (int32_t id : tokenizer().encode(R"({"age":3,"name":"Ann)", false)) m.accept_token(id);
  m.fill_mask(allowed, ends);
  for (auto _ : state) {
    m.fill_mask(allowed, ends);
    benchmark::DoNotOptimize(allowed.words().data());
  }
}
BENCHMARK(mask_cached)->Unit(benchmark::kMicrosecond);

void compile_schema(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(compile_json_schema(schema()));
}
BENCHMARK(compile_schema)->Unit(benchmark::kMicrosecond);

void build_trie(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(build_token_trie(tokenizer()));
}
BENCHMARK(build_trie)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace gemma4

BENCHMARK_MAIN();
