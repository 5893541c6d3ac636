#pragma once
// What `gemma4 --version` prints.
#include <string>

namespace gemma4::cli {

// "gemma4 VERSION", the git commit the binary was built from ("unknown" outside git) and the
// kernel paths this CPU supports, with the one in use.
std::string version_text();

}  // namespace gemma4::cli
