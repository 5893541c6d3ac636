#include "hub/fake_hub.h"

#include <httplib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "hub/digest.h"
#include "test_util.h"

namespace gemma4::testing {

struct FakeHub::Impl {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  mutable std::mutex mutex;
  std::map<std::string, FakeRepo> repos;
  std::map<std::string, int> counts;
  std::vector<std::string> ranges;
  std::set<std::string> dropped;  // sha256 of transfers already cut once

  void count(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex);
    ++counts[kind];
  }
  // Whether the request may see `repo` (gated repos need their token).
  static bool allowed(const httplib::Request& req, const FakeRepo& repo) {
    return repo.token.empty() || req.get_header_value("Authorization") == "Bearer " + repo.token;
  }
  static void error(httplib::Response& res, int status, const std::string& code) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_content("{\"error\": \"" + code + "\"}", "application/json");
  }
  void api(const httplib::Request& req, httplib::Response& res);
  void resolve(const httplib::Request& req, httplib::Response& res);
  void cdn(const httplib::Request& req, httplib::Response& res);
  // A gated repository's metadata is public; its files need the token.
  const FakeRepo* find_repo(const std::string& id, const httplib::Request& req, httplib::Response& res, bool gate);
};

const FakeRepo* FakeHub::Impl::find_repo(const std::string& id, const httplib::Request& req, httplib::Response& res,
                                         bool gate) {
  auto it = repos.find(id);
  if (it == repos.end()) {
    error(res, 401, "RepoNotFound");  // the Hub does not tell missing from private
    return nullptr;
  }
  if (gate && !allowed(req, it->second)) {
    error(res, 401, "GatedRepo");
    return nullptr;
  }
  return &it->second;
}

void FakeHub::Impl::api(const httplib::Request& req, httplib::Response& res) {
  count("api");
  std::lock_guard<std::mutex> lock(mutex);
  const FakeRepo* repo = find_repo(req.matches[1].str() + "/" + req.matches[2].str(), req, res, /*gate=*/false);
  if (!repo) return;
  const std::string rev = req.matches[3];
  if (rev != "main" && rev != repo->commit) return error(res, 404, "RevisionNotFound");
  std::string siblings;
  for (const auto& [name, bytes] : repo->files) {
    if (!siblings.empty()) siblings += ",";
    siblings += "{\"rfilename\": \"";
    siblings += name;
    siblings += "\"}";
  }
  res.set_content("{\"id\": \"" + req.matches[1].str() + "/" + req.matches[2].str() + "\", \"sha\": \"" + repo->commit +
                      "\", \"siblings\": [" + siblings + "]}",
                  "application/json");
}

void FakeHub::Impl::resolve(const httplib::Request& req, httplib::Response& res) {
  count(req.method == "HEAD" ? "head" : "resolve-get");
  std::lock_guard<std::mutex> lock(mutex);
  const FakeRepo* repo = find_repo(req.matches[1].str() + "/" + req.matches[2].str(), req, res, /*gate=*/true);
  if (!repo) return;
  const std::string rev = req.matches[3], name = req.matches[4];
  if (rev != "main" && rev != repo->commit) return error(res, 404, "RevisionNotFound");
  auto f = repo->files.find(name);
  if (f == repo->files.end()) return error(res, 404, "EntryNotFound");
  res.set_header("X-Repo-Commit", repo->commit);
  if (repo->lfs.count(name)) {
    const std::string sha = FakeHub::sha256_hex(f->second);
    auto claimed = repo->claimed_size.find(name);
    res.status = 302;
    res.set_header("Location", "http://127.0.0.1:" + std::to_string(port) + "/cdn/" + sha);
    res.set_header("X-Linked-Etag", "\"" + sha + "\"");
    res.set_header("X-Linked-Size", std::to_string(claimed != repo->claimed_size.end() ? claimed->second : f->second.size()));
    res.set_header("ETag", "\"" + FakeHub::git_sha1_hex("version https://git-lfs.github.com/spec/v1\n") + "\"");
    return;
  }
  res.set_header("ETag", "\"" + FakeHub::git_sha1_hex(f->second) + "\"");
  res.set_content(f->second, "application/octet-stream");
}

void FakeHub::Impl::cdn(const httplib::Request& req, httplib::Response& res) {
  count("cdn-get");
  std::lock_guard<std::mutex> lock(mutex);
  ranges.push_back(req.get_header_value("Range"));
  const std::string sha = req.matches[1];
  for (const auto& [id, repo] : repos) {
    for (const std::string& name : repo.lfs) {
      const std::string& bytes = repo.files.at(name);
      if (sha256_hex(bytes) != sha) continue;
      std::string served = bytes;
      if (repo.corrupt.count(name)) served[served.size() / 2] ^= 0x5a;
      if (repo.drop_first_transfer.count(name) && dropped.insert(sha).second && !req.has_header("Range")) {
        // Announce the whole file, send half, then close the connection.
        auto shared = std::make_shared<std::string>(served);
        res.set_content_provider(served.size(), "application/octet-stream",
                                 [shared](size_t offset, size_t, httplib::DataSink& sink) {
                                   if (offset >= shared->size() / 2) return false;
                                   sink.write(shared->data(), shared->size() / 2);
                                   return true;
                                 });
        return;
      }
      res.set_content(served, "application/octet-stream");  // httplib answers a Range with 206
      return;
    }
  }
  res.status = 404;
}

FakeHub::FakeHub() : impl_(std::make_unique<Impl>()) {
  Impl* im = impl_.get();
  im->server.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))",
                 [im](const httplib::Request& q, httplib::Response& r) { im->api(q, r); });
  im->server.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))",
                 [im](const httplib::Request& q, httplib::Response& r) { im->resolve(q, r); });
  im->server.Get(R"(/cdn/([0-9a-f]+))", [im](const httplib::Request& q, httplib::Response& r) { im->cdn(q, r); });
  im->port = im->server.bind_to_any_port("127.0.0.1");
  if (im->port <= 0) throw std::runtime_error("fake hub: cannot bind 127.0.0.1");
  im->thread = std::thread([im] { im->server.listen_after_bind(); });
  // The socket already listens (bind_to_any_port); waiting for the accept loop keeps stop() simple.
  while (!im->server.is_running()) std::this_thread::yield();
}

FakeHub::~FakeHub() {
  impl_->server.stop();
  impl_->thread.join();
}

void FakeHub::add_repo(const std::string& id, FakeRepo repo) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->repos[id] = std::move(repo);
}

std::string FakeHub::endpoint() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

int FakeHub::count(const std::string& kind) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto it = impl_->counts.find(kind);
  return it == impl_->counts.end() ? 0 : it->second;
}

std::vector<std::string> FakeHub::cdn_ranges() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->ranges;
}

std::string FakeHub::sha256_hex(const std::string& bytes) {
  hub::Digest d(hub::Digest::Kind::Sha256);
  d.update(bytes.data(), bytes.size());
  return d.hex();
}

std::string FakeHub::git_sha1_hex(const std::string& bytes) {
  hub::Digest d(hub::Digest::Kind::GitSha1, bytes.size());
  d.update(bytes.data(), bytes.size());
  return d.hex();
}

FakeRepo tiny_a_repo(const std::string& commit) {
  FakeRepo repo;
  repo.commit = commit;
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "model.safetensors"}) {
    std::ifstream in(tiny_a_dir() / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    repo.files[name] = s.str();
  }
  repo.files["README.md"] = "# tiny-a\nnot needed by the engine\n";
  repo.lfs = {"model.safetensors"};
  return repo;
}

}  // namespace gemma4::testing
