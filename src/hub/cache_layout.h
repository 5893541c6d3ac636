#pragma once
// The on-disk layout of the Hugging Face cache, as huggingface_hub writes and reads it:
//   <cache>/models--<org>--<name>/refs/<revision>        commit hash, no newline
//   <cache>/models--<org>--<name>/blobs/<etag>            contents (".incomplete" while downloading)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<f>  relative symlink to ../../blobs/<etag>
//   <cache>/.locks/models--<org>--<name>/<etag>.lock      taken while a blob is written
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gemma4::hub {

bool is_commit_hash(const std::string& revision);  // 40 lower-case hex digits

class RepoCache {
 public:
  RepoCache(const std::filesystem::path& cache_dir, const std::string& repo_id);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blob(const std::string& etag) const { return root_ / "blobs" / etag; }
  std::filesystem::path snapshot(const std::string& commit) const { return root_ / "snapshots" / commit; }
  std::filesystem::path lock_file(const std::string& etag) const;

  // The commit `revision` names here: itself for a commit hash, else the content of refs/<revision>.
  std::optional<std::string> commit_of(const std::string& revision) const;
  // Records refs/<revision> = commit (nothing for a commit hash). Throws HubError(Io) on failure.
  void write_ref(const std::string& revision, const std::string& commit) const;
  // snapshots/<commit>/<file> -> the blob, as a relative link (replacing a stale link).
  void link(const std::string& commit, const std::string& file, const std::string& etag) const;

 private:
  std::filesystem::path cache_dir_, root_;
  std::string folder_;
};

// The files a model folder needs besides the weights that a snapshot may hold.
const std::vector<std::string>& model_side_files();

// The weight files `dir` needs: the index and the shards it lists, or model.safetensors; empty
// when neither is present (or the index cannot be read).
std::vector<std::string> weight_files_in(const std::filesystem::path& dir);

// True when `dir` has config.json and every weight file (links resolving to existing blobs).
bool is_complete_model(const std::filesystem::path& dir);

}  // namespace gemma4::hub
