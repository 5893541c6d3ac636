#pragma once
// GET / and the chat page's assets, served from the files compiled into the binary. The page
// loads without an API key (it holds none); the requests it makes carry the key.
#include <string_view>

#include <httplib.h>

#include "server/webui_files.h"

namespace gemma4::server {

// The embedded file a GET of `path` serves ("/" is index.html), or null.
const WebUiFile* find_webui_file(std::string_view path);
std::string_view webui_content_type(std::string_view path);
void install_webui_routes(httplib::Server& http);

}  // namespace gemma4::server
