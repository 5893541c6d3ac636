// gemma4: command-line entry point. Commands are registered from cli/commands.h.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/version_text.h"
#include "kernels/cpu_dispatch.h"
#include "gemma4/error.h"

int main(int argc, char** argv) {
  CLI::App app{"gemma4: inference engine for Google's Gemma 4 E2B text model"};
  app.require_subcommand(1);
  app.set_version_flag("--version", gemma4::cli::version_text, "Print the version, git commit and supported kernel paths");

  gemma4::cli::add_logits_command(app);
  gemma4::cli::add_run_command(app);
  gemma4::cli::add_chat_command(app);
  gemma4::cli::add_batch_command(app);
  gemma4::cli::add_bench_command(app);
  gemma4::cli::add_synth_command(app);
  gemma4::cli::add_tokenize_command(app);
  gemma4::cli::add_render_command(app);
  gemma4::cli::add_serve_command(app);
  gemma4::cli::add_pull_command(app);
  gemma4::cli::add_grammar_command(app);
  gemma4::cli::add_convert_command(app);
  gemma4::cli::add_verify_command(app);

  if (const std::string bad = gemma4::kernel_override_error(); !bad.empty()) {
    std::fprintf(stderr, "error: %s\n", bad.c_str());
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version "fail" with exit code 0 and print their text; every real parse or
    // validation error is a user error like any other: one line on stderr, exit code 1.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const gemma4::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
