#include "model/weight_cache_key.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

namespace fs = std::filesystem;

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

std::string read_prefix(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string());
  std::string bytes(max_bytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// A safetensors file starts with an 8-byte header length and the JSON header: hashing them covers
// every tensor's name, dtype, shape and offsets without reading the data.
std::string safetensors_header(const fs::path& path) {
  std::string len = read_prefix(path, 8);
  if (len.size() < 8) return len;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(len[i]);
  return read_prefix(path, static_cast<size_t>(std::min<uint64_t>(n, uint64_t{1} << 30)) + 8);
}

// 16 slices of 4 KiB spread over the file: a rewrite with the same header and size (another random
// seed) inside one timestamp tick still changes the key, for the price of 16 page reads.
uint64_t sampled_fnv(const fs::path& path, uint64_t size) {
  constexpr uint64_t kSlices = 16, kSlice = 4096;
  std::ifstream in(path, std::ios::binary);
  std::string buf(kSlice, '\0');
  uint64_t h = fnv1a64("");
  for (uint64_t i = 0; i < kSlices && size > 0; ++i) {
    in.seekg(static_cast<std::streamoff>(size / kSlices * i));
    in.read(buf.data(), kSlice);
    h = fnv1a64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
    in.clear();
  }
  return h;
}

nlohmann::json file_identity(const fs::path& dir, const std::string& name, bool safetensors) {
  const fs::path path = dir / name;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)  // follows links (Hugging Face snapshots point into blobs/)
    throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const std::string head = safetensors ? safetensors_header(path) : read_prefix(path, size_t{1} << 24);
  return {{"name", name},
          {"size", size},
          {"mtime_ns", static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec},
          {"inode", static_cast<uint64_t>(st.st_ino)},
          {"head_fnv", fnv1a64(head)},
          {"sample_fnv", sampled_fnv(path, size)}};
}

std::set<std::string> shard_names(const fs::path& index_path) {
  std::ifstream in(index_path);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::set<std::string> shards;
  if (doc.is_object() && doc.contains("weight_map") && doc["weight_map"].is_object()) {
    for (const auto& [tensor, file] : doc["weight_map"].items()) {
      if (file.is_string()) shards.insert(file.get<std::string>());
    }
  }
  return shards;
}

}  // namespace

std::string weight_cache_key(const fs::path& model_dir, WeightType type) {
  nlohmann::json files = nlohmann::json::array();
  files.push_back(file_identity(model_dir, "config.json", false));
  const fs::path index = model_dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    files.push_back(file_identity(model_dir, index.filename().string(), false));
    for (const std::string& shard : shard_names(index)) files.push_back(file_identity(model_dir, shard, true));
  } else {
    files.push_back(file_identity(model_dir, "model.safetensors", true));
  }
  nlohmann::json key = {{"weight_type", std::string(weight_type_name(type))},
                        {"layout_version", kWeightLayoutVersion},
                        {"files", files}};
  return key.dump();
}

std::string weight_cache_file_name(const fs::path& model_dir, WeightType type) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(model_dir), ec);
  if (ec) abs = fs::absolute(model_dir);
  std::string folder;
  for (char c : abs.filename().string()) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.';
    folder += plain ? c : '_';
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(abs.string())));
  return folder.substr(0, 64) + "-" + hash + "-" + std::string(weight_type_name(type)) + ".g4wcache";
}

}  // namespace gemma4
