// gemma4 render: renders a conversation with the Gemma 4 chat template and prints the prompt text,
// then its token ids as a JSON array on the last line (or both as one JSON object with --json).
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {
namespace {

nlohmann::json read_json_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open ") + flag + " file " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(flag) + " file " + path + " is not valid JSON: " + e.what());
  }
}

}  // namespace

void add_render_command(CLI::App& app) {
  struct Args {
    std::string model, messages, tools;
    bool thinking = false, no_generation_prompt = false, preserve_thinking = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("render", "Render a conversation with the chat template and print text and ids");
  add_model_option(*cmd, args->model, "--model");
  cmd->add_option("--messages", args->messages,
                  "JSON file: an array of messages, or an object with \"messages\" (and optionally \"tools\")")
      ->required();
  cmd->add_option("--tools", args->tools, "JSON file with an array of tool declarations");
  cmd->add_flag("--thinking", args->thinking, "Enable thinking (<|think|> in the system turn)");
  cmd->add_flag("--preserve-thinking", args->preserve_thinking, "Keep reasoning of earlier tool-calling turns");
  cmd->add_flag("--no-generation-prompt", args->no_generation_prompt, "Do not end with <|turn>model");
  cmd->add_flag("--json", args->json, "Print {\"prompt\": TEXT, \"ids\": [...]} instead");
  cmd->callback([args] {
    nlohmann::json input = read_json_file(args->messages, "--messages");
    nlohmann::json messages = input, tools = nullptr;
    if (input.is_object()) {
      if (!input.contains("messages")) throw Error("--messages file " + args->messages + " has no \"messages\" array");
      messages = input["messages"];
      if (input.contains("tools")) tools = input["tools"];
    }
    if (!args->tools.empty()) tools = read_json_file(args->tools, "--tools");
    ChatOptions options;
    options.enable_thinking = args->thinking;
    options.preserve_thinking = args->preserve_thinking;
    options.add_generation_prompt = !args->no_generation_prompt;
    const std::string prompt = render_chat(messages, tools, options);
    const Tokenizer tokenizer = Tokenizer::load(model_folder(args->model));
    const auto ids = tokenizer.encode(prompt);
    if (args->json) {
      std::fputs((nlohmann::json{{"prompt", prompt}, {"ids", ids}}.dump() + "\n").c_str(), stdout);
      return;
    }
    std::string out = prompt;
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += nlohmann::json(ids).dump() + "\n";
    std::fputs(out.c_str(), stdout);
  });
}

}  // namespace gemma4::cli
