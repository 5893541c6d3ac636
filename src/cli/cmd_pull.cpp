// gemma4 pull: downloads a model from the Hugging Face Hub into its cache (the layout `hf download`
// uses, so each tool reuses the other's files) without running it. Prints the model folder on
// stdout, so that `--model "$(gemma4 pull ID)"` works; progress and the summary go to stderr.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gemma4/error.h"
#include "gemma4/hub.h"

namespace gemma4::cli {

namespace {

std::string size_text(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

}  // namespace

void add_pull_command(CLI::App& app) {
  struct Args {
    std::string model = kDefaultModel;
    int parallel = 4;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("pull", "Download a model from the Hugging Face Hub (ID or ID@revision)");
  cmd->add_option("model", args->model, "Hub model id, e.g. google/gemma-4-E2B-it or org/name@revision")
      ->capture_default_str();
  cmd->add_option("--parallel", args->parallel, "Files downloaded at once")->check(CLI::Range(1, 32))->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar");
  cmd->callback([args] {
    const std::optional<ModelRef> ref = parse_model_ref(args->model);
    if (!ref) throw Error("'" + args->model + "' is not a Hub model id (expected org/name or org/name@revision)");
    ResolveOptions options;
    options.parallel_files = args->parallel;
    if (!args->quiet) options.progress = terminal_progress(stderr);
    const PullResult r = pull_model(*ref, options);
    if (r.from_cache_only) {
      std::fprintf(stderr, "%s: the Hub was not asked (%s); using the cached commit %s\n", ref->repo_id.c_str(),
                   options.hub.offline ? "HF_HUB_OFFLINE=1" : "unreachable", r.commit.c_str());
    } else {
      std::fprintf(stderr, "%s@%s is commit %s: %zu files, %d downloaded (%s)\n", ref->repo_id.c_str(),
                   ref->revision.c_str(), r.commit.c_str(), r.files.size(), r.files_downloaded,
                   size_text(r.bytes_downloaded).c_str());
    }
    std::printf("%s\n", r.snapshot.c_str());
  });
}

}  // namespace gemma4::cli
