// render_chat: the Gemma 4 E2B chat template (2026-07-09) rule by rule, following
// docs/CHAT_FORMAT.md §3. Comments name the rule each block implements.
#include <optional>
#include <string>
#include <vector>

#include "chat/python_text.h"
#include "chat/tool_dsl.h"
#include "gemma4/chat.h"
#include "gemma4/error.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

const json& member(const json& object, const char* key) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  const auto found = object.find(key);
  return found == object.end() ? null_value : *found;
}

std::string message_name(size_t index) { return "messages[" + std::to_string(index) + "]"; }

const std::string& role_of(const json& message, size_t index) {
  if (!message.is_object()) throw Error(message_name(index) + " is not an object");
  const json& role = member(message, "role");
  if (!role.is_string()) throw Error(message_name(index) + " has no string \"role\"");
  return role.get_ref<const std::string&>();
}

// §3.2.6 strip_thinking: drop every <|channel>…<channel|> span, unclosed tails and stray tags.
std::string strip_thinking(std::string_view text) {
  static constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>";
  std::string kept;
  size_t start = 0;
  while (true) {
    const size_t close = text.find(kClose, start);
    const std::string_view part = text.substr(start, close == std::string_view::npos ? std::string_view::npos : close - start);
    kept += part.substr(0, part.find(kOpen));
    if (close == std::string_view::npos) break;
    start = close + kClose.size();
  }
  return std::string(python::strip(kept));
}

// A view into the request's JSON: a prompt's text is copied once, into the rendered prompt.
std::string_view text_of_part(const json& part, const std::string& where) {
  const json& text = member(part, "text");
  if (text.is_null()) return "";
  if (!text.is_string()) throw Error(where + ".text is not a string");
  return text.get_ref<const std::string&>();
}

// The bytes of the messages' text, so the rendered prompt is allocated once for a long prompt.
size_t text_bytes(const json& messages) {
  size_t bytes = 0;
  for (const json& message : messages) {
    if (!message.is_object()) continue;
    const auto content = message.find("content");
    if (content == message.end()) continue;
    if (content->is_string()) bytes += content->get_ref<const std::string&>().size();
    if (!content->is_array()) continue;
    for (const json& part : *content) {
      if (!part.is_object()) continue;
      const auto text = part.find("text");
      if (text != part.end() && text->is_string()) bytes += text->get_ref<const std::string&>().size();
    }
  }
  return bytes;
}

// Media placeholder for a content part, or nullopt for a part that is not media.
std::optional<std::string_view> media_token(const std::string& type) {
  if (type == "image" || type == "image_url") return "<|image|>";
  if (type == "audio" || type == "input_audio") return "<|audio|>";
  if (type == "video") return "<|video|>";
  return std::nullopt;
}

std::string part_type(const json& part, const std::string& where) {
  if (!part.is_object()) throw Error(where + " is not an object");
  const json& type = member(part, "type");
  return type.is_string() ? type.get<std::string>() : "";
}

// §3.1: the first system/developer message's content inside the system turn.
std::string system_content(const json& content, const std::string& where) {
  if (content.is_null()) return "";
  if (content.is_string()) return std::string(python::strip(content.get<std::string>()));
  if (!content.is_array()) throw Error(where + ".content must be a string or an array of parts");
  std::string out;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_where = where + ".content[" + std::to_string(i) + "]";
    if (!content[i].is_object()) throw Error(part_where + " is not an object");
    out += python::strip(text_of_part(content[i], part_where));
    out += ' ';
  }
  return out;
}

std::string tool_response_block(const std::string& name, const json& response) {
  std::string out = "<|tool_response>response:" + name + "{";
  if (response.is_object()) {
    bool first = true;
    for (const auto& [key, value] : python::dictsort(response)) {
      if (!first) out += ',';
      first = false;
      out += key + ":" + format_dsl_value(*value, false);
    }
  } else {
    out += "value:" + format_dsl_value(response, false);
  }
  return out + "}<tool_response|>";
}

// §3.2.4 one tool call.
std::string tool_call_text(const json& call, const std::string& where) {
  if (!call.is_object()) throw Error(where + " is not an object");
  const json& function = call.contains("function") ? call["function"] : call;
  if (!function.is_object()) throw Error(where + ".function is not an object");
  const json& name = member(function, "name");
  if (!name.is_string()) throw Error(where + ".function has no string \"name\"");
  const std::string& function_name = name.get_ref<const std::string&>();
  std::string out = "<|tool_call>call:" + function_name + "{";
  const json& arguments = member(function, "arguments");
  if (arguments.is_object()) {
    bool first = true;
    for (const auto& [key, value] : python::dictsort(arguments)) {
      if (!first) out += ',';
      first = false;
      out += key + ":" + format_dsl_value(*value, false);
    }
  } else if (arguments.is_string()) {
    if (!python::strip(arguments.get<std::string>()).empty()) {
      // The official template's refusal, word for word.
      throw Error("Tool call arguments for function \"" + function_name +
                  "\" were passed as a JSON string. Parse them into an object before calling apply_chat_template. (" +
                  where + ")");
    }
  } else if (!arguments.is_null()) {
    throw Error(where + ".function.arguments must be an object or null, not " + std::string(arguments.type_name()));
  }
  return out + "}<tool_call|>";
}

class ChatRenderer {
 public:
  ChatRenderer(const json& messages, const json& tools, const ChatOptions& options)
      : messages_(messages), tools_(tools), options_(options) {}

  std::string render() {
    if (!messages_.is_array()) throw Error("messages must be a JSON array");
    if (!tools_.is_null() && !tools_.is_array()) throw Error("tools must be a JSON array or null");
    for (size_t i = 0; i < messages_.size(); ++i) (void)role_of(messages_[i], i);

    out_.reserve(text_bytes(messages_) + 256);
    out_ = "<bos>";
    size_t first = 0;
    const bool first_is_system = !messages_.empty() && (role_of(messages_[0], 0) == "system" || role_of(messages_[0], 0) == "developer");
    const bool has_tools = tools_.is_array() && !tools_.empty();
    // §3.1 header.
    if (options_.enable_thinking || has_tools || first_is_system) {
      out_ += "<|turn>system\n";
      if (options_.enable_thinking) out_ += "<|think|>\n";
      if (first_is_system) {
        out_ += system_content(member(messages_[0], "content"), message_name(0));
        first = 1;
      }
      if (has_tools) {
        for (size_t i = 0; i < tools_.size(); ++i) {
          out_ += "<|tool>";
          out_ += python::strip(format_function_declaration(tools_[i], i));
          out_ += "<tool|>";
        }
      }
      out_ += "<turn|>\n";
    }
    for (size_t i = first; i < messages_.size(); ++i) indices_.push_back(i);

    // §3.2 last user message among the loop messages.
    std::optional<size_t> last_user;
    for (size_t k = 0; k < indices_.size(); ++k) {
      if (role(k) == "user") last_user = k;
    }
    std::optional<size_t> last_non_tool;
    for (size_t k = 0; k < indices_.size(); ++k) {
      if (role(k) != "tool") last_non_tool = k;
    }

    bool ended_with_tool_call = false, ended_with_tool_response = false;
    for (size_t k = 0; k < indices_.size(); ++k) {
      if (role(k) == "tool") continue;  // consumed by the assistant message before it, or dropped
      ended_with_tool_call = ended_with_tool_response = false;
      render_message(k, last_user, last_non_tool, ended_with_tool_call, ended_with_tool_response);
    }

    // §3.3 generation prompt.
    if (options_.add_generation_prompt) {
      if (ended_with_tool_call || ended_with_tool_response) {
        if (ended_with_tool_response && options_.enable_thinking) out_ += "<|channel>thought\n";
      } else {
        out_ += "<|turn>model\n";
      }
    }
    return std::move(out_);
  }

 private:
  const std::string& role(size_t k) const { return role_of(message(k), indices_[k]); }
  const json& message(size_t k) const { return messages_[indices_[k]]; }
  std::string where(size_t k) const { return message_name(indices_[k]); }

  std::optional<size_t> previous_non_tool(size_t k) const {
    for (size_t j = k; j-- > 0;) {
      if (role(j) != "tool") return j;
    }
    return std::nullopt;
  }
  std::optional<size_t> next_non_tool(size_t k) const {
    for (size_t j = k + 1; j < indices_.size(); ++j) {
      if (role(j) != "tool") return j;
    }
    return std::nullopt;
  }

  void render_message(size_t k, std::optional<size_t> last_user, std::optional<size_t> last_non_tool,
                      bool& ended_with_tool_call, bool& ended_with_tool_response) {
    const json& msg = message(k);
    const std::string turn_role = role(k) == "assistant" ? "model" : role(k);
    const std::string here = where(k);

    // §3.2.2 consecutive assistant messages share one model turn.
    const auto previous = previous_non_tool(k);
    const bool continues_model_turn = turn_role == "model" && previous && role(*previous) == "assistant";
    if (!continues_model_turn) out_ += "<|turn>" + turn_role + "\n";

    // §3.2.3 thinking.
    const json& tool_calls = member(msg, "tool_calls");
    const bool has_tool_calls = python::truthy(tool_calls);
    if (has_tool_calls && !tool_calls.is_array()) throw Error(here + ".tool_calls must be an array");
    const json* thinking = &member(msg, "reasoning");
    if (!python::truthy(*thinking)) thinking = &member(msg, "reasoning_content");
    const bool after_last_user = !last_user || k > *last_user;
    if (python::truthy(*thinking) && (after_last_user || (options_.preserve_thinking && has_tool_calls))) {
      if (!thinking->is_string()) throw Error(here + ".reasoning_content must be a string");
      out_ += "<|channel>thought\n" + thinking->get<std::string>() + "\n<channel|>";
    }

    // §3.2.4 tool calls.
    if (has_tool_calls) {
      for (size_t c = 0; c < tool_calls.size(); ++c) {
        out_ += tool_call_text(tool_calls[c], here + ".tool_calls[" + std::to_string(c) + "]");
      }
      ended_with_tool_call = true;
    }

    // §3.2.5 tool responses.
    bool responses_rendered = false;
    const json& native_responses = member(msg, "tool_responses");
    if (python::truthy(native_responses)) {
      if (!native_responses.is_array()) throw Error(here + ".tool_responses must be an array");
      for (const json& response : native_responses) {
        const json& name = member(response, "name");
        out_ += tool_response_block(name.is_null() ? "unknown" : python::to_str(name), member(response, "response"));
        responses_rendered = true;
        ended_with_tool_response = true;
      }
    } else if (has_tool_calls) {
      for (size_t j = k + 1; j < indices_.size() && role(j) == "tool"; ++j) {
        render_tool_message(message(j), where(j), tool_calls);
        responses_rendered = true;
        ended_with_tool_response = true;
      }
    }

    // §3.2.6 content.
    const size_t length_before_content = out_.size();
    const json& content = member(msg, "content");
    if (content.is_string()) {
      const std::string& text = content.get_ref<const std::string&>();
      if (turn_role == "model") {
        out_ += strip_thinking(text);
      } else {
        out_ += python::strip(text);
      }
    } else if (content.is_array()) {
      for (size_t p = 0; p < content.size(); ++p) {
        const std::string part_where = here + ".content[" + std::to_string(p) + "]";
        const std::string type = part_type(content[p], part_where);
        if (type == "text") {
          const std::string_view text = text_of_part(content[p], part_where);
          if (turn_role == "model") {
            out_ += strip_thinking(text);
          } else {
            out_ += python::strip(text);
          }
        } else if (const auto token = media_token(type)) {
          out_ += *token;
          ended_with_tool_call = ended_with_tool_response = false;
        }
      }
    } else if (!content.is_null()) {
      throw Error(here + ".content must be a string, an array of parts or null");
    }
    const bool has_content = out_.size() > length_before_content;

    // §3.2.7 closing.
    const auto next = next_non_tool(k);
    if (has_tool_calls && !responses_rendered) {
      out_ += "<|tool_response>";
    } else if (turn_role == "model" && next && role(*next) == "assistant") {
      // glued to the next assistant message
    } else if (responses_rendered && !has_content && last_non_tool && k == *last_non_tool) {
      // the model turn stays open after <tool_response|>
    } else {
      out_ += "<turn|>\n";
    }
  }

  void render_tool_message(const json& tool_message, const std::string& here, const json& tool_calls) {
    // Name: the last tool call whose id equals tool_call_id (a missing id equals a missing id),
    // else the message's own name, else "unknown".
    const json& name_member = member(tool_message, "name");
    std::string name = name_member.is_null() ? "unknown" : python::to_str(name_member);
    const json& wanted_id = member(tool_message, "tool_call_id");
    for (const json& call : tool_calls) {
      if (call.is_object() && member(call, "id") == wanted_id) {
        const json& function = call.contains("function") ? call["function"] : call;
        name = python::to_str(member(function, "name"));
      }
    }
    const json& content = member(tool_message, "content");
    if (content.is_array()) {
      std::string text, media;
      for (size_t p = 0; p < content.size(); ++p) {
        const std::string part_where = here + ".content[" + std::to_string(p) + "]";
        const std::string type = part_type(content[p], part_where);
        if (type == "text") {
          text += text_of_part(content[p], part_where);
        } else if (const auto token = media_token(type)) {
          media += *token;
        }
      }
      out_ += tool_response_block(name, text) + media;
    } else {
      out_ += tool_response_block(name, content);
    }
  }

  const json& messages_;
  const json& tools_;
  const ChatOptions& options_;
  std::vector<size_t> indices_;  // messages rendered by the loop (the system message removed)
  std::string out_;
};

}  // namespace

std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools, const ChatOptions& options) {
  return ChatRenderer(messages, tools, options).render();
}

}  // namespace gemma4
