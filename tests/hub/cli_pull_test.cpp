// `gemma4 pull` end to end against the fake Hub, the environment set as a user would set it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "hub/fake_hub.h"
#include "test_util.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status;
  std::string out, err;
};

CliRun run(const std::string& env, const std::string& args, const fs::path& tmp) {
  const fs::path err_path = tmp / "stderr.txt";
  const std::string cmd = "env " + env + " " + GEMMA4_BINARY + " " + args + " 2> " + err_path.string();
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  std::ifstream in(err_path);
  std::stringstream err;
  err << in.rdbuf();
  return {WEXITSTATUS(status), out, err.str()};
}

TEST(CliPull, DownloadsOnceThenWorksOffline) {
  testing::FakeHub hub;
  const std::string commit = "89abcdef0123456789abcdef0123456789abcdef";
  hub.add_repo("acme/tiny", testing::tiny_a_repo(commit));
  testing::TempDir home;
  const std::string env = "-u HF_TOKEN -u HF_HUB_CACHE HF_HOME=" + home.path().string() + " HF_ENDPOINT=" + hub.endpoint();

  CliRun first = run(env, "pull acme/tiny", home.path());
  ASSERT_EQ(first.status, 0) << first.err;
  const fs::path snapshot = home.path() / "hub" / "models--acme--tiny" / "snapshots" / commit;
  EXPECT_EQ(first.out, snapshot.string() + "\n");
  EXPECT_NE(first.err.find("4 downloaded"), std::string::npos) << first.err;

  CliRun second = run(env, "pull acme/tiny", home.path());
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_NE(second.err.find("0 downloaded"), std::string::npos) << second.err;

  CliRun offline = run(env + " HF_HUB_OFFLINE=1", "pull acme/tiny", home.path());
  ASSERT_EQ(offline.status, 0) << offline.err;
  EXPECT_EQ(offline.out, first.out);

  CliRun missing = run(env + " HF_HUB_OFFLINE=1", "pull acme/other", home.path());
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("HF_HUB_OFFLINE"), std::string::npos) << missing.err;

  // Every --model takes the id: tokenize and logits run from the cache with the network off.
  CliRun ids = run(env + " HF_HUB_OFFLINE=1", "tokenize --model acme/tiny --text hello", home.path());
  ASSERT_EQ(ids.status, 0) << ids.err;
  CliRun direct = run(env, "tokenize --model " + snapshot.string() + " --text hello", home.path());
  EXPECT_EQ(ids.out, direct.out);
  const fs::path logits = home.path() / "logits.f32";
  CliRun lg = run(env + " HF_HUB_OFFLINE=1", "logits --model acme/tiny@" + commit + " --tokens 2,105 --out " +
                                                 logits.string() + " --dtype q8_0 --no-weight-cache",
                  home.path());
  ASSERT_EQ(lg.status, 0) << lg.err;
  EXPECT_EQ(fs::file_size(logits), 2u * 512u * 4u);

  CliRun bad = run(env, "pull not-an-id", home.path());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("not a Hub model id"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace gemma4
