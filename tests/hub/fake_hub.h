#pragma once
// A fake Hugging Face Hub on 127.0.0.1 (cpp-httplib, in the test process) that behaves like the
// real one where gemma4 depends on it:
//   GET  /api/models/{org}/{name}/revision/{rev}   {"sha", "siblings": [{"rfilename"}]}
//   HEAD/GET /{org}/{name}/resolve/{rev}/{file}     X-Repo-Commit; small files: ETag = git blob sha1;
//        LFS files: 302 to /cdn/{sha256} with X-Linked-Etag = sha256 and X-Linked-Size
//   GET  /cdn/{sha256}                              the bytes, honouring Range
// Errors as the Hub words them (401 + X-Error-Code: GatedRepo on a gated repository's files,
// RepoNotFound, 404 + RevisionNotFound / EntryNotFound),
// and faults on demand: a transfer cut off half-way, bytes that do not match their sha256.
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace gemma4::testing {

struct FakeRepo {
  std::string commit;                          // 40 hex digits
  std::map<std::string, std::string> files;    // name -> bytes
  std::set<std::string> lfs;                   // names served through the /cdn redirect
  std::string token;                           // non-empty: a gated repo needing "Bearer <token>"
  std::set<std::string> corrupt;               // LFS files whose served bytes differ from their sha256
  std::set<std::string> drop_first_transfer;   // LFS files whose first GET ends half-way
  std::map<std::string, uint64_t> claimed_size;  // X-Linked-Size overrides
};

class FakeHub {
 public:
  FakeHub();
  ~FakeHub();

  void add_repo(const std::string& id, FakeRepo repo);
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // Requests seen, by kind: "api", "head", "resolve-get", "cdn-get".
  int count(const std::string& kind) const;
  std::vector<std::string> cdn_ranges() const;  // Range headers of /cdn requests ("" when none)

  static std::string sha256_hex(const std::string& bytes);
  static std::string git_sha1_hex(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// tiny-a's files (config, generation config, tokenizer, model.safetensors as LFS) at `commit`.
FakeRepo tiny_a_repo(const std::string& commit);

}  // namespace gemma4::testing
