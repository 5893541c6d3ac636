// pull_model / resolve_model against the fake Hub: the cache layout huggingface_hub uses, file by
// file; second pulls; gated, missing and corrupt files; resumed transfers; offline use.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gemma4/hub.h"
#include "gemma4/model.h"
#include "hub/fake_hub.h"
#include "test_util.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using testing::FakeHub;
using testing::FakeRepo;
using testing::TempDir;

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class PullTest : public ::testing::Test {
 protected:
  ResolveOptions options() const {
    ResolveOptions o;
    o.hub.endpoint = hub.endpoint();
    o.hub.cache_dir = cache.path();
    o.hub.token.clear();
    o.hub.offline = false;
    return o;
  }
  fs::path repo_dir(const std::string& folder) const { return cache.path() / folder; }

  FakeHub hub;
  TempDir cache;
};

TEST_F(PullTest, LaysOutTheCacheAsHuggingfaceHubDoes) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  hub.add_repo("acme/tiny", repo);
  PullResult r = pull_model({"acme/tiny", "main"}, options());

  const fs::path root = repo_dir("models--acme--tiny");
  EXPECT_EQ(r.commit, kCommit);
  EXPECT_EQ(r.snapshot, root / "snapshots" / kCommit);
  EXPECT_EQ(read_all(root / "refs" / "main"), kCommit);  // no newline, as huggingface_hub writes it
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "model.safetensors"}) {
    SCOPED_TRACE(name);
    const fs::path pointer = r.snapshot / name;
    ASSERT_TRUE(fs::is_symlink(pointer));
    const std::string etag = repo.lfs.count(name) ? FakeHub::sha256_hex(repo.files[name])
                                                  : FakeHub::git_sha1_hex(repo.files[name]);
    EXPECT_EQ(fs::read_symlink(pointer), fs::path("../../blobs") / etag);
    EXPECT_EQ(read_all(root / "blobs" / etag), repo.files[name]);
    EXPECT_TRUE(fs::exists(cache.path() / ".locks" / "models--acme--tiny" / (etag + ".lock")));
  }
  EXPECT_FALSE(fs::exists(r.snapshot / "README.md"));  // only what the engine needs
  for (const auto& e : fs::directory_iterator(root / "blobs"))
    EXPECT_EQ(e.path().extension(), "") << e.path();  // no .incomplete left behind
  EXPECT_EQ(r.files_downloaded, 4);
  EXPECT_EQ(r.bytes_downloaded, repo.files["model.safetensors"].size() + repo.files["config.json"].size() +
                                    repo.files["generation_config.json"].size() + repo.files["tokenizer.json"].size());

  auto model = Model::load(r.snapshot, {.dtype = "f32", .threads = 1, .weight_cache = false});
  EXPECT_EQ(model->config().hidden_size, 64);
}

TEST_F(PullTest, SecondPullDownloadsNothing) {
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  pull_model({"acme/tiny", "main"}, options());
  const int heads = hub.count("head"), cdn = hub.count("cdn-get"), gets = hub.count("resolve-get");
  PullResult again = pull_model({"acme/tiny", "main"}, options());
  EXPECT_EQ(again.files_downloaded, 0);
  EXPECT_EQ(again.bytes_downloaded, 0u);
  EXPECT_EQ(hub.count("head"), heads);
  EXPECT_EQ(hub.count("cdn-get"), cdn);
  EXPECT_EQ(hub.count("resolve-get"), gets);
  EXPECT_EQ(hub.count("api"), 2);  // the revision is still checked for a newer commit
}

TEST_F(PullTest, ResolveUsesACompleteCacheWithoutAskingTheHub) {
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  const fs::path first = resolve_model("acme/tiny", options());
  const int api = hub.count("api");
  EXPECT_EQ(resolve_model("acme/tiny", options()), first);
  EXPECT_EQ(hub.count("api"), api);
  EXPECT_EQ(resolve_model("acme/tiny@" + kCommit, options()), first);
}

TEST_F(PullTest, ResolveKeepsFoldersAndNonIds) {
  EXPECT_EQ(resolve_model(testing::tiny_a_dir().string(), options()), testing::tiny_a_dir());
  EXPECT_EQ(resolve_model("/no/such/folder", options()), fs::path("/no/such/folder"));
  EXPECT_EQ(hub.count("api"), 0);
}

TEST_F(PullTest, GatedRepoNeedsItsToken) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  repo.token = "hf_secret";
  hub.add_repo("acme/gated", repo);
  try {
    pull_model({"acme/gated", "main"}, options());
    FAIL() << "expected a gated-model error";
  } catch (const HubError& e) {
    EXPECT_EQ(e.kind(), HubError::Kind::Gated);
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(hub.endpoint() + "/acme/gated"), std::string::npos) << e.what();
  }
  ResolveOptions o = options();
  o.hub.token = "hf_secret";
  EXPECT_TRUE(fs::exists(pull_model({"acme/gated", "main"}, o).snapshot / "model.safetensors"));
}

TEST_F(PullTest, UnknownModelAndRevisionAreNotFound) {
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  for (const ModelRef& ref : {ModelRef{"acme/nothing", "main"}, ModelRef{"acme/tiny", "v9"}}) {
    try {
      pull_model(ref, options());
      FAIL() << "expected not found";
    } catch (const HubError& e) {
      EXPECT_EQ(e.kind(), HubError::Kind::NotFound) << e.what();
    }
  }
}

TEST_F(PullTest, CorruptDownloadIsRejected) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  repo.corrupt = {"model.safetensors"};
  hub.add_repo("acme/corrupt", repo);
  try {
    pull_model({"acme/corrupt", "main"}, options());
    FAIL() << "expected a checksum error";
  } catch (const HubError& e) {
    EXPECT_EQ(e.kind(), HubError::Kind::Checksum);
    EXPECT_NE(std::string(e.what()).find("sha256"), std::string::npos) << e.what();
  }
  const fs::path root = repo_dir("models--acme--corrupt");
  const std::string sha = FakeHub::sha256_hex(repo.files["model.safetensors"]);
  EXPECT_FALSE(fs::exists(root / "blobs" / sha));
  EXPECT_FALSE(fs::exists(root / "blobs" / (sha + ".incomplete")));
  EXPECT_FALSE(fs::exists(root / "snapshots" / kCommit / "model.safetensors"));
}

TEST_F(PullTest, DroppedConnectionIsResumed) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  repo.drop_first_transfer = {"model.safetensors"};
  hub.add_repo("acme/flaky", repo);
  PullResult r = pull_model({"acme/flaky", "main"}, options());
  EXPECT_EQ(read_all(r.snapshot / "model.safetensors"), repo.files["model.safetensors"]);
  const std::vector<std::string> ranges = hub.cdn_ranges();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(repo.files["model.safetensors"].size() / 2) + "-");
}

TEST_F(PullTest, PartialFileFromAnEarlierRunIsResumed) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  hub.add_repo("acme/tiny", repo);
  const std::string& bytes = repo.files["model.safetensors"];
  const fs::path blobs = repo_dir("models--acme--tiny") / "blobs";
  fs::create_directories(blobs);
  std::ofstream(blobs / (FakeHub::sha256_hex(bytes) + ".incomplete"), std::ios::binary) << bytes.substr(0, 1000);
  PullResult r = pull_model({"acme/tiny", "main"}, options());
  EXPECT_EQ(read_all(r.snapshot / "model.safetensors"), bytes);
  ASSERT_EQ(hub.cdn_ranges().size(), 1u);
  EXPECT_EQ(hub.cdn_ranges()[0], "bytes=1000-");
}

TEST_F(PullTest, NotEnoughDiskSpaceFailsBeforeDownloading) {
  FakeRepo repo = testing::tiny_a_repo(kCommit);
  repo.claimed_size["model.safetensors"] = uint64_t{1} << 60;
  hub.add_repo("acme/huge", repo);
  try {
    pull_model({"acme/huge", "main"}, options());
    FAIL() << "expected a disk-space error";
  } catch (const HubError& e) {
    EXPECT_EQ(e.kind(), HubError::Kind::DiskSpace) << e.what();
  }
  EXPECT_EQ(hub.count("cdn-get"), 0);
}

TEST_F(PullTest, ProgressEndsAtTheTotal) {
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  ResolveOptions o = options();
  std::vector<DownloadProgress> seen;
  o.progress = [&](const DownloadProgress& p) { seen.push_back(p); };
  pull_model({"acme/tiny", "main"}, o);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().finished);
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);
  EXPECT_EQ(seen.back().files_done, 4);
  EXPECT_EQ(seen.back().repo_id, "acme/tiny");
}

TEST_F(PullTest, OfflineModeUsesOnlyTheCache) {
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  ResolveOptions o = options();
  o.hub.offline = true;
  try {
    resolve_model("acme/tiny", o);
    FAIL() << "expected an offline error";
  } catch (const HubError& e) {
    EXPECT_EQ(e.kind(), HubError::Kind::Offline);
    EXPECT_NE(std::string(e.what()).find("HF_HUB_OFFLINE"), std::string::npos) << e.what();
  }
  pull_model({"acme/tiny", "main"}, options());
  const int requests = hub.count("api") + hub.count("head") + hub.count("cdn-get");
  PullResult r = pull_model({"acme/tiny", "main"}, o);
  EXPECT_TRUE(r.from_cache_only);
  EXPECT_EQ(r.commit, kCommit);
  EXPECT_EQ(hub.count("api") + hub.count("head") + hub.count("cdn-get"), requests);
}

TEST_F(PullTest, UnreachableHubFallsBackToTheCacheOrSaysSo) {
  ResolveOptions o = options();
  o.hub.endpoint = "http://127.0.0.1:1";  // nothing listens there
  try {
    pull_model({"acme/tiny", "main"}, o);
    FAIL() << "expected a network error";
  } catch (const HubError& e) {
    EXPECT_EQ(e.kind(), HubError::Kind::Network);
    EXPECT_NE(std::string(e.what()).find("HF_HUB_OFFLINE=1"), std::string::npos) << e.what();
  }
  hub.add_repo("acme/tiny", testing::tiny_a_repo(kCommit));
  pull_model({"acme/tiny", "main"}, options());
  PullResult r = pull_model({"acme/tiny", "main"}, o);
  EXPECT_TRUE(r.from_cache_only);
  EXPECT_EQ(r.commit, kCommit);
}

// A cache written by the layout rules alone, as `hf download` leaves it, is used as is.
TEST_F(PullTest, CacheWrittenByHuggingfaceHubIsUsedWithoutNetwork) {
  const std::string commit = "fedcba9876543210fedcba9876543210fedcba98";
  const fs::path root = repo_dir("models--google--gemma-4-E2B-it");
  fs::create_directories(root / "refs");
  fs::create_directories(root / "blobs");
  fs::create_directories(root / "snapshots" / commit);
  std::ofstream(root / "refs" / "main") << commit;
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "model.safetensors"}) {
    const std::string bytes = read_all(testing::tiny_a_dir() / name);
    const std::string etag = std::string(name) == "model.safetensors" ? FakeHub::sha256_hex(bytes)
                                                                      : FakeHub::git_sha1_hex(bytes);
    std::ofstream(root / "blobs" / etag, std::ios::binary) << bytes;
    fs::create_symlink(fs::path("../../blobs") / etag, root / "snapshots" / commit / name);
  }
  ResolveOptions o = options();
  o.hub.endpoint = "http://127.0.0.1:1";
  const fs::path dir = resolve_model("", o);  // the default model
  EXPECT_EQ(dir, root / "snapshots" / commit);
  o.hub.offline = true;
  EXPECT_EQ(resolve_model("google/gemma-4-E2B-it@main", o), dir);
  auto model = Model::load(dir, {.dtype = "f32", .threads = 1, .weight_cache = false});
  EXPECT_EQ(model->config().hidden_size, 64);
}

}  // namespace
}  // namespace gemma4
