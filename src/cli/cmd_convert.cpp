// gemma4 convert: writes a model folder as one model file (.g4w, io/model_file.h) with its
// matrices converted to the chosen weight type; `gemma4 verify` checks such a file's checksums.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "gemma4/error.h"
#include "io/model_file.h"
#include "kernels/thread_pool.h"
#include "model/model_file_weights.h"

namespace gemma4::cli {

namespace {

// Progress on one stderr line, a step per whole percent.
std::function<void(double)> percent_line(const char* what, bool quiet) {
  if (quiet || !isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<int>(-1);
  return [what, last](double f) {
    const int p = static_cast<int>(f * 100);
    if (p == *last) return;
    *last = p;
    std::fprintf(stderr, "\r%s: %3d%%", what, p);
    if (p >= 100) std::fputc('\n', stderr);
  };
}

}  // namespace

void add_convert_command(CLI::App& app) {
  struct Args {
    std::string model, out, dtype = "q4_0";
    int threads = 0;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("convert", "Write a model as one converted model file (.g4w) that loads without converting");
  add_model_option(*cmd, args->model);
  cmd->add_option("--dtype", args->dtype, "Weight type of the file's matrices: q4_0, q8_0, bf16, f16, f32")->capture_default_str();
  cmd->add_option("--out", args->out, "The model file to write (e.g. gemma-4-E2B-it-q4_0.g4w)")->required();
  cmd->add_option("--threads,-t", args->threads, "Threads for the conversion (default: all)");
  cmd->add_flag("--quiet", args->quiet, "No progress on stderr");
  cmd->callback([args] {
    ConvertOptions options;
    const auto type = parse_weight_type(args->dtype);
    if (!type) throw Error("unknown dtype '" + args->dtype + "' (choose q4_0, q8_0, bf16, f16 or f32)");
    if (args->threads < 0) throw Error("--threads must be positive");
    options.weight_type = *type;
    ThreadPool pool(args->threads > 0 ? args->threads : hardware_threads());
    options.pool = &pool;
    options.progress = percent_line("convert", args->quiet);
    const auto start = std::chrono::steady_clock::now();
    const ConvertResult r = convert_to_model_file(model_folder(args->model), args->out, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!args->quiet)
      std::fprintf(stderr, "convert: wrote %s (%.1f MB: %zu %s matrices, %zu tensors as stored) in %.1f s\n",
                   args->out.c_str(), static_cast<double>(r.file_bytes) / 1e6, r.matrices, args->dtype.c_str(),
                   r.stored_tensors, seconds);
  });
}

void add_verify_command(CLI::App& app) {
  struct Args {
    std::string file;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("verify", "Check every checksum of a model file (.g4w) that `gemma4 convert` wrote");
  cmd->add_option("file", args->file, "The model file")->required();
  cmd->add_flag("--quiet", args->quiet, "No progress on stderr");
  cmd->callback([args] {
    if (!io::is_model_file(args->file)) {
      std::error_code ec;
      if (!std::filesystem::exists(args->file, ec)) throw Error("file not found: " + args->file);
      throw Error(args->file + " is not a gemma4 model file (.g4w)");
    }
    const io::ModelFile file = io::ModelFile::open(args->file);
    file.verify(percent_line("verify", args->quiet));
    std::printf("%s: ok (%s, %zu matrices, converted from %s)\n", args->file.c_str(), file.weight_type().c_str(),
                file.matrices().size(), file.source().c_str());
  });
}

}  // namespace gemma4::cli
