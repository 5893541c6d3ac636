#pragma once
// Each `gemma4 <command>` lives in its own cmd_<command>.cpp and registers itself here.
#include <CLI/CLI.hpp>

namespace gemma4::cli {

void add_logits_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_batch_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_render_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_pull_command(CLI::App& app);
void add_grammar_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_verify_command(CLI::App& app);

}  // namespace gemma4::cli
