// Model ids, Hub settings from the environment, hashes and progress text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "gemma4/hub.h"
#include "hub/cache_layout.h"
#include "hub/digest.h"
#include "hub/progress_format.h"
#include "hub/remote_files.h"
#include "test_util.h"

namespace gemma4 {
namespace {

TEST(ModelRef, ParsesIdsAndRevisions) {
  auto r = parse_model_ref("google/gemma-4-E2B-it");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo_id, "google/gemma-4-E2B-it");
  EXPECT_EQ(r->revision, "main");
  r = parse_model_ref("org/name@v1.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo_id, "org/name");
  EXPECT_EQ(r->revision, "v1.0");
  for (const char* bad : {"", "name", "a/b/c", "/abs/path", "./x/y", "../x", "org/", "/name", "org/na me",
                          "org/name@", "org/..", "~/models"}) {
    EXPECT_FALSE(parse_model_ref(bad)) << bad;
  }
}

TEST(HubSettings, ReadsTheEnvironmentAsHuggingfaceHub) {
  testing::TempDir home;
  setenv("HF_HOME", home.path().c_str(), 1);
  unsetenv("HF_HUB_CACHE");
  unsetenv("HUGGINGFACE_HUB_CACHE");
  unsetenv("HF_TOKEN");
  unsetenv("HF_TOKEN_PATH");
  setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  std::ofstream(home.path() / "token") << "hf_from_file\n";
  HubSettings s = HubSettings::from_env();
  EXPECT_EQ(s.cache_dir, home.path() / "hub");
  EXPECT_EQ(s.token, "hf_from_file");
  EXPECT_EQ(s.endpoint, "http://mirror.example");
  EXPECT_TRUE(s.offline);
  setenv("HF_TOKEN", "hf_env", 1);
  setenv("HF_HUB_CACHE", "/elsewhere", 1);
  setenv("HF_HUB_OFFLINE", "0", 1);
  s = HubSettings::from_env();
  EXPECT_EQ(s.token, "hf_env");
  EXPECT_EQ(s.cache_dir, "/elsewhere");
  EXPECT_FALSE(s.offline);
  for (const char* v : {"HF_HOME", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_HUB_CACHE"}) unsetenv(v);
}

TEST(HubCache, FolderNamesAndRefs) {
  testing::TempDir dir;
  hub::RepoCache cache(dir.path(), "google/gemma-4-E2B-it");
  EXPECT_EQ(cache.root(), dir.path() / "models--google--gemma-4-E2B-it");
  EXPECT_FALSE(cache.commit_of("main"));
  const std::string commit(40, 'a');
  EXPECT_EQ(cache.commit_of(commit), commit);
  cache.write_ref("main", commit);
  EXPECT_EQ(cache.commit_of("main"), commit);
  EXPECT_TRUE(hub::is_safe_repo_path("sub/model.safetensors"));
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "a\\b", ""}) EXPECT_FALSE(hub::is_safe_repo_path(bad)) << bad;
}

TEST(Digest, KnownVectors) {
  hub::Digest sha(hub::Digest::Kind::Sha256);
  sha.update("abc", 3);
  EXPECT_EQ(sha.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // `git hash-object` of a file holding "hello\n".
  hub::Digest git(hub::Digest::Kind::GitSha1, 6);
  git.update("hello\n", 6);
  EXPECT_EQ(git.hex(), "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST(ProgressFormat, BytesDurationsAndLine) {
  EXPECT_EQ(hub::format_bytes(512), "512 B");
  EXPECT_EQ(hub::format_bytes(1500000), "1.50 MB");
  EXPECT_EQ(hub::format_bytes(10200000000ull), "10.2 GB");
  EXPECT_EQ(hub::format_duration(45), "45s");
  EXPECT_EQ(hub::format_duration(187), "3m07s");
  EXPECT_EQ(hub::format_duration(-1), "?");
  DownloadProgress p;
  p.repo_id = "org/name";
  p.files_total = 7;
  p.files_done = 2;
  p.bytes_total = 10000000000ull;
  p.bytes_done = 1000000000ull;
  p.bytes_per_second = 50000000.0;
  EXPECT_EQ(hub::progress_line(p), "org/name  1.00 GB / 10.0 GB  10%  50.0 MB/s  ETA 3m00s  (2/7 files)");
}

}  // namespace
}  // namespace gemma4
