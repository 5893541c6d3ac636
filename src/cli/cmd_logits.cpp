#include "cli/commands.h"

namespace gemma4::cli {
void add_logits_command(CLI::App& app) { app.add_subcommand("logits", "Compute logits (in progress)"); }
}  // namespace gemma4::cli
