// gemma4 run: one user turn rendered with the chat format, the answer streamed to stdout.
#include <cstdio>
#include <memory>

#include "cli/answer_printer.h"
#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/generation_flags.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"

namespace gemma4::cli {

void add_run_command(CLI::App& app) {
  struct Args {
    GenerationFlags flags;
    std::string prompt;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("run", "Answer one prompt (rendered as a chat user turn)");
  add_generation_flags(*cmd, args->flags);
  cmd->add_option("prompt", args->prompt, "The user message")->required()->transform(utf8_text("the prompt"));
  cmd->callback([args] {
    const GenerationFlags& f = args->flags;
    LoadedModel lm = load_for_generation(f);
    Engine& engine = *lm.engine;
    nlohmann::json messages = nlohmann::json::array();
    if (!f.system.empty()) messages.push_back({{"role", "system"}, {"content", f.system}});
    messages.push_back({{"role", "user"}, {"content", args->prompt}});
    ChatOptions co;
    co.enable_thinking = f.thinking;
    Request request = make_request(f, engine.defaults());
    request.prompt = engine.encode_chat(messages, nullptr, co);
    AnswerPrinter printer;
    RequestResult result = generate_or_explain(engine, std::move(request), [&](const TokenEvent& e) {
      printer.on_text(e.text);
      return true;
    });
    printer.finish();
    if (f.verbose) std::fprintf(stderr, "%s\n", speed_summary(result).c_str());
  });
}

}  // namespace gemma4::cli
