#pragma once
// What the Hub says about a revision and its files: the commit and file list from
// GET /api/models/{id}/revision/{rev}, and each file's etag, size and download location from a
// HEAD on /{id}/resolve/{commit}/{file} (X-Linked-Etag / X-Linked-Size for LFS files, whose HEAD
// answers with a redirect to the storage that serves the bytes).
#include <string>
#include <vector>

#include "gemma4/hub.h"
#include "hub/blob_download.h"

namespace gemma4::hub {

struct RepoRevision {
  std::string commit;
  std::vector<std::string> files;  // every file of the revision ("siblings")
};

std::vector<std::string> auth_headers(const HubSettings& settings);

RepoRevision fetch_revision(const ModelRef& ref, const HubSettings& settings, const ErrorContext& context);

RemoteFile fetch_file_metadata(const ModelRef& ref, const std::string& commit, const std::string& file,
                               const HubSettings& settings, const ErrorContext& context);

// The files of a revision the engine needs, weights last: config, generation config, tokenizer
// files, then model.safetensors.index.json (its shards are read from it once downloaded) or
// model.safetensors. Throws HubError(NotFound) when there is no config or no safetensors.
std::vector<std::string> files_to_pull(const RepoRevision& revision, const ErrorContext& context);

// False for names that could escape the snapshot folder ("..", absolute paths, backslashes).
bool is_safe_repo_path(const std::string& name);

}  // namespace gemma4::hub
