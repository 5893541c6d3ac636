#pragma once
// Downloads one file into the cache's blobs/ folder: into "<etag>.incomplete", resuming from its
// size with a Range request after an interruption, checked against the etag (sha256 for LFS files,
// git blob sha1 for the others) before it is renamed to blobs/<etag>. The blob's lock file is held
// meanwhile, as huggingface_hub does, so two downloaders never write the same blob.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "hub/cache_layout.h"
#include "hub/hub_errors.h"

namespace gemma4::hub {

struct RemoteFile {
  std::string name;  // in the repository
  std::string etag;  // quotes and W/ removed
  uint64_t size = 0;
  std::string url;   // where the Hub sent us for the bytes
  bool send_token = true;
};

struct TransferState {
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<bool> cancel{false};
};

// Bytes of `file` already on disk in its .incomplete file (counted as done by progress).
uint64_t partial_bytes(const RepoCache& cache, const RemoteFile& file);

// Throws HubError (Checksum, Network after retries, Gated/NotFound by status, Io).
void download_blob(const RepoCache& cache, const RemoteFile& file, const std::vector<std::string>& auth_headers,
                   const ErrorContext& context, TransferState& state);

}  // namespace gemma4::hub
