#pragma once
// Models by name from the Hugging Face Hub, stored exactly as huggingface_hub stores them so that
// a model fetched by `hf download` is reused here and the other way round:
//
//   $HF_HUB_CACHE (default $HF_HOME/hub, $HF_HOME default ~/.cache/huggingface)
//     models--google--gemma-4-E2B-it/
//       refs/main                        the commit the revision "main" resolved to
//       blobs/<etag>                     file contents, named by sha256 (LFS) or git sha1
//       snapshots/<commit>/<file>        relative symlinks -> ../../blobs/<etag>
//
//   auto dir = gemma4::resolve_model("google/gemma-4-E2B-it");   // downloads when missing
//   auto model = gemma4::Model::load(dir, {.dtype = "q4_0"});
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma4/error.h"

namespace gemma4 {

inline constexpr const char* kDefaultModel = "google/gemma-4-E2B-it";

// Where and how to reach the Hub; from_env() reads the variables huggingface_hub reads.
struct HubSettings {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::filesystem::path cache_dir;                   // HF_HUB_CACHE, $HF_HOME/hub
  std::string token;                                 // HF_TOKEN, else the file $HF_TOKEN_PATH / $HF_HOME/token
  bool offline = false;                              // HF_HUB_OFFLINE=1: the cache only
  // HTTPS_PROXY (or https_proxy), http_proxy and NO_PROXY are read by libcurl itself.

  static HubSettings from_env();
};

// "org/name" or "org/name@revision" (a branch, tag or 40-hex commit; default "main").
struct ModelRef {
  std::string repo_id;
  std::string revision = "main";
};
// nullopt when `text` is not of that form (a folder path is never taken for an id by resolve_model).
std::optional<ModelRef> parse_model_ref(std::string_view text);

// Download progress, reported a few times a second and once at the end (finished = true).
struct DownloadProgress {
  std::string repo_id;
  int files_total = 0, files_done = 0;
  uint64_t bytes_total = 0;       // bytes this pull downloads (files already cached excluded)
  uint64_t bytes_done = 0;
  double bytes_per_second = 0;    // recent rate
  double elapsed_seconds = 0;
  bool finished = false;
};
using ProgressCallback = std::function<void(const DownloadProgress&)>;

struct ResolveOptions {
  HubSettings hub = HubSettings::from_env();
  // resolve_model: use a complete cached snapshot of the revision without asking the Hub (false
  // always asks, as `gemma4 pull` does; offline mode never asks).
  bool prefer_cache = true;
  int parallel_files = 4;
  ProgressCallback progress = nullptr;
};

// What the Hub said, typed so that front ends word it; what() already holds a full sentence.
class HubError : public Error {
 public:
  enum class Kind { NotFound, Gated, Network, Offline, Checksum, DiskSpace, Protocol, Io };
  HubError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct PullResult {
  std::filesystem::path snapshot;  // snapshots/<commit>
  std::string commit;
  std::vector<std::string> files;  // every file the model needs, relative to the snapshot
  int files_downloaded = 0;
  uint64_t bytes_downloaded = 0;
  bool from_cache_only = false;    // the Hub was not asked (offline mode, or it was unreachable)
};

// Makes sure the files the engine needs (config, generation config, tokenizer files, the
// safetensors or the index and its shards) are in the cache at `ref`'s revision, downloading what
// is missing in parallel (resumable, sha256-verified), and returns where they are.
PullResult pull_model(const ModelRef& ref, const ResolveOptions& options = {});

// A model folder for `ref`: an existing folder as is, else a Hub id resolved through the cache
// (pull_model when not cached, or always when prefer_cache is false). Throws gemma4::Error when
// `ref` is neither, HubError for Hub failures.
std::filesystem::path resolve_model(const std::string& ref, const ResolveOptions& options = {});

// A progress callback that draws a one-line bar (bytes, rate, ETA) on a terminal, or prints a
// plain line every few seconds otherwise.
ProgressCallback terminal_progress(std::FILE* out);

}  // namespace gemma4
