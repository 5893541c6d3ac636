#pragma once
// Limits on the shape of a JSON request body, checked in one scan before it is parsed into a DOM.
// A body within --max-body can still hold a million nested '[' or half a million tiny arrays;
// each becomes a heap node, so parsing it costs hundreds of MB of small allocations, which the
// allocator then keeps. No OpenAI request comes near these limits.
#include <cstddef>
#include <string_view>

namespace gemma4::server {

inline constexpr size_t kMaxJsonDepth = 100;          // nested arrays and objects
inline constexpr size_t kMaxJsonNodes = size_t{1} << 17;  // arrays, objects and strings (keys too)

// Throws ApiError 400 (code "invalid_json") when `body` nests deeper than kMaxJsonDepth or holds
// more than kMaxJsonNodes allocating values. It does not validate the JSON: the parser does.
void check_json_body_shape(std::string_view body);

}  // namespace gemma4::server
