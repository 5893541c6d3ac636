// Loader for Hugging Face tokenizer.json. A generic DOM parse of the 32 MB Gemma 4 file costs
// seconds and gigabytes of small allocations, so the big parts (vocab, merges, added_tokens) are
// read by a focused streaming scanner straight into flat arrays; the small configuration objects
// (normalizer, pre_tokenizer) are handed to nlohmann::json.
#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/utf8.h"

namespace gemma4 {

namespace {

// Cursor over JSON text with just the operations the loader needs. Every failure names the
// source and the byte offset.
class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(std::string(source_) + ": invalid tokenizer JSON at byte " + std::to_string(pos_) + ": " + what);
  }

  void skip_whitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  char peek() {
    skip_whitespace();
    if (pos_ >= text_.size()) fail("unexpected end of file");
    return text_[pos_];
  }
  void expect(char wanted) {
    if (peek() != wanted) fail(std::string("expected '") + wanted + "'");
    ++pos_;
  }
  bool consume_if(char wanted) {
    if (peek() != wanted) return false;
    ++pos_;
    return true;
  }
  bool at_end() {
    skip_whitespace();
    return pos_ >= text_.size();
  }
  size_t position() const { return pos_; }

  // Iterates "key": value members; `on_member(key)` must consume the value.
  template <typename OnMember>
  void read_object(OnMember&& on_member) {
    expect('{');
    if (consume_if('}')) return;
    std::string key;
    while (true) {
      key.clear();
      read_string_into(key);
      expect(':');
      on_member(key);
      if (consume_if(',')) continue;
      expect('}');
      return;
    }
  }

  template <typename OnElement>
  void read_array(OnElement&& on_element) {
    expect('[');
    if (consume_if(']')) return;
    while (true) {
      on_element();
      if (consume_if(',')) continue;
      expect(']');
      return;
    }
  }

  // Appends the decoded string value to `out`.
  void read_string_into(std::string& out) {
    expect('"');
    while (true) {
      const size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\') ++pos_;
      out.append(text_.data() + start, pos_ - start);
      if (pos_ >= text_.size()) fail("unterminated string");
      if (text_[pos_] == '"') {
        ++pos_;
        return;
      }
      read_escape_into(out);
    }
  }

  std::string read_string() {
    std::string value;
    read_string_into(value);
    return value;
  }

  int64_t read_integer() {
    skip_whitespace();
    int64_t value = 0;
    const char* begin = text_.data() + pos_;
    const auto [end, error] = std::from_chars(begin, text_.data() + text_.size(), value);
    if (error == std::errc::result_out_of_range) fail("integer out of range");
    if (error != std::errc() || end == begin) fail("expected an integer");
    if (end < text_.data() + text_.size() && (*end == '.' || *end == 'e' || *end == 'E')) {
      fail("expected an integer, found a fraction");
    }
    pos_ += static_cast<size_t>(end - begin);
    return value;
  }

  bool read_bool() {
    skip_whitespace();
    if (text_.substr(pos_, 4) == "true") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "false") {
      pos_ += 5;
      return false;
    }
    fail("expected true or false");
  }

  bool consume_null() {
    skip_whitespace();
    if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return true;
    }
    return false;
  }

  // Skips one value of any kind and returns its raw text.
  std::string_view skip_value() {
    const char first = peek();
    const size_t start = pos_;
    if (first == '"') {
      std::string ignored;
      read_string_into(ignored);
    } else if (first == '{' || first == '[') {
      skip_container();
    } else {
      while (pos_ < text_.size() && std::strchr(",}] \n\r\t", text_[pos_]) == nullptr) ++pos_;
      if (pos_ == start) fail("expected a value");
    }
    return text_.substr(start, pos_ - start);
  }

 private:
  void skip_container() {
    int depth = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        std::string ignored;
        read_string_into(ignored);
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return;
      }
    }
    fail("unterminated object or array");
  }

  uint32_t read_hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<uint32_t>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return value;
  }

  void read_escape_into(std::string& out) {
    ++pos_;  // the backslash
    if (pos_ >= text_.size()) fail("unterminated escape");
    const char kind = text_[pos_++];
    switch (kind) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': {
        uint32_t code = read_hex4();
        if (code >= 0xD800 && code <= 0xDBFF) {
          if (text_.substr(pos_, 2) != "\\u") fail("unpaired surrogate in \\u escape");
          pos_ += 2;
          const uint32_t low = read_hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate in \\u escape");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          fail("unpaired surrogate in \\u escape");
        }
        utf8::append_char(code, out);
        return;
      }
      default:
        fail(std::string("unknown escape \\") + kind);
    }
  }

  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
};

struct RawVocabEntry {
  uint32_t offset;
  uint32_t length;
  int32_t id;
};

struct RawMerge {
  uint32_t left_offset, left_length, right_offset, right_length;
};

struct ModelSection {
  std::string vocab_bytes;
  std::vector<RawVocabEntry> vocab;
  std::string merge_bytes;
  std::vector<RawMerge> merges;
  std::string unk_token;
  bool has_unk = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
  bool saw_vocab = false;
  bool saw_merges = false;
};

void read_added_tokens(JsonScanner& scanner, std::vector<AddedToken>& tokens) {
  scanner.read_array([&] {
    AddedToken token;
    bool has_id = false, has_content = false;
    scanner.read_object([&](const std::string& key) {
      if (key == "id") {
        const int64_t id = scanner.read_integer();
        if (id < 0 || id > INT32_MAX - 1) scanner.fail("added token id out of range");
        token.id = static_cast<int32_t>(id);
        has_id = true;
      } else if (key == "content") {
        token.text = scanner.read_string();
        has_content = true;
      } else if (key == "special") {
        token.special = scanner.read_bool();
      } else {
        scanner.skip_value();
      }
    });
    if (!has_id || !has_content) scanner.fail("added token without id or content");
    if (token.text.empty()) scanner.fail("added token with empty content");
    tokens.push_back(std::move(token));
  });
}

void read_merges(JsonScanner& scanner, ModelSection& model) {
  model.saw_merges = true;
  model.merges.reserve(1 << 19);
  model.merge_bytes.reserve(8 << 20);
  std::string legacy;
  scanner.read_array([&] {
    RawMerge merge{};
    if (scanner.peek() == '[') {
      int parts = 0;
      scanner.read_array([&] {
        const auto offset = static_cast<uint32_t>(model.merge_bytes.size());
        scanner.read_string_into(model.merge_bytes);
        const auto length = static_cast<uint32_t>(model.merge_bytes.size() - offset);
        if (parts == 0) {
          merge.left_offset = offset;
          merge.left_length = length;
        } else {
          merge.right_offset = offset;
          merge.right_length = length;
        }
        ++parts;
      });
      if (parts != 2) scanner.fail("a merge must have exactly two parts");
    } else {
      // Older files write a merge as one string "left right".
      legacy.clear();
      scanner.read_string_into(legacy);
      const size_t space = legacy.find(' ');
      if (space == std::string::npos || legacy.find(' ', space + 1) != std::string::npos) {
        scanner.fail("a merge string must be two pieces separated by one space");
      }
      merge.left_offset = static_cast<uint32_t>(model.merge_bytes.size());
      merge.left_length = static_cast<uint32_t>(space);
      merge.right_offset = static_cast<uint32_t>(model.merge_bytes.size() + space + 1);
      merge.right_length = static_cast<uint32_t>(legacy.size() - space - 1);
      model.merge_bytes += legacy;
    }
    model.merges.push_back(merge);
  });
}

void read_model(JsonScanner& scanner, ModelSection& model) {
  scanner.read_object([&](const std::string& key) {
    if (key == "type") {
      const std::string type = scanner.read_string();
      if (type != "BPE") scanner.fail("model type \"" + type + "\" is not supported (only BPE)");
    } else if (key == "vocab") {
      model.saw_vocab = true;
      model.vocab.reserve(1 << 18);
      model.vocab_bytes.reserve(4 << 20);
      scanner.read_object([&](const std::string& piece) {
        const int64_t id = scanner.read_integer();
        if (id < 0 || id > INT32_MAX - 1) scanner.fail("vocab id out of range for piece \"" + piece + "\"");
        model.vocab.push_back(RawVocabEntry{static_cast<uint32_t>(model.vocab_bytes.size()),
                                            static_cast<uint32_t>(piece.size()), static_cast<int32_t>(id)});
        model.vocab_bytes += piece;
      });
    } else if (key == "merges") {
      read_merges(scanner, model);
    } else if (key == "unk_token") {
      if (!scanner.consume_null()) {
        model.unk_token = scanner.read_string();
        model.has_unk = true;
      }
    } else if (key == "byte_fallback") {
      model.byte_fallback = scanner.read_bool();
    } else if (key == "fuse_unk") {
      model.fuse_unk = scanner.read_bool();
    } else if (key == "ignore_merges") {
      model.ignore_merges = scanner.read_bool();
    } else if (key == "dropout") {
      if (!scanner.consume_null()) {
        const std::string_view raw = scanner.skip_value();
        if (raw != "0" && raw != "0.0") scanner.fail("BPE dropout is not supported");
      }
    } else if (key == "continuing_subword_prefix" || key == "end_of_word_suffix") {
      if (!scanner.consume_null()) {
        if (!scanner.read_string().empty()) scanner.fail("model." + key + " is not supported");
      }
    } else {
      scanner.skip_value();
    }
  });
}

// Collects the string replacements of a normalizer: Replace, or a Sequence of Replace. Anything
// that would change text in other ways is refused rather than silently ignored.
void collect_replacements(const nlohmann::json& normalizer, std::vector<std::pair<std::string, std::string>>& out,
                          const std::string& source) {
  if (normalizer.is_null()) return;
  const std::string type = normalizer.value("type", "");
  if (type == "Sequence") {
    for (const auto& inner : normalizer.value("normalizers", nlohmann::json::array())) {
      collect_replacements(inner, out, source);
    }
    return;
  }
  if (type == "Replace") {
    const auto& pattern = normalizer.at("pattern");
    if (!pattern.contains("String")) throw Error(source + ": normalizer Replace with a regex pattern is not supported");
    const std::string from = pattern.at("String").get<std::string>();
    if (from.empty()) throw Error(source + ": normalizer Replace with an empty pattern");
    out.emplace_back(from, normalizer.at("content").get<std::string>());
    return;
  }
  throw Error(source + ": normalizer type \"" + type + "\" is not supported");
}

// The Gemma pre-tokenizer Split(" ", MergedWithPrevious) cannot match once the normalizer has
// turned every space into "▁", so it is accepted only in that situation.
void check_pre_tokenizer(const nlohmann::json& pre_tokenizer,
                         const std::vector<std::pair<std::string, std::string>>& replacements,
                         const std::string& source) {
  if (pre_tokenizer.is_null()) return;
  const std::string type = pre_tokenizer.value("type", "");
  if (type == "Sequence") {
    for (const auto& inner : pre_tokenizer.value("pretokenizers", nlohmann::json::array())) {
      check_pre_tokenizer(inner, replacements, source);
    }
    return;
  }
  if (type == "Split" && pre_tokenizer.contains("pattern") && pre_tokenizer["pattern"].contains("String")) {
    const std::string pattern = pre_tokenizer["pattern"]["String"].get<std::string>();
    for (const auto& [from, to] : replacements) {
      if (from == pattern && to.find(pattern) == std::string::npos) return;
    }
  }
  throw Error(source + ": pre_tokenizer " + pre_tokenizer.dump() + " is not supported");
}

}  // namespace

std::shared_ptr<const TokenizerData> parse_tokenizer_json(std::string_view json_text, std::string_view source_name) {
  const std::string source(source_name);
  JsonScanner scanner(json_text, source_name);
  auto data = std::make_shared<TokenizerData>();
  ModelSection model;
  std::string_view normalizer_text = "null", pre_tokenizer_text = "null";
  bool saw_model = false;

  scanner.read_object([&](const std::string& key) {
    if (key == "added_tokens") {
      read_added_tokens(scanner, data->added_tokens);
    } else if (key == "model") {
      saw_model = true;
      read_model(scanner, model);
    } else if (key == "normalizer") {
      normalizer_text = scanner.skip_value();
    } else if (key == "pre_tokenizer") {
      pre_tokenizer_text = scanner.skip_value();
    } else {
      scanner.skip_value();
    }
  });
  if (!scanner.at_end()) scanner.fail("trailing characters after the top-level object");
  if (!saw_model || !model.saw_vocab) throw Error(source + ": no model.vocab");
  if (!model.saw_merges) throw Error(source + ": no model.merges");

  try {
    collect_replacements(nlohmann::json::parse(normalizer_text), data->normalizer_replacements, source);
    check_pre_tokenizer(nlohmann::json::parse(pre_tokenizer_text), data->normalizer_replacements, source);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": bad normalizer or pre_tokenizer: " + e.what());
  }

  // Vocabulary: ids must be dense; added tokens may extend it.
  int64_t max_id = -1;
  for (const auto& entry : model.vocab) max_id = std::max<int64_t>(max_id, entry.id);
  for (const auto& token : data->added_tokens) max_id = std::max<int64_t>(max_id, token.id);
  // Real vocabularies are far below this; a larger id is a corrupt file, not a reason to allocate gigabytes.
  constexpr int64_t kMaxVocabularySize = int64_t{1} << 24;
  if (max_id >= kMaxVocabularySize) throw Error(source + ": token id " + std::to_string(max_id) + " is implausibly large");
  const auto size = static_cast<size_t>(max_id + 1);
  if (size == 0) throw Error(source + ": empty vocabulary");
  std::vector<std::string_view> piece_of_id(size);
  std::vector<bool> has_piece(size, false);
  for (const auto& entry : model.vocab) {
    if (has_piece[entry.id]) throw Error(source + ": vocab id " + std::to_string(entry.id) + " appears twice");
    piece_of_id[entry.id] = std::string_view(model.vocab_bytes).substr(entry.offset, entry.length);
    has_piece[entry.id] = true;
  }
  for (const auto& token : data->added_tokens) {
    if (!has_piece[token.id]) {
      piece_of_id[token.id] = token.text;
      has_piece[token.id] = true;
    } else if (piece_of_id[token.id] != token.text) {
      throw Error(source + ": added token \"" + token.text + "\" has id " + std::to_string(token.id) +
                  ", which the vocab gives to \"" + std::string(piece_of_id[token.id]) + "\"");
    }
  }
  data->piece_offsets.reserve(size + 1);
  data->piece_bytes.reserve(model.vocab_bytes.size() + 64);
  for (size_t id = 0; id < size; ++id) {
    if (!has_piece[id]) throw Error(source + ": vocab has no piece for id " + std::to_string(id));
    data->piece_offsets.push_back(static_cast<uint32_t>(data->piece_bytes.size()));
    data->piece_bytes += piece_of_id[id];
  }
  data->piece_offsets.push_back(static_cast<uint32_t>(data->piece_bytes.size()));

  data->piece_index.reset(size);
  const auto piece_of = [&](int32_t id) { return data->piece(id); };
  data->special.assign(size, 0);
  data->byte_of_token.assign(size, -1);
  data->byte_token.fill(-1);
  data->ascii_piece.fill(-1);
  for (size_t id = 0; id < size; ++id) {
    const std::string_view piece = data->piece(static_cast<int32_t>(id));
    // On a duplicated piece the Rust library keeps the last id; do the same.
    data->piece_index.insert(piece, static_cast<int32_t>(id), piece_of);
    if (piece.size() == 1 && static_cast<unsigned char>(piece[0]) < 128) {
      data->ascii_piece[static_cast<unsigned char>(piece[0])] = static_cast<int32_t>(id);
    }
    if (piece.size() == 6 && piece.starts_with("<0x") && piece.back() == '>') {
      int value = 0;
      const auto [end, error] = std::from_chars(piece.data() + 3, piece.data() + 5, value, 16);
      if (error == std::errc() && end == piece.data() + 5) {
        data->byte_of_token[id] = static_cast<int16_t>(value);
        data->byte_token[static_cast<size_t>(value)] = static_cast<int32_t>(id);
      }
    }
  }
  for (const auto& token : data->added_tokens) {
    if (token.special) data->special[token.id] = 1;
    // An added token that happens to look like a byte piece is still matched as a whole.
    data->added_token_first_byte[static_cast<unsigned char>(token.text[0])] = true;
  }
  std::stable_sort(data->added_tokens.begin(), data->added_tokens.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.text.size() > b.text.size(); });

  if (model.has_unk) {
    data->unk_id = data->find_piece(model.unk_token);
    if (data->unk_id < 0) throw Error(source + ": unk_token \"" + model.unk_token + "\" is not in vocab");
  }
  data->byte_fallback = model.byte_fallback;
  data->fuse_unk = model.fuse_unk;
  data->ignore_merges = model.ignore_merges;
  compute_token_weights(*data);

  data->merges.reserve(model.merges.size());
  std::string joined;
  const std::string_view merge_bytes = model.merge_bytes;
  const auto lookup = [&](std::string_view piece, size_t rank) {
    const int32_t id = data->find_piece(piece);
    if (id < 0) {
      throw Error(source + ": merge " + std::to_string(rank) + " uses \"" + std::string(piece) +
                  "\", which is not in vocab");
    }
    return id;
  };
  for (size_t rank = 0; rank < model.merges.size(); ++rank) {
    const RawMerge& merge = model.merges[rank];
    const std::string_view left = merge_bytes.substr(merge.left_offset, merge.left_length);
    const std::string_view right = merge_bytes.substr(merge.right_offset, merge.right_length);
    joined.assign(left);
    joined.append(right);
    data->merges.insert(lookup(left, rank), lookup(right, rank), static_cast<int32_t>(rank), lookup(joined, rank));
  }
  return data;
}

}  // namespace gemma4
