// Streaming split of model output into reasoning, content and tool calls. A small state machine
// over a text buffer: text that cannot be the start of a marker is emitted at once, a possible
// marker prefix at the end of the buffer is held back until the next chunk decides it.
#include "gemma4/output_parser.h"

#include <algorithm>
#include <array>

#include "chat/python_text.h"
#include "chat/tool_dsl.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"

namespace gemma4 {
namespace {

constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kToolCallOpen = "<|tool_call>";
constexpr std::string_view kToolCallClose = "<tool_call|>";
constexpr std::array<std::string_view, 3> kStopMarkers = {"<turn|>", "<|tool_response>", "<eos>"};

constexpr std::array<std::string_view, 6> kContentMarkers = {kChannelOpen, kChannelClose, kToolCallOpen,
                                                             kStopMarkers[0], kStopMarkers[1], kStopMarkers[2]};
constexpr std::array<std::string_view, 4> kReasoningMarkers = {kChannelClose, kStopMarkers[0], kStopMarkers[1],
                                                               kStopMarkers[2]};
constexpr std::array<std::string_view, 5> kToolCallMarkers = {kDslQuote, kToolCallClose, kStopMarkers[0],
                                                              kStopMarkers[1], kStopMarkers[2]};

// A channel name longer than this means the header is not one; the text is treated as reasoning.
constexpr size_t kMaxChannelHeader = 64;

bool is_stop_marker(std::string_view marker) {
  for (const auto stop : kStopMarkers) {
    if (marker == stop) return true;
  }
  return false;
}

// Earliest occurrence of any marker: (position, marker) or npos.
template <size_t N>
std::pair<size_t, std::string_view> find_first_marker(std::string_view text, const std::array<std::string_view, N>& markers) {
  size_t best = std::string_view::npos;
  std::string_view which;
  for (size_t pos = text.find('<'); pos != std::string_view::npos; pos = text.find('<', pos + 1)) {
    for (const auto marker : markers) {
      if (text.substr(pos).starts_with(marker)) {
        best = pos;
        which = marker;
        break;
      }
    }
    if (best != std::string_view::npos) break;
  }
  return {best, which};
}

// Length of the longest suffix of `text` that is a proper prefix of some marker.
template <size_t N>
size_t partial_marker_suffix(std::string_view text, const std::array<std::string_view, N>& markers) {
  size_t longest_marker = 0;
  for (const auto marker : markers) longest_marker = std::max(longest_marker, marker.size());
  for (size_t length = std::min(text.size(), longest_marker - 1); length > 0; --length) {
    const std::string_view suffix = text.substr(text.size() - length);
    for (const auto marker : markers) {
      if (marker.size() > length && marker.starts_with(suffix)) return length;
    }
  }
  return 0;
}

template <size_t N>
constexpr size_t longest(const std::array<std::string_view, N>& markers) {
  size_t n = 0;
  for (const auto marker : markers) n = std::max(n, marker.size());
  return n;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

}  // namespace

ToolCall parse_tool_call(std::string_view body) {
  ToolCall call;
  call.raw = std::string(body);
  std::string_view text = python::strip(body);
  if (!text.starts_with("call:")) {
    call.error = "tool call does not start with \"call:\"";
    return call;
  }
  text.remove_prefix(5);
  size_t name_end = 0;
  while (name_end < text.size() && is_name_char(text[name_end])) ++name_end;
  call.name = std::string(text.substr(0, name_end));
  if (call.name.empty()) {
    call.error = "tool call has no function name";
    return call;
  }
  const std::string_view arguments = python::strip(text.substr(name_end));
  if (!arguments.starts_with('{')) {
    call.error = "tool call \"" + call.name + "\" has no {arguments}";
    return call;
  }
  try {
    nlohmann::json parsed = parse_dsl_value(arguments);
    if (!parsed.is_object()) {
      call.error = "tool call \"" + call.name + "\" arguments are not an object";
      return call;
    }
    call.arguments = std::move(parsed);
  } catch (const Error& e) {
    call.error = "tool call \"" + call.name + "\": " + e.what();
  }
  return call;
}

OutputParser::OutputParser(OutputParserOptions options) {
  if (options.starts_in_reasoning) state_ = State::reasoning;
}

std::vector<OutputEvent> OutputParser::push(std::string_view text_delta) {
  std::vector<OutputEvent> events;
  if (stopped_ || finished_) return events;
  buffer_.append(text_delta);
  process(events, false);
  return events;
}

std::vector<OutputEvent> OutputParser::finish() {
  std::vector<OutputEvent> events;
  if (finished_) return events;
  if (!stopped_) process(events, true);
  finished_ = true;
  buffer_.clear();
  return events;
}

void OutputParser::emit_text(OutputEventKind kind, std::string_view text, std::vector<OutputEvent>& events) {
  if (text.empty()) return;
  (kind == OutputEventKind::reasoning ? result_.reasoning : result_.content).append(text);
  if (!events.empty() && events.back().kind == kind) {
    events.back().text.append(text);
    return;
  }
  OutputEvent event;
  event.kind = kind;
  event.text = std::string(text);
  events.push_back(std::move(event));
}

void OutputParser::emit_tool_call(std::string_view raw, bool terminated, std::vector<OutputEvent>& events) {
  ToolCall call = parse_tool_call(raw);
  if (!terminated) {
    call.error = "tool call not terminated by <tool_call|>" + (call.error.empty() ? "" : "; " + call.error);
  }
  result_.tool_calls.push_back(call);
  OutputEvent event;
  event.kind = OutputEventKind::tool_call;
  event.tool_call = std::move(call);
  events.push_back(std::move(event));
}

void OutputParser::process(std::vector<OutputEvent>& events, bool at_end) {
  while (!stopped_) {
    if (state_ == State::content || state_ == State::reasoning) {
      const bool in_reasoning = state_ == State::reasoning;
      const OutputEventKind kind = in_reasoning ? OutputEventKind::reasoning : OutputEventKind::content;
      const auto [pos, marker] =
          in_reasoning ? find_first_marker(buffer_, kReasoningMarkers) : find_first_marker(buffer_, kContentMarkers);
      if (pos == std::string::npos) {
        const size_t held = at_end ? 0
                            : in_reasoning ? partial_marker_suffix(buffer_, kReasoningMarkers)
                                           : partial_marker_suffix(buffer_, kContentMarkers);
        emit_text(kind, std::string_view(buffer_).substr(0, buffer_.size() - held), events);
        buffer_.erase(0, buffer_.size() - held);
        return;
      }
      emit_text(kind, std::string_view(buffer_).substr(0, pos), events);
      buffer_.erase(0, pos + marker.size());
      if (is_stop_marker(marker)) {
        stopped_ = true;
        buffer_.clear();
        return;
      }
      if (marker == kChannelOpen) {
        state_ = State::channel_header;
      } else if (marker == kChannelClose) {
        state_ = State::content;  // from reasoning; a stray close tag in content is dropped
      } else if (marker == kToolCallOpen) {
        state_ = State::tool_call;
        tool_scan_pos_ = 0;
        tool_in_string_ = false;
      }
      continue;
    }

    if (state_ == State::channel_header) {
      // The channel name ends at a newline or at a marker ("<|channel>thought<channel|>" is an
      // empty channel), and only counts within kMaxChannelHeader bytes. Every decision depends on
      // those bytes alone, so the result is the same however the text is split into chunks.
      const size_t newline = buffer_.find('\n');
      const size_t marker_pos = find_first_marker(buffer_, kReasoningMarkers).first;
      const size_t name_end = std::min(newline, marker_pos);
      if (name_end != std::string::npos && name_end <= kMaxChannelHeader) {
        buffer_.erase(0, name_end == newline ? newline + 1 : marker_pos);
        state_ = State::reasoning;
        continue;
      }
      // No name end in range; once no marker can still complete inside it, the text is reasoning.
      if (buffer_.size() >= kMaxChannelHeader + longest(kReasoningMarkers) || (at_end && buffer_.size() > kMaxChannelHeader)) {
        state_ = State::reasoning;
        continue;
      }
      if (at_end) buffer_.clear();
      return;
    }

    // State::tool_call: find <tool_call|> outside <|"|> strings.
    size_t pos = tool_scan_pos_;
    bool waiting = false;
    while (pos < buffer_.size()) {
      const std::string_view rest = std::string_view(buffer_).substr(pos);
      if (rest.starts_with(kDslQuote)) {
        tool_in_string_ = !tool_in_string_;
        pos += kDslQuote.size();
        continue;
      }
      if (!tool_in_string_) {
        if (rest.starts_with(kToolCallClose)) break;
        bool stop = false;
        for (const auto marker : kStopMarkers) stop = stop || rest.starts_with(marker);
        if (stop) break;
      }
      if (!at_end && rest.front() == '<' && partial_marker_suffix(rest, kToolCallMarkers) == rest.size()) {
        waiting = true;  // a marker may be arriving
        break;
      }
      ++pos;
    }
    tool_scan_pos_ = pos;
    if (waiting || (pos >= buffer_.size() && !at_end)) return;
    const std::string_view rest = std::string_view(buffer_).substr(pos);
    if (rest.starts_with(kToolCallClose)) {
      emit_tool_call(std::string_view(buffer_).substr(0, pos), true, events);
      buffer_.erase(0, pos + kToolCallClose.size());
      state_ = State::content;
      continue;
    }
    // A stop marker inside the call, or the end of the output: the call is truncated.
    emit_tool_call(std::string_view(buffer_).substr(0, pos), false, events);
    buffer_.clear();
    if (!rest.empty()) stopped_ = true;
    state_ = State::content;
    return;
  }
}

ParsedOutput parse_output(std::string_view text, OutputParserOptions options) {
  OutputParser parser(options);
  parser.push(text);
  parser.finish();
  return parser.result();
}

}  // namespace gemma4
