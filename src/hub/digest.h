#pragma once
// Streaming content hashes that the Hub names files by: sha256 for LFS files (their X-Linked-Etag)
// and git's blob sha1 ("blob <size>\0" + bytes) for regular files (their ETag). OpenSSL's EVP
// interface does the hashing: it is installed everywhere libcurl is, and uses SHA extensions.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace gemma4::hub {

class Digest {
 public:
  enum class Kind { Sha256, GitSha1 };
  // For GitSha1 the final size must be known before the first byte.
  Digest(Kind kind, uint64_t git_size = 0);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(const void* data, size_t n);
  std::string hex();  // finishes the hash

  // The kind an etag names: 64 hex digits sha256, 40 hex digits git sha1, else nullopt-like false.
  static bool kind_of_etag(std::string_view etag, Kind& kind);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Hashes the first `bytes` bytes of `path` into `digest` (resuming a partial download).
void digest_file_prefix(const std::filesystem::path& path, uint64_t bytes, Digest& digest);

}  // namespace gemma4::hub
