#pragma once
// Each `gemma4 <command>` lives in its own cmd_<command>.cpp and registers itself here.
#include <CLI/CLI.hpp>

namespace gemma4::cli {

void add_logits_command(CLI::App& app);

}  // namespace gemma4::cli
