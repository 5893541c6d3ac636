#pragma once
// Gemma 4 tokenizer: the BPE model of a Hugging Face `tokenizer.json` (merge ranks, byte fallback,
// the Replace(" " -> "▁") normalizer, special-token splitting) and its decoder. Behaviour follows
// docs/CHAT_FORMAT.md §2 and reproduces the Rust `tokenizers` library id for id.
//
// The tokenizer never adds <bos>: prepend id 2 yourself for a raw prompt (the chat template
// already starts with the text "<bos>").
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

struct TokenizerData;  // the loaded vocabulary and merges; shared, immutable

// Tokenizer::encode_at_most's answer: the tokens when there are at most the limit of them;
// otherwise no ids, and `at_least`, a proven lower bound on the count that exceeds the limit.
struct BoundedEncoding {
  std::vector<int32_t> ids;
  bool exceeded = false;
  size_t at_least = 0;  // the token count when it fits; a lower bound above the limit otherwise
};

class Tokenizer {
 public:
  // Accepts a model folder (reads DIR/tokenizer.json) or the path of a tokenizer.json itself.
  // Throws gemma4::Error naming the file and the problem on anything it cannot read exactly.
  static Tokenizer load(const std::filesystem::path& model_dir_or_tokenizer_json);
  // Same, from the JSON text in memory; `source_name` is used in error messages.
  static Tokenizer from_json_text(std::string_view json_text, std::string_view source_name = "tokenizer.json");

  // parse_special: match special-token strings in the text (HF default). When false the whole text
  // is ordinary text ("<|turn>" becomes several pieces).
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // encode() for untrusted text with a token budget: the same ids when the text has at most
  // max_tokens tokens, else it stops early. A text that is too long for its byte length alone
  // (each token covers at most as many bytes as the longest vocabulary piece holding that byte)
  // costs one linear scan and no BPE; otherwise encoding stops after the segment (text between
  // added tokens) where the tokens so far plus that bound of the rest pass max_tokens.
  BoundedEncoding encode_at_most(std::string_view text, size_t max_tokens, bool parse_special = true) const;

  // HF decoding: byte tokens are assembled into UTF-8 (an invalid run becomes one U+FFFD per byte),
  // "▁" becomes " ", special tokens are written as their text unless skip_special.
  // Throws gemma4::Error for an id outside [0, vocab_size()).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // The raw vocabulary piece ("▁Hello", "<0x0A>", "<|turn>"). Throws for an id out of range.
  std::string_view piece(int32_t id) const;
  bool is_special(int32_t id) const;  // false for ids out of range
  int32_t vocab_size() const;
  std::optional<int32_t> token_id(std::string_view piece) const;

  // The byte a byte-fallback token stands for (`<0x41>` -> 0x41), or nullopt for other ids.
  std::optional<uint8_t> byte_value(int32_t id) const;
  // Appends the decoded text of a non-byte token ("▁" -> " ") to `out`.
  void append_piece_text(int32_t id, std::string& out) const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerData> data) : data_(std::move(data)) {}
  std::shared_ptr<const TokenizerData> data_;
};

// Text from users (prompts, chat lines, request bodies) must be UTF-8. This replaces each
// maximal invalid subsequence with U+FFFD, as Python's errors="replace", WHATWG and Rust's
// from_utf8_lossy do, and returns the byte offset of the first invalid byte (nullopt, text
// untouched, when it was valid). Tokenizer::encode itself keeps invalid bytes as byte tokens.
std::optional<size_t> sanitize_utf8(std::string& text);

// Streaming detokenizer: push ids one at a time and get back only text that is complete. Byte
// tokens are held until they form a whole UTF-8 character, so the output never contains a broken
// sequence. For valid token streams, the concatenation of all push() results and flush() equals
// Tokenizer::decode of the same ids. Invalid byte runs are replaced by U+FFFD per offending byte as
// soon as they are known to be invalid (batch decode replaces the whole run, like HF).
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special = false);

  std::string push(int32_t id);
  // Emits whatever is still held (an incomplete character becomes U+FFFD per byte) and resets.
  std::string flush();
  // Number of bytes currently held back.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  void drain_complete_characters(std::string& out);

  Tokenizer tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace gemma4
