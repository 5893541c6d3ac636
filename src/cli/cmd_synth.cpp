// gemma4 synth: writes a random checkpoint with the exact tensor layout of a Gemma 4 text model,
// for exercising the loader, memory use and speed without the real weights.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gemma4/error.h"
#include "model/synth/synth_checkpoint.h"

#ifndef GEMMA4_SOURCE_DIR
#define GEMMA4_SOURCE_DIR ""
#endif

namespace gemma4::cli {
namespace {

// The repository's test data holds a tokenizer matching each preset's vocabulary.
std::filesystem::path default_tokenizer(const std::string& preset) {
  const std::filesystem::path data = std::filesystem::path(GEMMA4_SOURCE_DIR) / "tests" / "data";
  return preset == "tiny" ? data / "tiny-a" / "tokenizer.json" : data / "tokenizer" / "tokenizer.json";
}

}  // namespace

void add_synth_command(CLI::App& app) {
  struct Args {
    std::string preset, out, tokenizer;
    uint64_t seed = 0;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a random checkpoint with the real model's tensor layout");
  cmd->add_option("--preset", args->preset, "Architecture: e2b (full size, 9.3 GB) or tiny (like tests/data/tiny-a)")
      ->required();
  cmd->add_option("--out", args->out, "Output folder (created if missing)")->required();
  cmd->add_option("--seed", args->seed, "Random seed; the same seed gives the same bytes");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json to copy into the folder (default: the repository's test tokenizer for the preset)");
  cmd->add_flag("--quiet", args->quiet, "No progress on stderr");
  cmd->callback([args] {
    const synth::SynthConfig cfg = synth::preset_config(args->preset);
    synth::SynthOptions options;
    options.out_dir = args->out;
    options.seed = args->seed;
    options.progress = !args->quiet;
    options.tokenizer_json = args->tokenizer.empty() ? default_tokenizer(args->preset)
                                                             : std::filesystem::path(args->tokenizer);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.tokenizer_json, ec))
      throw Error("tokenizer file " + options.tokenizer_json.string() + " not found; pass --tokenizer PATH");

    const auto start = std::chrono::steady_clock::now();
    synth::write_synth_checkpoint(cfg, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!args->quiet)
      std::fprintf(stderr, "synth: wrote %s checkpoint (%.2f GB) to %s in %.1f s\n", cfg.preset.c_str(),
                   static_cast<double>(synth::synth_total_bytes(cfg)) / 1e9, args->out.c_str(), seconds);
  });
}

}  // namespace gemma4::cli
