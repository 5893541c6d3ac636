#include "hub/blob_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "hub/digest.h"

namespace gemma4::hub {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxAttempts = 5;

// flock() on the lock file huggingface_hub's FileLock also uses (an exclusive flock on Unix).
class BlobLock {
 public:
  explicit BlobLock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~BlobLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  int fd_ = -1;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

uint64_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

constexpr uint64_t kStartOver = ~uint64_t{0};

// One GET from `offset`, appending to the .incomplete file. Returns the bytes the file holds
// afterwards, or kStartOver when it must be discarded (the server ignored or refused the Range).
uint64_t fetch_from(const fs::path& incomplete, uint64_t offset, Digest& digest, const RemoteFile& file,
                    const std::vector<std::string>& headers, const ErrorContext& context, TransferState& state) {
  std::unique_ptr<std::FILE, FileCloser> out(std::fopen(incomplete.c_str(), offset > 0 ? "ab" : "wb"));
  if (!out) throw HubError(HubError::Kind::Io, "cannot write " + incomplete.string());
  uint64_t held = offset;
  bool write_failed = false, start_over = false;
  HttpRequest req;
  req.url = file.url;
  if (file.send_token) req.headers = headers;
  req.range_from = offset;
  req.cancel = &state.cancel;
  req.sink = [&](long status, const char* data, size_t n) {
    if (status == 200 && offset > 0) return !(start_over = true);  // whole file again: not a resume
    if (std::fwrite(data, 1, n, out.get()) != n) return !(write_failed = true);
    digest.update(data, n);
    held += n;
    state.bytes_done += n;
    return true;
  };
  Transport transport = Transport::Ok;
  const HttpResponse r = http_request(req, &transport);
  std::fflush(out.get());
  if (write_failed) throw HubError(HubError::Kind::Io, "cannot write " + incomplete.string() + " (disk full?)");
  if (start_over || r.status == 416) return kStartOver;
  if (transport == Transport::Aborted) throw HubError(HubError::Kind::Network, "download cancelled");
  if (r.status >= 300 || r.status < 200) throw_for_status(r, context);
  return held;
}

// Checks the complete .incomplete file against the etag and moves it to blobs/<etag>.
void finish(const fs::path& incomplete, const fs::path& blob, Digest& digest, bool verifiable, Digest::Kind kind,
            const RemoteFile& file, const ErrorContext& context) {
  std::error_code ec;
  const std::string got = digest.hex();
  if (verifiable && got != file.etag) {
    fs::remove(incomplete, ec);
    throw HubError(HubError::Kind::Checksum,
                   "'" + file.name + "' of " + context.repo_id + " arrived corrupt: its " +
                       (kind == Digest::Kind::Sha256 ? "sha256" : "git sha1") + " is " + got + " but the Hub says " +
                       file.etag + "; the partial file was removed, run the command again to retry");
  }
  fs::rename(incomplete, blob, ec);
  if (ec) throw HubError(HubError::Kind::Io, "cannot move " + incomplete.string() + " into place: " + ec.message());
}

}  // namespace

uint64_t partial_bytes(const RepoCache& cache, const RemoteFile& file) {
  const uint64_t n = size_or_zero(cache.blob(file.etag).string() + ".incomplete");
  return n <= file.size ? n : 0;
}

void download_blob(const RepoCache& cache, const RemoteFile& file, const std::vector<std::string>& headers,
                   const ErrorContext& context, TransferState& state) {
  const fs::path blob = cache.blob(file.etag);
  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  BlobLock lock(cache.lock_file(file.etag));
  if (fs::exists(blob, ec)) {  // another process finished it while we waited
    state.bytes_done += file.size - partial_bytes(cache, file);
    return;
  }
  const fs::path incomplete = blob.string() + ".incomplete";
  Digest::Kind kind = Digest::Kind::Sha256;
  const bool verifiable = Digest::kind_of_etag(file.etag, kind);

  for (int attempt = 1;; ++attempt) {
    const uint64_t offset = size_or_zero(incomplete);
    uint64_t held = offset;
    if (offset > file.size) {
      held = kStartOver;
    } else {
      Digest digest(kind, file.size);
      if (offset > 0) digest_file_prefix(incomplete, offset, digest);
      try {
        if (offset < file.size) held = fetch_from(incomplete, offset, digest, file, headers, context, state);
      } catch (const HubError& e) {
        // A moment without network: retry (resuming) a few times before giving up.
        if (e.kind() != HubError::Kind::Network || state.cancel || attempt >= kMaxAttempts) throw;
      }
      if (held == file.size) return finish(incomplete, blob, digest, verifiable, kind, file, context);
    }
    if (held == kStartOver) {
      state.bytes_done -= std::min<uint64_t>(size_or_zero(incomplete), state.bytes_done);
      fs::remove(incomplete, ec);
    }
    if (attempt >= kMaxAttempts)
      throw HubError(HubError::Kind::Network, "downloading '" + file.name + "' of " + context.repo_id +
                                                  " kept being interrupted (" + std::to_string(size_or_zero(incomplete)) +
                                                  " of " + std::to_string(file.size) +
                                                  " bytes kept); run the command again to resume");
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

}  // namespace gemma4::hub
