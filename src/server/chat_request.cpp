#include "server/chat_request.h"

#include <set>

#include "gemma4/grammar.h"
#include "server/api_error.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool"};
const std::set<std::string> kMediaParts = {"image_url", "image", "input_image", "input_audio", "audio", "video",
                                           "file", "input_file"};

void check_content(const json& message, const std::string& where) {
  const auto it = message.find("content");
  if (it == message.end() || it->is_null() || it->is_string()) return;
  if (!it->is_array()) throw invalid_request("'" + where + ".content' must be a string or an array of parts", where + ".content");
  for (size_t j = 0; j < it->size(); ++j) {
    const json& part = (*it)[j];
    const std::string part_where = where + ".content[" + std::to_string(j) + "]";
    if (!part.is_object()) throw invalid_request("'" + part_where + "' must be an object", part_where);
    const std::string type = fields::string(part, "type", part_where + ".type").value_or("");
    if (kMediaParts.count(type)) {
      throw invalid_request("'" + part_where + "' is an " + type + " part, but this model is text-only", part_where,
                            "unsupported_content_type");
    }
    if (type != "text") throw invalid_request("'" + part_where + ".type' must be \"text\"", part_where + ".type");
    if (!fields::string(part, "text", part_where + ".text")) {
      throw invalid_request("'" + part_where + ".text' must be a string", part_where + ".text");
    }
  }
}

// OpenAI sends tool-call arguments as a JSON string; the template wants the object.
json normalise_tool_calls(const json& calls, const std::string& where) {
  if (!calls.is_array()) throw invalid_request("'" + where + "' must be an array", where);
  json out = json::array();
  for (size_t j = 0; j < calls.size(); ++j) {
    const std::string call_where = where + "[" + std::to_string(j) + "]";
    json call = calls[j];
    if (!call.is_object()) throw invalid_request("'" + call_where + "' must be an object", call_where);
    json* function = call.contains("function") ? &call["function"] : nullptr;
    if (!function || !function->is_object()) {
      throw invalid_request("'" + call_where + ".function' must be an object", call_where + ".function");
    }
    if (!fields::string(*function, "name", call_where + ".function.name")) {
      throw invalid_request("'" + call_where + ".function.name' must be a string", call_where + ".function.name");
    }
    json& arguments = (*function)["arguments"];
    const std::string arg_where = call_where + ".function.arguments";
    if (arguments.is_string()) {
      const std::string text = arguments.get<std::string>();
      json parsed = text.find_first_not_of(" \t\r\n") == std::string::npos ? json::object()
                                                                              : json::parse(text, nullptr, false);
      if (!parsed.is_object()) throw invalid_request("'" + arg_where + "' must be a JSON object encoded as a string", arg_where);
      arguments = std::move(parsed);
    } else if (arguments.is_null()) {
      arguments = json::object();
    } else if (!arguments.is_object()) {
      throw invalid_request("'" + arg_where + "' must be a string", arg_where);
    }
    out.push_back(std::move(call));
  }
  return out;
}

json parse_messages(json& body) {
  if (!fields::array(body, "messages") || body["messages"].empty()) {
    throw invalid_request("'messages' must be a non-empty array of messages", "messages");
  }
  json& messages = body["messages"];
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    json message = std::move(messages[i]);
    if (!message.is_object()) throw invalid_request("'" + where + "' must be an object", where);
    const auto role = fields::string(message, "role", where + ".role");
    if (!role || !kRoles.count(*role)) {
      throw invalid_request("'" + where + ".role' must be one of system, developer, user, assistant, tool", where + ".role");
    }
    check_content(message, where);
    if (message.contains("tool_calls") && !message["tool_calls"].is_null()) {
      if (*role != "assistant") throw invalid_request("only assistant messages carry 'tool_calls'", where + ".tool_calls");
      message["tool_calls"] = normalise_tool_calls(message["tool_calls"], where + ".tool_calls");
    }
    out.push_back(std::move(message));
  }
  return out;
}

std::set<std::string> check_tools(const json& tools) {
  std::set<std::string> names;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string where = "tools[" + std::to_string(i) + "]";
    const json& tool = tools[i];
    if (!tool.is_object()) throw invalid_request("'" + where + "' must be an object", where);
    if (fields::string(tool, "type", where + ".type").value_or("") != "function") {
      throw invalid_request("'" + where + ".type' must be \"function\"", where + ".type");
    }
    const json* function = fields::object(tool, "function", where + ".function");
    const auto name = function ? fields::string(*function, "name", where + ".function.name") : std::nullopt;
    if (!name || name->empty()) throw invalid_request("'" + where + ".function.name' must be a string", where + ".function.name");
    fields::object(*function, "parameters", where + ".function.parameters");
    names.insert(*name);
  }
  return names;
}

// tool_choice decides whether the tools are shown and whether a call is forced.
void parse_tools(const json& body, ChatRequest& r) {
  const json* tools = fields::array(body, "tools");
  const std::set<std::string> names = tools ? check_tools(*tools) : std::set<std::string>{};
  const bool have_tools = tools && !tools->empty();
  r.parallel_tool_calls = fields::boolean(body, "parallel_tool_calls").value_or(true);
  std::string choice = "auto";
  const auto it = body.find("tool_choice");
  if (it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      choice = it->get<std::string>();
      if (choice != "none" && choice != "auto" && choice != "required") {
        throw invalid_request("'tool_choice' must be \"none\", \"auto\", \"required\" or a named function", "tool_choice");
      }
    } else if (it->is_object()) {
      const json* function = fields::object(*it, "function", "tool_choice.function");
      const auto name = function ? fields::string(*function, "name", "tool_choice.function.name") : std::nullopt;
      if (!name) throw invalid_request("'tool_choice.function.name' must be a string", "tool_choice.function.name");
      if (!names.count(*name)) {
        throw invalid_request("'tool_choice' names function \"" + *name + "\", which is not in 'tools'", "tool_choice");
      }
      r.forced_prefix = "<|tool_call>call:" + *name + "{";
      choice = "named";
    } else {
      throw invalid_request("'tool_choice' must be a string or an object", "tool_choice");
    }
  }
  if (choice == "required") {
    if (!have_tools) throw invalid_request("'tool_choice' is \"required\" but no 'tools' were given", "tool_choice");
    r.forced_prefix = "<|tool_call>call:";
  }
  r.tools = (have_tools && choice != "none") ? *tools : json(nullptr);
}

// Tools with `strict: true` make every tool call grammar-constrained (docs/grammar.md): the call
// names a declared tool and a strict tool's arguments follow its parameter schema.
void constrain_strict_tools(ChatRequest& r) {
  if (!r.tools.is_array()) return;
  bool strict = false;
  for (const json& tool : r.tools) strict = strict || tool["function"].value("strict", json(false)) == json(true);
  if (!strict) return;
  if (r.gen.request.grammar)
    throw invalid_request("strict tools cannot be combined with a 'response_format' or 'grammar' constraint", "response_format");
  std::string prefix;
  constexpr std::string_view kOpen = "<|tool_call>";
  if (r.forced_prefix.starts_with(kOpen)) prefix = r.forced_prefix.substr(kOpen.size());
  try {
    r.gen.request.grammar = compile_tool_calls(r.tools, prefix);
  } catch (const GrammarError& e) {
    throw invalid_request(std::string("'tools': ") + e.what(), "tools", "invalid_schema");
  }
}

bool parse_thinking(const json& body) {
  bool thinking = false;
  if (auto effort = fields::string(body, "reasoning_effort")) {
    if (*effort == "none" || *effort == "minimal") {
      thinking = false;
    } else if (*effort == "low" || *effort == "medium" || *effort == "high") {
      thinking = true;
    } else {
      throw invalid_request("'reasoning_effort' must be one of none, minimal, low, medium, high", "reasoning_effort");
    }
  }
  if (const json* kwargs = fields::object(body, "chat_template_kwargs")) {
    if (auto v = fields::boolean(*kwargs, "enable_thinking", "chat_template_kwargs.enable_thinking")) thinking = *v;
  }
  return thinking;
}

}  // namespace

ChatRequest parse_chat_request(json body, const GenerationDefaults& defaults, int32_t vocab_size) {
  if (!body.is_object()) throw invalid_request("the request body must be a JSON object");
  ChatRequest r;
  r.gen = parse_generation_params(body, defaults, vocab_size);
  r.messages = parse_messages(body);
  parse_tools(body, r);
  constrain_strict_tools(r);
  r.chat.enable_thinking = parse_thinking(body);
  return r;
}

}  // namespace gemma4::server
