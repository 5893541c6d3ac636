#pragma once
// Runs the gemma4 binary as a user would: a real process with arguments and stdin, stdout and
// stderr captured apart.
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>

#include "test_util.h"

namespace gemma4::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `gemma4 ARGS` with `input` on stdin.
inline RunResult run_cli(const std::string& args, const std::string& input = "") {
  TempDir tmp;
  const auto in_path = tmp.path() / "stdin", err_path = tmp.path() / "stderr";
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = std::string(GEMMA4_BINARY) + " " + args + " < " + in_path.string() + " 2> " + err_path.string();
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_path);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

}  // namespace gemma4::testing
