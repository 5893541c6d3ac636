#pragma once
// Grammar-constrained decoding (structured output): JSON Schema and "any JSON object" compiled to
// a byte-level pushdown grammar, and per-request token masks over the vocabulary.
// See docs/grammar.md for the supported schema subset and the design.
//
//   auto grammar = gemma4::compile_json_schema(schema);       // throws GrammarError on a bad schema
//   gemma4::TokenMatcher m(grammar, gemma4::build_token_trie(tokenizer));
//   gemma4::TokenMask mask(vocab_size);
//   m.fill_mask(mask, stop_ids);  // allowed tokens for the next step
//   m.accept_token(id);          // advance with the sampled token
//
// Grammars see bytes and tokens only; they know nothing of requests or front ends.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {

// A schema or grammar the compiler cannot honour; the message names the keyword and its path.
class GrammarError : public Error {
 public:
  using Error::Error;
};

struct Grammar;  // compiled, immutable, shareable across requests and threads

// JSON Schema (the subset in docs/grammar.md). An unsupported keyword is a GrammarError naming it.
std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::json& schema);
// Any JSON object (OpenAI's json_object).
std::shared_ptr<const Grammar> compile_any_json_object();
// GBNF grammar text (llama.cpp's format, the subset in docs/grammar.md), starting at rule `root`.
// A malformed or left-recursive grammar is a GrammarError naming the line or rule.
std::shared_ptr<const Grammar> compile_gbnf(std::string_view text);
// Strict tool calls in Gemma 4's syntax (OpenAI `tools`): free text until the <|tool_call> token,
// then call:NAME{key:value,...}<tool_call|> with NAME one of the tools and, for a tool with
// `strict: true`, arguments valid for its parameter schema; then free again. `forced_prefix` is
// the part of a first call the prompt already holds after <|tool_call> ("call:" or
// "call:NAME{" for tool_choice); generation then starts inside that call.
std::shared_ptr<const Grammar> compile_tool_calls(const nlohmann::json& tools, std::string_view forced_prefix = "");

// A special token inside a grammar: a 0xFF byte, its piece, 0xFF. No text token has these bytes
// (0xFF is never UTF-8), so a special token is matched only as itself, atomically.
std::string special_token_bytes(std::string_view piece);

// Byte-level matching, for tests and the token matcher.
class ByteMatcher {
 public:
  explicit ByteMatcher(std::shared_ptr<const Grammar> grammar);
  ~ByteMatcher();
  ByteMatcher(const ByteMatcher&);
  ByteMatcher& operator=(const ByteMatcher&);
  // Feeds bytes; false (state unchanged) when the grammar rejects one of them.
  bool accept(std::string_view bytes);
  bool can_end() const;   // the bytes so far form a complete value
  bool dead() const;      // no continuation is possible (never true after a successful accept)
  // Only the end can follow (a complete value, nothing may be appended).
  bool must_end() const;

  struct State;
  const State& state() const { return *state_; }

 private:
  std::shared_ptr<const Grammar> grammar_;
  std::unique_ptr<State> state_;
};

// The vocabulary decoded to bytes once (byte fallback <0xNN> as the byte, "▁" as a space) and
// arranged as a trie; special tokens as special_token_bytes (never matched by text).
struct TokenTrie;
std::shared_ptr<const TokenTrie> build_token_trie(const Tokenizer& tokenizer);

// A set of token ids below size(), 64 to a word: a mask is 32 KB for 262,144 tokens, so copying a
// cached one and applying it to a logits row cost a few microseconds.
class TokenMask {
 public:
  TokenMask() = default;
  explicit TokenMask(size_t size, bool allowed = false) { assign(size, allowed); }
  void assign(size_t size, bool allowed);
  size_t size() const { return size_; }
  bool operator[](size_t id) const { return (words_[id >> 6] >> (id & 63)) & 1; }
  void set(size_t id, bool allowed) {
    const uint64_t bit = uint64_t{1} << (id & 63);
    words_[id >> 6] = allowed ? words_[id >> 6] | bit : words_[id >> 6] & ~bit;
  }
  // Bit id % 64 of word id / 64; the bits at and past size() are always 0.
  std::span<const uint64_t> words() const { return words_; }
  std::span<uint64_t> words() { return words_; }

 private:
  size_t size_ = 0;
  std::vector<uint64_t> words_;
};

// One request's constraint over tokens: a ByteMatcher plus the mask computation.
class TokenMatcher {
 public:
  TokenMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie);
  ~TokenMatcher();
  TokenMatcher(TokenMatcher&&) noexcept;

  // allowed[id] for every id below allowed.size(): the tokens the grammar accepts next. `end_ids`
  // (the stop tokens) are allowed exactly when the grammar can end.
  void fill_mask(TokenMask& allowed, std::span<const int32_t> end_ids);
  // Advances with a sampled (non-stop) token; false when the grammar rejects it (state unchanged).
  bool accept_token(int32_t id);
  bool can_end() const { return !active() || bytes_.can_end(); }
  bool must_end() const { return active() && bytes_.must_end(); }
  // A lazy grammar is active after its trigger token until its part is complete; others always.
  bool active() const { return !lazy_ || triggered_; }

 private:
  bool lazy_ = false, triggered_ = false;
  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  ByteMatcher bytes_;
  // Masks per grammar state (the key is the state's frames); cleared when full.
  static constexpr size_t kMaxCachedMasks = 64;
  std::unordered_map<std::string, TokenMask> cache_;
};

}  // namespace gemma4
