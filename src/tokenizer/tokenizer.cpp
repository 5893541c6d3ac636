// gemma4::Tokenizer: loading, special-token splitting, normalization and decoding around the BPE
// core in bpe.cpp.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "io/model_file.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/utf8.h"

namespace gemma4 {
namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot open tokenizer file " + path.string());
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  if (size < 0) throw Error("cannot read tokenizer file " + path.string());
  std::string text(static_cast<size_t>(size), '\0');
  file.seekg(0, std::ios::beg);
  if (!file.read(text.data(), size)) throw Error("cannot read tokenizer file " + path.string());
  return text;
}

std::string normalize(const TokenizerData& data, std::string_view segment) {
  std::string text(segment);
  for (const auto& [from, to] : data.normalizer_replacements) {
    if (text.find(from) == std::string::npos) continue;
    std::string replaced;
    replaced.reserve(text.size() + text.size() / 2);
    size_t start = 0;
    for (size_t hit = text.find(from); hit != std::string::npos; hit = text.find(from, start)) {
      replaced.append(text, start, hit - start);
      replaced += to;
      start = hit + from.size();
    }
    replaced.append(text, start);
    text = std::move(replaced);
  }
  return text;
}

// The added token starting at text[pos], longest first; nullptr when none matches there.
const AddedToken* match_added_token(const TokenizerData& data, std::string_view text, size_t pos, bool parse_special) {
  if (!data.added_token_first_byte[static_cast<unsigned char>(text[pos])]) return nullptr;
  const std::string_view rest = text.substr(pos);
  for (const AddedToken& token : data.added_tokens) {
    if ((parse_special || !token.special) && rest.starts_with(token.text)) return &token;
  }
  return nullptr;
}

// Splits text at added tokens: on_segment(text) for each stretch of ordinary text (never empty),
// on_added(id) for each added token, in order. Either returns false to stop; so does this.
template <typename OnSegment, typename OnAdded>
bool split_at_added_tokens(const TokenizerData& data, std::string_view text, bool parse_special,
                           const OnSegment& on_segment, const OnAdded& on_added) {
  size_t segment_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* token = match_added_token(data, text, pos, parse_special);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    if (pos > segment_start && !on_segment(text.substr(segment_start, pos - segment_start))) return false;
    if (!on_added(token->id)) return false;
    pos += token->text.size();
    segment_start = pos;
  }
  return segment_start >= text.size() || on_segment(text.substr(segment_start));
}

// min_token_count(normalize(segment)) without building the normalized copy when the normalizer
// is one replacement (Gemma's " " -> "▁"): the bound is a sum of per-byte weights, so each
// replaced occurrence changes it by weight(to) - weight(from). A long prompt refused for its
// length is then scanned, never copied.
size_t min_token_count_of_segment(const TokenizerData& data, std::string_view segment) {
  if (data.normalizer_replacements.size() != 1) return min_token_count(data, normalize(data, segment));
  const auto& [from, to] = data.normalizer_replacements.front();
  uint64_t occurrences = 0;
  for (size_t hit = segment.find(from); hit != std::string_view::npos; hit = segment.find(from, hit + from.size())) {
    ++occurrences;
  }
  const TokenWeight total = token_weight_of(data, segment) + occurrences * token_weight_of(data, to) -
                            occurrences * token_weight_of(data, from);
  return static_cast<size_t>(total >> 32);
}

// The lower bound of TokenizerData::token_weight over a whole text, added tokens counting one.
size_t min_token_count_of_text(const TokenizerData& data, std::string_view text, bool parse_special) {
  size_t count = 0;
  split_at_added_tokens(
      data, text, parse_special,
      [&](std::string_view segment) {
        count += min_token_count_of_segment(data, segment);
        return true;
      },
      [&](int32_t) {
        ++count;
        return true;
      });
  return count;
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir_or_tokenizer_json) {
  std::filesystem::path path = model_dir_or_tokenizer_json;
  std::error_code error;
  if (io::is_model_file(path)) {
    const std::optional<std::string> text = io::read_model_text(path, "tokenizer.json");
    if (!text) throw Error(path.string() + " holds no tokenizer.json (not written by `gemma4 convert`?)");
    return Tokenizer(parse_tokenizer_json(*text, (path / "tokenizer.json").string()));
  }
  if (std::filesystem::is_directory(path, error)) {
    path /= "tokenizer.json";
  } else if (std::filesystem::is_regular_file(path, error) && path.extension() != ".json") {
    throw Error(path.string() + " is a file; --model takes the model folder (with config.json, tokenizer.json "
                "and the safetensors) or a model file that `gemma4 convert` wrote (.g4w)");
  }
  if (!std::filesystem::exists(path, error)) throw Error("tokenizer file not found: " + path.string());
  const std::string text = read_file(path);
  return Tokenizer(parse_tokenizer_json(text, path.string()));
}

Tokenizer Tokenizer::from_json_text(std::string_view json_text, std::string_view source_name) {
  return Tokenizer(parse_tokenizer_json(json_text, source_name));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  const TokenizerData& data = *data_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  split_at_added_tokens(
      data, text, parse_special,
      [&](std::string_view segment) {
        bpe_encode_word(data, normalize(data, segment), ids);
        return true;
      },
      [&](int32_t id) {
        ids.push_back(id);
        return true;
      });
  return ids;
}

BoundedEncoding Tokenizer::encode_at_most(std::string_view text, size_t max_tokens, bool parse_special) const {
  const TokenizerData& data = *data_;
  BoundedEncoding result;
  size_t rest_bound = min_token_count_of_text(data, text, parse_special);  // of the part not yet encoded
  if (rest_bound > max_tokens) {
    result.exceeded = true;
    result.at_least = rest_bound;
    return result;
  }
  std::vector<int32_t>& ids = result.ids;
  ids.reserve(std::min(text.size() / 3, max_tokens) + 4);
  const auto within_budget = [&] { return ids.size() + rest_bound <= max_tokens; };
  const bool finished = split_at_added_tokens(
      data, text, parse_special,
      [&](std::string_view segment) {
        const std::string normalized = normalize(data, segment);
        rest_bound -= min_token_count(data, normalized);
        bpe_encode_word(data, normalized, ids);
        return within_budget();
      },
      [&](int32_t id) {
        --rest_bound;
        ids.push_back(id);
        return within_budget();
      });
  if (finished) {
    result.at_least = ids.size();
    return result;
  }
  result.exceeded = true;
  result.at_least = ids.size() + rest_bound;
  result.ids = {};
  return result;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const TokenizerData& data = *data_;
  std::string text;
  std::string byte_run;
  const auto flush_bytes = [&] {
    if (byte_run.empty()) return;
    if (utf8::is_valid(byte_run)) {
      text += byte_run;
    } else {
      // The Rust ByteFallback decoder replaces the whole invalid run, one U+FFFD per byte.
      for (size_t i = 0; i < byte_run.size(); ++i) text += utf8::kReplacementCharacter;
    }
    byte_run.clear();
  };
  for (const int32_t id : ids) {
    if (id < 0 || id >= data.vocab_size()) {
      throw Error("cannot decode token id " + std::to_string(id) + ": vocabulary has " +
                  std::to_string(data.vocab_size()) + " ids");
    }
    if (skip_special && data.special[id]) continue;
    if (data.byte_of_token[id] >= 0) {
      byte_run += static_cast<char>(data.byte_of_token[id]);
      continue;
    }
    flush_bytes();
    append_piece_text(id, text);
  }
  flush_bytes();
  return text;
}

std::string_view Tokenizer::piece(int32_t id) const {
  if (id < 0 || id >= data_->vocab_size()) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(data_->vocab_size()));
  }
  return data_->piece(id);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < data_->vocab_size() && data_->special[id] != 0;
}

int32_t Tokenizer::vocab_size() const { return data_->vocab_size(); }

std::optional<int32_t> Tokenizer::token_id(std::string_view piece_text) const {
  const int32_t id = data_->find_piece(piece_text);
  if (id < 0) return std::nullopt;
  return id;
}

std::optional<uint8_t> Tokenizer::byte_value(int32_t id) const {
  if (id < 0 || id >= data_->vocab_size() || data_->byte_of_token[id] < 0) return std::nullopt;
  return static_cast<uint8_t>(data_->byte_of_token[id]);
}

void Tokenizer::append_piece_text(int32_t id, std::string& out) const {
  const std::string_view text = piece(id);
  size_t start = 0;
  for (size_t hit = text.find(kMetaspace); hit != std::string_view::npos; hit = text.find(kMetaspace, start)) {
    out.append(text.substr(start, hit - start));
    out += ' ';
    start = hit + kMetaspace.size();
  }
  out.append(text.substr(start));
}

std::optional<size_t> sanitize_utf8(std::string& text) {
  if (utf8::is_valid(text)) return std::nullopt;
  std::optional<size_t> first_bad;
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = utf8::valid_char_length(text, pos);
    if (length > 0) {
      out.append(text, pos, length);
      pos += length;
      continue;
    }
    if (!first_bad) first_bad = pos;
    out += utf8::kReplacementCharacter;
    pos += utf8::invalid_run_length(text, pos);
  }
  text = std::move(out);
  return first_bad;
}

}  // namespace gemma4
