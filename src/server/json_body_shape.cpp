#include "server/json_body_shape.h"

#include <string>

#include "server/api_error.h"

namespace gemma4::server {

void check_json_body_shape(std::string_view body) {
  size_t depth = 0;
  size_t nodes = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      ++nodes;
    } else if (c == '[' || c == '{') {
      ++nodes;
      if (++depth > kMaxJsonDepth) {
        throw invalid_request("The JSON body of your request nests deeper than " + std::to_string(kMaxJsonDepth) +
                                  " levels.",
                              "", "invalid_json");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else {
      continue;
    }
    if (nodes > kMaxJsonNodes) {
      throw invalid_request("The JSON body of your request holds more than " + std::to_string(kMaxJsonNodes) +
                                " strings, arrays and objects.",
                            "", "invalid_json");
    }
  }
}

}  // namespace gemma4::server
