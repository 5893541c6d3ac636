// Tokenizer speed: loading the official 32 MB tokenizer.json, and encoding / decoding a long
// mixed-language text (bytes/s counts input UTF-8 bytes).
#include <benchmark/benchmark.h>

#include <string>

#include "gemma4/tokenizer.h"

namespace {

const std::string kTokenizerPath = std::string(GEMMA4_TEST_DATA) + "/tokenizer/tokenizer.json";

const gemma4::Tokenizer& tokenizer() {
  static const gemma4::Tokenizer loaded = gemma4::Tokenizer::load(kTokenizerPath);
  return loaded;
}

// About 100 KB of prose in several scripts, with paragraphs, code-like text and digits.
std::string mixed_text() {
  const std::string paragraph =
      "The quick brown fox jumps over the lazy dog while 42 engineers watch.\n"
      "Zażółć gęślą jaźń — ćma w źródle. Où est l'hôtel de ville ? Ça coûte 12,50 €.\n"
      "Der Größenwahn führt zu Übermut. ¿Dónde está la biblioteca? Привет, как дела?\n"
      "東京は今日雨です。我们明天去北京。안녕하세요, 만나서 반갑습니다. नमस्ते दुनिया 🌍🚀\n"
      "for (int i = 0; i < n; ++i) { total += values[i] * 2; }  // sum\n\n";
  std::string text;
  while (text.size() < 100'000) text += paragraph;
  return text;
}

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    gemma4::Tokenizer loaded = gemma4::Tokenizer::load(kTokenizerPath);
    benchmark::DoNotOptimize(loaded);
  }
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_EncodeMixedText(benchmark::State& state) {
  const std::string text = mixed_text();
  const gemma4::Tokenizer& tok = tokenizer();
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_EncodeMixedText)->Unit(benchmark::kMillisecond);

// One paragraph-free segment of 100 KB: a single BPE word, the worst case for the merge loop.
void BM_EncodeSingleLongWord(benchmark::State& state) {
  std::string text;
  while (text.size() < 100'000) text += "abcdefghijklmnopqrstuvwxyz0123456789";
  const gemma4::Tokenizer& tok = tokenizer();
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode(text).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeSingleLongWord)->Unit(benchmark::kMillisecond);

void BM_DecodeMixedText(benchmark::State& state) {
  const std::string text = mixed_text();
  const auto ids = tokenizer().encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer().decode(ids).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_DecodeMixedText)->Unit(benchmark::kMillisecond);

void BM_IncrementalDecodeMixedText(benchmark::State& state) {
  const std::string text = mixed_text();
  const auto ids = tokenizer().encode(text);
  for (auto _ : state) {
    gemma4::IncrementalDecoder decoder(tokenizer());
    size_t bytes = 0;
    for (const int32_t id : ids) bytes += decoder.push(id).size();
    bytes += decoder.flush().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_IncrementalDecodeMixedText)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
