// HubSettings::from_env and parse_model_ref: the environment and names as huggingface_hub reads them.
#include <cctype>
#include <cstdlib>
#include <fstream>

#include "gemma4/hub.h"

namespace gemma4 {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool truthy(std::string v) {
  for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string trimmed(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

fs::path hf_home() {
  if (std::string h = env("HF_HOME"); !h.empty()) return h;
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty()) return fs::path(x) / "huggingface";
  return fs::path(env("HOME")) / ".cache" / "huggingface";
}

// Names of users, organisations and repositories on the Hub.
bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > 96 || s.front() == '.' || s.front() == '-' || s.find("..") != std::string_view::npos)
    return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

HubSettings HubSettings::from_env() {
  HubSettings s;
  if (std::string e = env("HF_ENDPOINT"); !e.empty()) s.endpoint = e;
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  const fs::path home = hf_home();
  if (std::string c = env("HF_HUB_CACHE"); !c.empty()) s.cache_dir = c;
  else if (std::string legacy = env("HUGGINGFACE_HUB_CACHE"); !legacy.empty()) s.cache_dir = legacy;
  else s.cache_dir = home / "hub";
  s.token = trimmed(env("HF_TOKEN"));
  if (s.token.empty()) {
    const std::string token_path = env("HF_TOKEN_PATH");
    std::ifstream in(token_path.empty() ? home / "token" : fs::path(token_path));
    std::string line;
    if (in && std::getline(in, line)) s.token = trimmed(line);
  }
  s.offline = truthy(env("HF_HUB_OFFLINE"));
  return s;
}

std::optional<ModelRef> parse_model_ref(std::string_view text) {
  ModelRef ref;
  const size_t at = text.find('@');
  if (at != std::string_view::npos) {
    ref.revision = std::string(text.substr(at + 1));
    text = text.substr(0, at);
    if (ref.revision.empty() || ref.revision.find("..") != std::string::npos || ref.revision.front() == '/')
      return std::nullopt;
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
  if (!valid_name_part(text.substr(0, slash)) || !valid_name_part(text.substr(slash + 1))) return std::nullopt;
  ref.repo_id = std::string(text);
  return ref;
}

}  // namespace gemma4
