#include "cli/answer_printer.h"

#include <cstdio>
#include <unistd.h>

namespace gemma4::cli {

AnswerPrinter::AnswerPrinter() : stderr_tty_(isatty(STDERR_FILENO)) {}

void AnswerPrinter::on_text(const std::string& text) { print(parser_.push(text)); }

void AnswerPrinter::finish() {
  print(parser_.finish());
  if (in_reasoning_) {
    std::fputs(stderr_tty_ ? "\033[0m\n" : "\n", stderr);
    in_reasoning_ = false;
  }
  if (printed_content_) std::fputc('\n', stdout);
  std::fflush(stdout);
}

void AnswerPrinter::print(const std::vector<OutputEvent>& events) {
  for (const auto& e : events) {
    switch (e.kind) {
      case OutputEventKind::reasoning:
        if (!in_reasoning_) {
          std::fputs(stderr_tty_ ? "\033[2m[thinking] " : "[thinking] ", stderr);
          in_reasoning_ = true;
        }
        std::fputs(e.text.c_str(), stderr);
        std::fflush(stderr);
        break;
      case OutputEventKind::content:
        if (in_reasoning_) {
          std::fputs(stderr_tty_ ? "\033[0m\n" : "\n", stderr);
          in_reasoning_ = false;
        }
        std::fputs(e.text.c_str(), stdout);
        std::fflush(stdout);
        printed_content_ = true;
        break;
      case OutputEventKind::tool_call:
        std::fprintf(stdout, "%s[tool call] %s %s%s\n", printed_content_ ? "\n" : "", e.tool_call.name.c_str(),
                     e.tool_call.error.empty() ? e.tool_call.arguments.dump().c_str() : e.tool_call.raw.c_str(),
                     e.tool_call.error.empty() ? "" : (" (unparsed: " + e.tool_call.error + ")").c_str());
        printed_content_ = false;
        break;
    }
  }
}

std::string speed_summary(const RequestResult& r) {
  int64_t fed = r.prompt_tokens - r.cached_tokens;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "prompt %lld tokens (%lld cached) in %.2f s, %.1f tok/s | %lld tokens in %.2f s, %.1f tok/s | %s",
                static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.cached_tokens),
                r.prefill_seconds, r.prefill_seconds > 0 ? fed / r.prefill_seconds : 0.0,
                static_cast<long long>(r.completion_tokens), r.decode_seconds,
                r.decode_seconds > 0 ? r.completion_tokens / r.decode_seconds : 0.0, finish_reason_name(r.finish));
  std::string summary = buf;
  if (r.drafted_tokens > 0)
    summary += " | drafts " + std::to_string(r.accepted_drafts) + " of " + std::to_string(r.drafted_tokens) + " accepted";
  return summary;
}

}  // namespace gemma4::cli
