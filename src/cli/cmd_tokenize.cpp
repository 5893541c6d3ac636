// gemma4 tokenize: prints the token ids of a text as one JSON array on one line, e.g. [2,105,2364].
// A contract: the flags and the output format stay stable. No <bos> is added (Gemma 4's tokenizer
// never adds one); write "<bos>" in the text to get id 2.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "gemma4/error.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {

void add_tokenize_command(CLI::App& app) {
  struct Args {
    std::string model, text, text_file;
    bool no_special = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text as a JSON array");
  add_model_option(*cmd, args->model, "--model");
  auto* text = cmd->add_option("--text", args->text, "Text to tokenize");
  auto* file = cmd->add_option("--text-file", args->text_file, "Read the text to tokenize from this file");
  text->excludes(file);
  cmd->add_flag("--no-special", args->no_special, "Treat special-token strings such as <|turn> as plain text");
  cmd->callback([args, text, file] {
    if (text->count() == 0 && file->count() == 0) throw Error("tokenize needs --text or --text-file");
    std::string input = args->text;
    if (file->count() > 0) {
      std::ifstream in(args->text_file, std::ios::binary);
      if (!in) throw Error("cannot open --text-file " + args->text_file);
      input.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const Tokenizer tokenizer = Tokenizer::load(model_folder(args->model));
    const auto ids = tokenizer.encode(input, !args->no_special);
    std::string line = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line += ',';
      line += std::to_string(ids[i]);
    }
    line += "]\n";
    std::fputs(line.c_str(), stdout);
  });
}

}  // namespace gemma4::cli
