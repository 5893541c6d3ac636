// pull_model: one revision of a Hub repository into the Hugging Face cache, downloading only what
// the cache lacks, several files at a time.
#include <sys/statvfs.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "gemma4/hub.h"
#include "hub/blob_download.h"
#include "hub/cache_layout.h"
#include "hub/progress_format.h"
#include "hub/progress_reporter.h"
#include "hub/remote_files.h"

namespace gemma4 {

namespace fs = std::filesystem;
using namespace hub;

namespace {

struct PullContext {
  const ModelRef& ref;
  const ResolveOptions& options;
  RepoCache cache;
  ErrorContext errors;
  std::string commit;
  PullResult result;
};

// Free bytes on the file system that holds `dir` (or its nearest existing parent).
uint64_t free_bytes(fs::path dir) {
  std::error_code ec;
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return ~uint64_t{0};  // unknown: let the write tell
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

void check_disk_space(const PullContext& ctx, uint64_t needed) {
  const fs::path blobs = ctx.cache.root() / "blobs";
  const uint64_t free = free_bytes(blobs);
  if (needed > free)
    throw HubError(HubError::Kind::DiskSpace, "not enough free disk space for " + ctx.ref.repo_id + ": the download needs " +
                                                  format_bytes(needed) + " in " + blobs.string() + ", " + format_bytes(free) +
                                                  " are free (HF_HUB_CACHE moves the cache)");
}

// Downloads `files` with up to options.parallel_files transfers at once; the first failure
// cancels the others and is rethrown.
void download_all(PullContext& ctx, const std::vector<RemoteFile>& files) {
  TransferState state;
  std::atomic<int> files_done{0};
  DownloadProgress initial;
  initial.repo_id = ctx.ref.repo_id;
  initial.files_total = static_cast<int>(files.size());
  for (const RemoteFile& f : files) {
    initial.bytes_total += f.size;
    state.bytes_done += partial_bytes(ctx.cache, f);
  }
  const std::vector<std::string> headers = auth_headers(ctx.options.hub);
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (size_t i; (i = next++) < files.size() && !state.cancel;) {
      try {
        ErrorContext errors = ctx.errors;
        errors.file = files[i].name;
        download_blob(ctx.cache, files[i], headers, errors, state);
        ++files_done;
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        state.cancel = true;
      }
    }
  };
  {
    ProgressReporter reporter(ctx.options.progress, initial, state.bytes_done, files_done);
    const size_t n = std::clamp<size_t>(static_cast<size_t>(std::max(ctx.options.parallel_files, 1)), 1, files.size());
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  for (const RemoteFile& f : files) ctx.result.bytes_downloaded += f.size;
  ctx.result.files_downloaded += static_cast<int>(files.size());
}

// Brings `names` into snapshots/<commit>/: present links are kept, blobs already in the cache
// (shared with another revision) are linked, the rest downloaded.
void ensure_files(PullContext& ctx, const std::vector<std::string>& names) {
  const fs::path snapshot = ctx.cache.snapshot(ctx.commit);
  std::vector<RemoteFile> missing;
  std::vector<std::pair<std::string, std::string>> links;  // (file, etag)
  uint64_t needed = 0;
  for (const std::string& name : names) {
    if (!is_safe_repo_path(name))
      throw HubError(HubError::Kind::Protocol, "model " + ctx.ref.repo_id + " lists an unsafe file name '" + name + "'");
    ctx.result.files.push_back(name);
    std::error_code ec;
    if (fs::is_regular_file(snapshot / name, ec)) continue;
    RemoteFile f = fetch_file_metadata(ctx.ref, ctx.commit, name, ctx.options.hub, ctx.errors);
    links.emplace_back(name, f.etag);
    if (fs::is_regular_file(ctx.cache.blob(f.etag), ec)) continue;
    needed += f.size - partial_bytes(ctx.cache, f);
    missing.push_back(std::move(f));
  }
  if (!missing.empty()) {
    check_disk_space(ctx, needed);
    // Largest first, so that the long transfer starts at once and small files fill in beside it.
    std::sort(missing.begin(), missing.end(), [](const RemoteFile& a, const RemoteFile& b) { return a.size > b.size; });
    download_all(ctx, missing);
  }
  for (const auto& [name, etag] : links) ctx.cache.link(ctx.commit, name, etag);
}

PullResult from_cache(const ModelRef& ref, const RepoCache& cache) {
  PullResult r;
  r.from_cache_only = true;
  auto commit = cache.commit_of(ref.revision);
  if (!commit || !is_complete_model(cache.snapshot(*commit))) return r;
  r.commit = *commit;
  r.snapshot = cache.snapshot(*commit);
  for (const std::string& f : model_side_files()) {
    if (fs::exists(r.snapshot / f)) r.files.push_back(f);
  }
  for (const std::string& f : weight_files_in(r.snapshot)) r.files.push_back(f);
  return r;
}

}  // namespace

PullResult pull_model(const ModelRef& ref, const ResolveOptions& options) {
  const HubSettings& hub = options.hub;
  PullContext ctx{ref, options, RepoCache(hub.cache_dir, ref.repo_id), {}, {}, {}};
  ctx.errors = ErrorContext{hub.endpoint, ref.repo_id, ref.revision, "", !hub.token.empty()};
  if (hub.offline) {
    PullResult cached = from_cache(ref, ctx.cache);
    if (cached.snapshot.empty())
      throw HubError(HubError::Kind::Offline,
                     "model " + ref.repo_id + "@" + ref.revision + " is not in the cache " + hub.cache_dir.string() +
                         " and HF_HUB_OFFLINE=1 forbids downloading it; unset HF_HUB_OFFLINE to download it");
    return cached;
  }
  RepoRevision revision;
  try {
    revision = fetch_revision(ref, hub, ctx.errors);
  } catch (const HubError& e) {
    if (e.kind() != HubError::Kind::Network) throw;
    PullResult cached = from_cache(ref, ctx.cache);  // no network: the cache stands in, as in huggingface_hub
    if (cached.snapshot.empty()) throw_unreachable(e, ctx.errors);
    return cached;
  }
  ctx.commit = revision.commit;
  ctx.result.commit = revision.commit;
  ctx.result.snapshot = ctx.cache.snapshot(revision.commit);
  ctx.cache.write_ref(ref.revision, revision.commit);
  ensure_files(ctx, files_to_pull(revision, ctx.errors));
  // The shards are known once the index is in place.
  std::vector<std::string> weights = weight_files_in(ctx.result.snapshot);
  if (weights.size() > 1) ensure_files(ctx, {weights.begin() + 1, weights.end()});
  if (!is_complete_model(ctx.result.snapshot))
    throw HubError(HubError::Kind::Protocol, "model " + ref.repo_id + " is incomplete after the download (" +
                                                 ctx.result.snapshot.string() + ")");
  return ctx.result;
}

std::filesystem::path resolve_model(const std::string& ref, const ResolveOptions& options) {
  std::error_code ec;
  if (!ref.empty() && fs::exists(ref, ec)) return ref;
  const std::string name = ref.empty() ? kDefaultModel : ref;
  const std::optional<ModelRef> model = parse_model_ref(name);
  if (!model) return ref;  // not a Hub id: the loader reports the missing folder in its own words
  if (options.prefer_cache) {
    PullResult cached = from_cache(*model, RepoCache(options.hub.cache_dir, model->repo_id));
    if (!cached.snapshot.empty()) return cached.snapshot;
  }
  try {
    return pull_model(*model, options).snapshot;
  } catch (const HubError& e) {
    if (e.kind() != HubError::Kind::NotFound || ref.empty()) throw;
    throw HubError(e.kind(), "there is no folder '" + ref + "', and " + e.what());
  }
}

}  // namespace gemma4
