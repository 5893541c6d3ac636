#pragma once
// Streaming parser for Gemma 4 model output (CHAT_FORMAT.md §3.7-3.8): splits the generated text
// into reasoning (`<|channel>thought\n … <channel|>`), final content, and tool calls
// (`<|tool_call>call:NAME{…}<tool_call|>`, arguments in the value DSL, returned as JSON).
//
// Feed it text decoded *with* special tokens (the markers are special tokens) in chunks of any
// size: a marker split across chunks is held back until it is complete or proven not to be a
// marker. Stop markers (`<turn|>`, `<|tool_response>`, `<eos>`) end parsing; anything after them
// is ignored. Malformed or truncated tool calls are reported with an error message, never thrown.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct ToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
  std::string raw;    // the text between <|tool_call> and <tool_call|>
  std::string error;  // empty when the call parsed; otherwise why it did not
};

enum class OutputEventKind { reasoning, content, tool_call };

struct OutputEvent {
  OutputEventKind kind = OutputEventKind::content;
  std::string text;    // the text delta for reasoning / content events
  ToolCall tool_call;  // for tool_call events
};

struct ParsedOutput {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;
};

struct OutputParserOptions {
  // The prompt already ends inside a thought channel (the generation prompt after a tool response
  // with thinking on ends with `<|channel>thought\n`), so output starts as reasoning.
  bool starts_in_reasoning = false;
};

class OutputParser {
 public:
  explicit OutputParser(OutputParserOptions options = {});

  std::vector<OutputEvent> push(std::string_view text_delta);
  // Emits whatever was held back (a truncated tool call is reported with an error).
  std::vector<OutputEvent> finish();

  const ParsedOutput& result() const { return result_; }
  bool stopped() const { return stopped_; }  // a stop marker was seen

 private:
  enum class State { content, channel_header, reasoning, tool_call };

  void process(std::vector<OutputEvent>& events, bool at_end);
  void emit_text(OutputEventKind kind, std::string_view text, std::vector<OutputEvent>& events);
  void emit_tool_call(std::string_view raw, bool terminated, std::vector<OutputEvent>& events);

  State state_ = State::content;
  std::string buffer_;
  size_t tool_scan_pos_ = 0;      // bytes of a tool-call body already scanned
  bool tool_in_string_ = false;   // inside <|"|>…<|"|> while scanning a tool-call body
  bool stopped_ = false;
  bool finished_ = false;
  ParsedOutput result_;
};

// Parses a complete `call:NAME{…}` body. Never throws: problems are reported in ToolCall::error.
ToolCall parse_tool_call(std::string_view body);

// Convenience: parse a whole generated text at once.
ParsedOutput parse_output(std::string_view text, OutputParserOptions options = {});

}  // namespace gemma4
