// gemma4 logits: feeds token ids through the KV cache and dumps the logits of every position.
// A contract: the flags and the output format (little-endian float32 [T, vocab]) stay stable.
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "cli/flag_checks.h"
#include "cli/options.h"
#include "gemma4/error.h"
#include "gemma4/model.h"

namespace gemma4::cli {

void add_logits_command(CLI::App& app) {
  struct Args {
    std::string model, tokens, out, dtype = "f32", kv_type = "f32";
    bool dtype_given = false;
    bool no_weight_cache = false;
    int64_t chunk = 512;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("logits", "Compute the logits of every position of a token sequence");
  add_model_option(*cmd, args->model, "--model");
  cmd->add_flag("--no-weight-cache", args->no_weight_cache, "Do not read or write the weight cache");
  cmd->add_option("--tokens", args->tokens, "Comma-separated token ids, e.g. 2,105,2364")->required();
  cmd->add_option("--prefill-chunk", args->chunk,
                  "Tokens fed per forward pass (1 = pure decode; >= T = one prefill)")
      ->check(integer_in(1, 1 << 24));
  cmd->add_option("--out", args->out, "Output file: little-endian float32 [T, vocab]")->required();
  cmd->add_option("--dtype", args->dtype, "Weight type: f32 (exact), bf16, f16, q8_0, q4_0 (a model file: its own)")
      ->each([args](const std::string&) { args->dtype_given = true; });
  cmd->add_option("--kv-type", args->kv_type, "KV cache type: f32, f16, bf16");
  cmd->add_option("--threads", args->threads, "Worker threads (0 = all cores)")->check(thread_count());
  cmd->callback([args] {
    std::vector<int32_t> ids = parse_token_list(args->tokens);
    if (ids.empty()) throw Error("--tokens is empty: give at least one token id");
    const std::filesystem::path dir = model_folder(args->model);
    adopt_model_file_dtype(dir, args->dtype_given, args->dtype);
    auto model = Model::load(dir,
                             {.dtype = args->dtype, .threads = args->threads, .weight_cache = !args->no_weight_cache});
    SessionOptions so;
    so.max_context = static_cast<int64_t>(ids.size());
    so.max_chunk = std::max<int64_t>(1, std::min<int64_t>(args->chunk, static_cast<int64_t>(ids.size())));
    so.kv_type = args->kv_type;
    Session session(model, so);
    std::vector<float> logits;
    session.append_all_logits(ids, args->chunk, logits);
    std::ofstream out(args->out, std::ios::binary);
    if (!out) throw Error("cannot open output file " + args->out);
    out.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * 4));
    if (!out) throw Error("failed writing " + args->out);
    std::fprintf(stderr, "wrote logits [%zu, %lld] to %s\n", ids.size(),
                 static_cast<long long>(model->config().vocab_size), args->out.c_str());
  });
}

}  // namespace gemma4::cli
