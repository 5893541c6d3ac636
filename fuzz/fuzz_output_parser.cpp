// Fuzzes the streaming output parser: the text is fed in chunks cut at pseudo-random points
// (seeded by the first input byte, which also picks starts_in_reasoning); the result must equal
// parsing the whole text at once, and the streamed events must add up to the result.
#include <cstdio>
#include <random>

#include "fuzz_util.h"
#include "gemma4/output_parser.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "output parser: %s\n", what);
  std::abort();
}

bool same_calls(const std::vector<gemma4::ToolCall>& a, const std::vector<gemma4::ToolCall>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].arguments != b[i].arguments || a[i].raw != b[i].raw ||
        a[i].error != b[i].error)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  if (size == 0) return 0;
  OutputParserOptions options;
  options.starts_in_reasoning = data[0] & 1;
  std::minstd_rand split(data[0]);
  const std::string_view text = fuzz::as_text(data + 1, size - 1);

  const ParsedOutput whole = parse_output(text, options);
  OutputParser parser(options);
  std::string reasoning, content;
  std::vector<ToolCall> calls;
  const auto collect = [&](const std::vector<OutputEvent>& events) {
    for (const OutputEvent& e : events) {
      if (e.kind == OutputEventKind::reasoning) reasoning += e.text;
      if (e.kind == OutputEventKind::content) content += e.text;
      if (e.kind == OutputEventKind::tool_call) calls.push_back(e.tool_call);
    }
  };
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = std::min<size_t>(text.size() - pos, 1 + split() % 12);
    collect(parser.push(text.substr(pos, n)));
    pos += n;
  }
  collect(parser.finish());
  const ParsedOutput& streamed = parser.result();
  check(streamed.reasoning == whole.reasoning, "reasoning differs between streamed and whole parsing");
  check(streamed.content == whole.content, "content differs between streamed and whole parsing");
  check(same_calls(streamed.tool_calls, whole.tool_calls), "tool calls differ between streamed and whole parsing");
  check(reasoning == streamed.reasoning && content == streamed.content, "events do not add up to the result");
  check(same_calls(calls, streamed.tool_calls), "tool-call events differ from the result");
  return 0;
}
