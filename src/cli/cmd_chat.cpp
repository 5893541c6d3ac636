// gemma4 chat: an interactive multi-turn conversation that keeps its KV cache between turns, so
// each turn only prefills what differs from the cached prefix.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "cli/answer_printer.h"
#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/generation_flags.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"

namespace gemma4::cli {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

void install_sigint_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a Ctrl-C at the prompt must not break the pending read
  sigaction(SIGINT, &sa, nullptr);
}

const char* kHelp =
    "commands: /reset (new conversation), /system TEXT (set the system prompt and reset),\n"
    "          /think on|off, /stats, /help, /quit (or Ctrl-D). Ctrl-C stops the current answer.\n";

nlohmann::json conversation(const std::string& system, const nlohmann::json& history, const std::string& line) {
  nlohmann::json messages = nlohmann::json::array();
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  for (const auto& m : history) messages.push_back(m);
  messages.push_back({{"role", "user"}, {"content", line}});
  return messages;
}

// The conversation's prompt, leaving room for an answer: when the context is full the oldest
// turns are dropped (the system prompt stays) and stderr says so.
std::vector<int32_t> prompt_that_fits(const Engine& engine, const std::string& system, nlohmann::json& history,
                                      const std::string& line, const ChatOptions& co, const GenerationFlags& f) {
  const int64_t room = std::min<int64_t>(f.max_tokens, f.ctx / 4);
  int dropped = 0;
  while (true) {
    std::vector<int32_t> prompt = engine.encode_chat(conversation(system, history, line), nullptr, co);
    const int64_t n = static_cast<int64_t>(prompt.size());
    if (n + room <= f.ctx || (history.empty() && n < f.ctx)) {
      if (dropped > 0)
        std::fprintf(stderr, "(context full: dropped the %d oldest turn%s to make room)\n", dropped, dropped == 1 ? "" : "s");
      return prompt;
    }
    if (history.empty())
      throw Error("this message needs " + std::to_string(n) + " tokens with the system prompt, but the context holds " +
                  std::to_string(f.ctx) + " (start gemma4 chat with a larger --ctx)");
    history.erase(history.begin(), history.begin() + std::min<size_t>(2, history.size()));
    ++dropped;
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto flags = std::make_shared<GenerationFlags>();
  CLI::App* cmd = app.add_subcommand("chat", "Interactive multi-turn chat on stdin/stdout");
  add_generation_flags(*cmd, *flags);
  cmd->callback([flags] {
    GenerationFlags& f = *flags;
    LoadedModel lm = load_for_generation(f);
    Engine& engine = *lm.engine;
    Request base = make_request(f, engine.defaults());
    const bool interactive = isatty(STDIN_FILENO);
    install_sigint_handler();

    std::string system = f.system;
    bool thinking = f.thinking;
    nlohmann::json history = nlohmann::json::array();
    RequestResult last;
    bool have_last = false;
    if (interactive) std::fprintf(stderr, "gemma4 chat: %s (%s). %s", f.model.c_str(), engine.model()->dtype().c_str(), kHelp);

    std::string line;
    while (true) {
      if (interactive) {
        std::fputs("> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      line = checked_utf8_input(std::move(line), "the input line");
      if (line.empty()) continue;
      if (line[0] == '/') {
        std::string word = line.substr(0, line.find(' '));
        std::string rest = line.size() > word.size() ? line.substr(word.size() + 1) : "";
        if (word == "/quit" || word == "/exit") break;
        if (word == "/reset") {
          history = nlohmann::json::array();
          std::puts("(conversation reset)");
        } else if (word == "/system") {
          system = rest;
          history = nlohmann::json::array();
          std::puts(system.empty() ? "(system prompt cleared, conversation reset)" : "(system prompt set, conversation reset)");
        } else if (word == "/think") {
          if (rest == "on" || rest == "off") {
            thinking = rest == "on";
            std::printf("(thinking %s)\n", thinking ? "on" : "off");
          } else {
            std::puts("usage: /think on|off");
          }
        } else if (word == "/stats") {
          const EngineStats st = engine.stats();
          std::printf("context: %lld of %lld tokens | KV cache: %lld of %lld blocks in use, %lld holding reusable prefixes\n",
                      static_cast<long long>(have_last ? last.prompt_tokens + last.completion_tokens : 0),
                      static_cast<long long>(f.ctx), static_cast<long long>(st.kv_blocks_used),
                      static_cast<long long>(st.kv_blocks_total), static_cast<long long>(st.kv_blocks_cached));
          if (have_last) std::printf("last answer: %s\n", speed_summary(last).c_str());
        } else if (word == "/help") {
          std::fputs(kHelp, stdout);
        } else {
          std::printf("unknown command %s\n%s", word.c_str(), kHelp);
        }
        std::fflush(stdout);
        continue;
      }

      ChatOptions co;
      co.enable_thinking = thinking;
      Request request = base;
      try {
        request.prompt = prompt_that_fits(engine, system, history, line, co, f);
      } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        continue;
      }

      g_interrupted = false;
      AnswerPrinter printer;
      try {
        last = engine.generate(request, [&](const TokenEvent& e) {
          printer.on_text(e.text);
          return !g_interrupted.load();
        });
      } catch (const Error& e) {
        printer.finish();
        std::fprintf(stderr, "error: %s\n", e.what());
        continue;
      }
      printer.finish();
      have_last = true;
      if (last.finish == FinishReason::Cancelled) std::puts("(stopped)");
      if (f.verbose) std::fprintf(stderr, "%s\n", speed_summary(last).c_str());
      // The template drops earlier reasoning, so the history keeps only the answer.
      history.push_back({{"role", "user"}, {"content", line}});
      history.push_back({{"role", "assistant"}, {"content", printer.parsed().content}});
      std::fflush(stdout);
    }
  });
}

}  // namespace gemma4::cli
