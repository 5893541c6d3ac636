// End-to-end checks of `gemma4 tokenize` and `gemma4 render` (the output format is a contract).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

const std::string kData = GEMMA4_TEST_DATA;

struct RunResult {
  int status;
  std::string output;
};

RunResult run(const std::string& arguments) {
  const std::string command = std::string(GEMMA4_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  std::array<char, 4096> buffer{};
  size_t read = 0;
  while ((read = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), read);
  return {pclose(pipe), output};
}

TEST(CliTokenize, PrintsIdsAsOneLineJsonArray) {
  const RunResult result = run("tokenize --model " + kData + "/tokenizer --text '<bos><|turn>user'");
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "[2,105,2364]\n");
}

TEST(CliTokenize, NoSpecialAndTinyModel) {
  RunResult result = run("tokenize --model " + kData + "/tokenizer --text '<|turn>' --no-special");
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output.find("105"), std::string::npos);
  result = run("tokenize --model " + kData + "/tiny-a --text ' Hello'");
  EXPECT_EQ(result.output, "[498]\n");
  result = run("tokenize --model " + kData + "/tokenizer --text ''");
  EXPECT_EQ(result.output, "[]\n");
}

TEST(CliTokenize, BadModelFolderIsAClearError) {
  const RunResult result = run("tokenize --model /nonexistent --text hi");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("error:"), std::string::npos);
}

TEST(CliRender, PrintsPromptThenIds) {
  const std::string path = ::testing::TempDir() + "/gemma4_render_messages.json";
  std::ofstream(path) << R"([{"role":"user","content":"Hello!"}])";
  const RunResult result = run("render --model " + kData + "/tokenizer --messages " + path);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output,
            "<bos><|turn>user\nHello!<turn|>\n<|turn>model\n[2,105,2364,107,9259,236888,106,107,105,4368,107]\n");
  std::ofstream(path) << R"([{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}])";
  const RunResult refused = run("render --model " + kData + "/tokenizer --messages " + path);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("JSON string"), std::string::npos);
}

}  // namespace
