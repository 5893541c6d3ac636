// Reading side of safetensors: header validation for one file and the checkpoint-folder view that
// merges a single file or an index of shards.
#include "io/safetensors.h"

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/file_reader.h"
#include "io/mapped_file.h"
#include "io/model_file.h"

namespace gemma4::io {
namespace {

using nlohmann::json;

// Real headers are a few hundred KB at most; anything bigger is corruption, not a checkpoint.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeInfo, 12> kDTypes{{
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
}};

const DTypeInfo& info(DType d) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.dtype == d) return i;
  }
  throw Error("invalid dtype value " + std::to_string(static_cast<int>(d)));
}

bool parse_dtype(std::string_view name, DType& out) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.name == name) {
      out = i.dtype;
      return true;
    }
  }
  return false;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads a JSON integer that must be >= 0. Returns false for floats, negatives and non-numbers.
bool non_negative_int(const json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    out = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

std::string in_quotes(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('\'');
  out.append(name);
  out.push_back('\'');
  return out;
}

// Turns one header entry into a TensorView; `data_size` is the size of the data buffer.
TensorView parse_entry(const std::string& where, const std::string& name, const json& entry,
                       const uint8_t* data_start, uint64_t data_size) {
  const std::string what = where + ": tensor " + in_quotes(name);
  if (!entry.is_object()) throw Error(what + ": header entry is not a JSON object");

  TensorView view;
  view.name = name;

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end()) throw Error(what + ": missing field 'dtype'");
  if (!dtype_it->is_string()) throw Error(what + ": field 'dtype' is not a string");
  const std::string dtype_text = dtype_it->get<std::string>();
  if (!parse_dtype(dtype_text, view.dtype)) throw Error(what + ": unknown dtype '" + dtype_text + "'");

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end()) throw Error(what + ": missing field 'shape'");
  if (!shape_it->is_array()) throw Error(what + ": field 'shape' is not an array");
  uint64_t numel = 1;
  for (const json& dim : *shape_it) {
    if (!dim.is_number_integer()) throw Error(what + ": shape has a non-integer dimension " + dim.dump());
    uint64_t d = 0;
    if (!non_negative_int(dim, d)) throw Error(what + ": shape has a negative dimension " + dim.dump());
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(what + ": shape dimension " + dim.dump() + " is too large");
    if (d != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / d)
      throw Error(what + ": shape " + shape_it->dump() + " overflows the element count");
    numel *= d;
    view.shape.push_back(static_cast<int64_t>(d));
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end()) throw Error(what + ": missing field 'data_offsets'");
  uint64_t begin = 0;
  uint64_t end = 0;
  if (!offsets_it->is_array() || offsets_it->size() != 2 || !non_negative_int((*offsets_it)[0], begin) ||
      !non_negative_int((*offsets_it)[1], end))
    throw Error(what + ": 'data_offsets' must be two non-negative integers, got " + offsets_it->dump());
  if (begin > end)
    throw Error(what + ": 'data_offsets' begin " + std::to_string(begin) + " is after end " +
                std::to_string(end));
  if (end > data_size)
    throw Error(what + ": data ends at byte " + std::to_string(end) + " but the data buffer holds only " +
                std::to_string(data_size) + " bytes (file truncated?)");

  const size_t elem = dtype_size(view.dtype);
  const uint64_t nbytes = end - begin;
  // numel * elem can only overflow if it is far larger than the (in-bounds) byte count.
  if (numel > nbytes / elem || numel * elem != nbytes)
    throw Error(what + ": size mismatch: shape " + shape_it->dump() + " x " + dtype_text + " needs " +
                (numel > std::numeric_limits<uint64_t>::max() / elem ? std::string("more than 2^64")
                                                                     : std::to_string(numel * elem)) +
                " bytes but data_offsets span " + std::to_string(nbytes));

  view.data = data_start == nullptr ? nullptr : data_start + begin;
  view.file_offset = begin;  // relative to the data buffer here; open() adds the header
  view.nbytes = nbytes;
  return view;
}

// Tensors of a file are kept sorted by name (the header object's order), so lookups can bisect.
const std::string& name_of(const TensorView& t) { return t.name; }
const std::string& name_of(const std::string& s) { return s; }

// Shard file names come from a JSON file; keep them inside the checkpoint folder.
bool is_safe_shard_name(const std::filesystem::path& name) {
  if (name.empty() || name.is_absolute()) return false;
  for (const auto& part : name) {
    if (part == "..") return false;
  }
  return true;
}

std::vector<std::shared_ptr<SafetensorsFile>> open_sharded(const std::filesystem::path& index_path,
                                                           const CheckpointReadOptions& read) {
  const std::string where = index_path.string();
  std::vector<std::shared_ptr<SafetensorsFile>> files;
  const MappedFile index_file = MappedFile::open(index_path);
  const char* text = reinterpret_cast<const char*>(index_file.data());
  const json index = json::parse(text, text + index_file.size(), nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded()) throw Error(where + ": not valid JSON");
  if (!index.is_object()) throw Error(where + ": not a JSON object");
  const auto map_it = index.find("weight_map");
  if (map_it == index.end()) throw Error(where + ": missing field 'weight_map'");
  if (!map_it->is_object()) throw Error(where + ": 'weight_map' is not a JSON object");
  if (map_it->empty()) throw Error(where + ": 'weight_map' lists no tensors");

  // Each shard is opened once, however many tensors it holds.
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
  for (const auto& [tensor, shard] : map_it->items()) {
    if (!shard.is_string())
      throw Error(where + ": tensor " + in_quotes(tensor) + " maps to " + shard.dump() + ", not a file name");
    const std::string shard_name = shard.get<std::string>();
    if (!is_safe_shard_name(shard_name))
      throw Error(where + ": tensor " + in_quotes(tensor) + " maps to shard '" + shard_name +
                  "' outside the checkpoint folder");
    if (shards.count(shard_name) != 0) continue;
    const std::filesystem::path shard_path = index_path.parent_path() / shard_name;
    std::error_code ec;
    if (!std::filesystem::exists(shard_path, ec))
      throw Error(where + ": shard " + shard_path.string() + " (holding tensor " + in_quotes(tensor) +
                  ") does not exist");
    shards.emplace(shard_name, SafetensorsFile::open(shard_path, read));
  }

  for (const auto& [tensor, shard] : map_it->items()) {
    const SafetensorsFile& file = *shards.at(shard.get<std::string>());
    const auto& tensors = file.tensors();
    const bool present = std::binary_search(tensors.begin(), tensors.end(), tensor,
                                            [](const auto& a, const auto& b) { return name_of(a) < name_of(b); });
    if (!present)
      throw Error("tensor " + in_quotes(tensor) + " listed in " + where + " is missing from shard " +
                  file.path().string());
  }
  for (auto& entry : shards) files.push_back(std::move(entry.second));
  return files;
}

}  // namespace

std::string_view dtype_name(DType d) { return info(d).name; }
size_t dtype_size(DType d) { return info(d).size; }

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path,
                                                       const CheckpointReadOptions& read,
                                                       const FileSection& section) {
  auto file = std::make_shared<SafetensorsFile>();
  file->path_ = path;
  const std::string where = path.string();
  // The first bytes, the header and the data start: from the mapping, or read from the file.
  // Sizes and offsets below are within the section; `base` is where it starts in the file.
  const uint64_t base = section.offset;
  uint64_t file_size = 0;
  std::vector<uint8_t> head;
  const uint8_t* bytes = nullptr;
  auto section_size = [&](uint64_t whole) {
    if (base > whole) throw Error(where + ": its tensor section starts past the end of the file");
    return std::min(section.length, whole - base);
  };
  if (read.keep_on_disk) {
    auto reader = std::make_shared<FileReader>(FileReader::open(path));
    file_size = section_size(reader->size());
    if (file_size == 0) throw Error(where + " is empty");
    head.resize(static_cast<size_t>(std::min<uint64_t>(file_size, 8)));
    reader->read(base, head.size(), head.data());
    file->reader_ = std::move(reader);
  } else {
    file->mapping_ = std::make_shared<MappedFile>(MappedFile::open(path));
    file_size = section_size(file->mapping_->size());
    bytes = file->mapping_->data() + base;
  }

  if (file_size < 8)
    throw Error(where + ": file is " + std::to_string(file_size) +
                " bytes, shorter than the 8-byte safetensors header length");
  const uint64_t header_len = read_le64(bytes != nullptr ? bytes : head.data());
  if (header_len > kMaxHeaderBytes)
    throw Error(where + ": header length " + std::to_string(header_len) +
                " is absurd (over 100 MB); not a safetensors file?");
  if (header_len > file_size - 8)
    throw Error(where + ": header length " + std::to_string(header_len) + " runs past the end of the " +
                std::to_string(file_size) + "-byte file (file truncated?)");
  if (bytes == nullptr) {
    head.resize(static_cast<size_t>(8 + header_len));
    file->reader_->read(base, head.size(), head.data());
  }
  const uint8_t* header_bytes = bytes != nullptr ? bytes : head.data();

  const char* header_begin = reinterpret_cast<const char*>(header_bytes + 8);
  // nlohmann keeps only the last of repeated keys; a repeated tensor name would silently hide
  // one entry, so the parser callback records top-level keys to reject that.
  std::set<std::string> top_level_keys;
  std::string repeated_key;
  const json::parser_callback_t track_keys = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && parsed.is_string() &&
        !top_level_keys.insert(parsed.get<std::string>()).second && repeated_key.empty())
      repeated_key = parsed.get<std::string>();
    return true;
  };
  json header = json::parse(header_begin, header_begin + header_len, track_keys, /*allow_exceptions=*/false);
  if (header.is_discarded()) throw Error(where + ": header is not valid JSON");
  if (!repeated_key.empty())
    throw Error(where + ": tensor " + in_quotes(repeated_key) + " appears twice in the header");
  if (!header.is_object()) throw Error(where + ": header is not a JSON object");

  const uint8_t* data_start = bytes != nullptr ? bytes + 8 + header_len : nullptr;
  const uint64_t data_size = file_size - 8 - header_len;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw Error(where + ": '__metadata__' is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        // The format says string values; keep other JSON values as text rather than reject them.
        file->metadata_[mkey] = mvalue.is_string() ? mvalue.get<std::string>() : mvalue.dump();
      }
      continue;
    }
    file->tensors_.push_back(parse_entry(where, key, value, data_start, data_size));
  }

  // Gaps between tensors are tolerated (some writers align), shared bytes are not.
  std::vector<const TensorView*> by_offset;
  for (const TensorView& t : file->tensors_) {
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorView* a, const TensorView* b) { return a->file_offset < b->file_offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorView& prev = *by_offset[i - 1];
    const TensorView& cur = *by_offset[i];
    if (cur.file_offset < prev.file_offset + prev.nbytes)
      throw Error(where + ": tensors " + in_quotes(prev.name) + " and " + in_quotes(cur.name) +
                  " overlap in the data buffer");
  }
  for (TensorView& t : file->tensors_) {
    t.file = path;
    t.file_offset += base + 8 + header_len;
  }
  return file;
}

struct Checkpoint::ReadCopies {
  std::mutex mutex;
  std::map<const TensorView*, std::vector<uint8_t>> bytes;
};

Checkpoint Checkpoint::open(const std::filesystem::path& dir, const CheckpointReadOptions& read) {
  namespace fs = std::filesystem;
  std::error_code ec;
  Checkpoint ckpt;
  ckpt.copies_ = std::make_shared<ReadCopies>();
  if (is_model_file(dir)) {
    ckpt.dir_ = dir;
    ckpt.files_.push_back(SafetensorsFile::open(dir, read, ModelFile::open(dir).checkpoint()));
  } else if (fs::is_regular_file(dir, ec)) {
    // A path to the .safetensors file itself: accept it, the folder is its parent.
    ckpt.dir_ = dir.parent_path();
    ckpt.files_.push_back(SafetensorsFile::open(dir, read));
  } else {
    if (!fs::exists(dir, ec)) throw Error("checkpoint folder " + dir.string() + " does not exist");
    if (!fs::is_directory(dir, ec)) throw Error("checkpoint path " + dir.string() + " is not a folder");
    ckpt.dir_ = dir;
    const fs::path index_path = dir / "model.safetensors.index.json";
    const fs::path single_path = dir / "model.safetensors";
    if (fs::exists(index_path, ec)) {
      ckpt.files_ = open_sharded(index_path, read);
    } else if (fs::exists(single_path, ec)) {
      ckpt.files_.push_back(SafetensorsFile::open(single_path, read));
    } else {
      throw Error("checkpoint folder " + dir.string() +
                  " has no model.safetensors or model.safetensors.index.json");
    }
  }

  for (const auto& file : ckpt.files_) {
    for (const TensorView& t : file->tensors()) {
      auto [it, inserted] = ckpt.by_name_.emplace(t.name, &t);
      if (!inserted)
        throw Error("tensor " + in_quotes(t.name) + " appears in two shards: " + it->second->file.string() +
                    " and " + t.file.string());
    }
  }
  return ckpt;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorView& Checkpoint::get(std::string_view name) const {
  const TensorView* t = find(name);
  if (t == nullptr) throw Error("tensor " + in_quotes(name) + " not found in checkpoint " + dir_.string());
  return *t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& entry : by_name_) out.push_back(entry.first);
  return out;
}

const SafetensorsFile& Checkpoint::file_of(const TensorView& t) const {
  for (const auto& file : files_) {
    if (file->path() == t.file) return *file;
  }
  throw Error("tensor " + in_quotes(t.name) + " belongs to no file of checkpoint " + dir_.string());
}

size_t Checkpoint::heap_bytes() const {
  if (!copies_) return 0;
  std::lock_guard<std::mutex> lock(copies_->mutex);
  size_t total = 0;
  for (const auto& [view, bytes] : copies_->bytes) total += bytes.size();
  return total;
}

const uint8_t* Checkpoint::acquire(const TensorView& t) const {
  if (t.data != nullptr || t.nbytes == 0) return t.data;
  const SafetensorsFile& file = file_of(t);
  if (!file.reader()) throw Error("tensor " + in_quotes(t.name) + " of " + t.file.string() + " has no bytes to read");
  if (t.nbytes > std::numeric_limits<size_t>::max() / 2)
    throw Error("tensor " + in_quotes(t.name) + " of " + t.file.string() + " is " + std::to_string(t.nbytes) +
                " bytes, more than this build can hold in memory (read its rows instead)");
  std::lock_guard<std::mutex> lock(copies_->mutex);
  std::vector<uint8_t>& bytes = copies_->bytes[&t];
  if (bytes.empty()) {
    try {
      bytes.resize(static_cast<size_t>(t.nbytes));
      file.reader()->read(t.file_offset, bytes.size(), bytes.data());
    } catch (...) {
      copies_->bytes.erase(&t);
      throw;
    }
  }
  return bytes.data();
}

const uint8_t* Checkpoint::held(const TensorView& t) const {
  if (t.data != nullptr || !copies_) return t.data;
  std::lock_guard<std::mutex> lock(copies_->mutex);
  auto it = copies_->bytes.find(&t);
  return it == copies_->bytes.end() ? nullptr : it->second.data();
}

void Checkpoint::release(const TensorView& t) const {
  if (t.data == nullptr) {
    if (copies_) {
      std::lock_guard<std::mutex> lock(copies_->mutex);
      copies_->bytes.erase(&t);
    }
    return;
  }
  for (const auto& file : files_) {
    if (file->mapping() == nullptr) continue;
    const MappedFile& map = *file->mapping();
    if (t.data >= map.data() && t.data < map.data() + map.size()) {
      map.advise_dontneed(static_cast<size_t>(t.data - map.data()), static_cast<size_t>(t.nbytes));
      return;
    }
  }
}

}  // namespace gemma4::io
