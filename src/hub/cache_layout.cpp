#include "hub/cache_layout.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "gemma4/hub.h"

namespace gemma4::hub {

namespace fs = std::filesystem;

bool is_commit_hash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

RepoCache::RepoCache(const fs::path& cache_dir, const std::string& repo_id) : cache_dir_(cache_dir) {
  folder_ = "models";
  size_t start = 0;
  while (true) {
    const size_t slash = repo_id.find('/', start);
    folder_ += "--" + repo_id.substr(start, slash - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  root_ = cache_dir_ / folder_;
}

fs::path RepoCache::lock_file(const std::string& etag) const {
  return cache_dir_ / ".locks" / folder_ / (etag + ".lock");
}

std::optional<std::string> RepoCache::commit_of(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::ifstream in(root_ / "refs" / revision);
  std::string commit;
  if (!in || !std::getline(in, commit)) return std::nullopt;
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  return is_commit_hash(commit) ? std::optional<std::string>(commit) : std::nullopt;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (revision == commit) return;
  const fs::path ref = root_ / "refs" / revision;  // a branch "a/b" nests, as huggingface_hub does
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  if (commit_of(revision) == commit) return;
  const fs::path tmp = ref.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out) throw HubError(HubError::Kind::Io, "cannot write " + tmp.string());
  }
  fs::rename(tmp, ref, ec);
  if (ec) throw HubError(HubError::Kind::Io, "cannot write " + ref.string() + ": " + ec.message());
}

void RepoCache::link(const std::string& commit, const std::string& file, const std::string& etag) const {
  const fs::path pointer = snapshot(commit) / file;
  std::error_code ec;
  fs::create_directories(pointer.parent_path(), ec);
  const fs::path target = blob(etag).lexically_relative(pointer.parent_path());
  if (fs::is_symlink(pointer, ec)) {
    if (fs::read_symlink(pointer, ec) == target) return;
    fs::remove(pointer, ec);
  }
  fs::create_symlink(target, pointer, ec);
  if (ec) throw HubError(HubError::Kind::Io, "cannot create the link " + pointer.string() + ": " + ec.message());
}

const std::vector<std::string>& model_side_files() {
  static const std::vector<std::string> files = {
      "config.json",      "generation_config.json",  "tokenizer.json",
      "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"};
  return files;
}

std::vector<std::string> weight_files_in(const fs::path& dir) {
  std::error_code ec;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    std::ifstream in(index);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object()) return {};
    std::set<std::string> shards;
    for (const auto& [tensor, file] : doc["weight_map"].items()) {
      if (file.is_string()) shards.insert(file.get<std::string>());
    }
    std::vector<std::string> files = {index.filename().string()};
    files.insert(files.end(), shards.begin(), shards.end());
    return files;
  }
  if (fs::exists(dir / "model.safetensors", ec)) return {"model.safetensors"};
  return {};
}

bool is_complete_model(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  const std::vector<std::string> weights = weight_files_in(dir);
  if (weights.empty()) return false;
  for (const std::string& f : weights) {
    if (!fs::is_regular_file(dir / f, ec)) return false;
  }
  return true;
}

}  // namespace gemma4::hub
