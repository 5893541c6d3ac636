#pragma once
// Streams a model answer to the terminal: the final content on stdout, the reasoning apart (on
// stderr, dimmed on a terminal) so that stdout holds only the answer.
#include <string>

#include "gemma4/engine.h"
#include "gemma4/output_parser.h"

namespace gemma4::cli {

class AnswerPrinter {
 public:
  AnswerPrinter();
  void on_text(const std::string& text);  // a decoded text delta from generate()
  void finish();                          // flushes held-back text, ends the line
  const ParsedOutput& parsed() const { return parser_.result(); }

 private:
  void print(const std::vector<OutputEvent>& events);

  OutputParser parser_;
  bool stderr_tty_;
  bool in_reasoning_ = false;
  bool printed_content_ = false;
};

// "prompt 24 tokens (0 cached) in 0.10 s, 240 tok/s | 32 tokens in 0.5 s, 64 tok/s | stop"
std::string speed_summary(const RequestResult& r);

}  // namespace gemma4::cli
