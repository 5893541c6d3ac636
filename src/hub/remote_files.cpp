#include "hub/remote_files.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "hub/cache_layout.h"
#include "hub/http.h"

namespace gemma4::hub {

namespace {

std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  return etag;
}

bool parse_size(const std::string& text, uint64_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stoull(text);
  return true;
}

std::string resolve_url(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  return url_origin(base) + (location.empty() || location[0] != '/' ? "/" : "") + location;
}

}  // namespace

std::vector<std::string> auth_headers(const HubSettings& settings) {
  if (settings.token.empty()) return {};
  return {"Authorization: Bearer " + settings.token};
}

RepoRevision fetch_revision(const ModelRef& ref, const HubSettings& settings, const ErrorContext& context) {
  HttpRequest req;
  req.url = settings.endpoint + "/api/models/" + url_encode(ref.repo_id, true) + "/revision/" +
            url_encode(ref.revision, false);
  req.headers = auth_headers(settings);
  const HttpResponse r = http_request(req);
  if (r.status != 200) throw_for_status(r, context);
  const nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  RepoRevision rev;
  if (doc.is_object() && doc.contains("sha") && doc["sha"].is_string()) rev.commit = doc["sha"].get<std::string>();
  if (!is_commit_hash(rev.commit))
    throw HubError(HubError::Kind::Protocol, "the answer of " + req.url + " names no commit ('sha'): is " +
                                                 settings.endpoint + " a Hugging Face Hub?");
  if (doc.contains("siblings") && doc["siblings"].is_array()) {
    for (const auto& s : doc["siblings"]) {
      if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string())
        rev.files.push_back(s["rfilename"].get<std::string>());
    }
  }
  return rev;
}

RemoteFile fetch_file_metadata(const ModelRef& ref, const std::string& commit, const std::string& file,
                               const HubSettings& settings, const ErrorContext& context) {
  HttpRequest req;
  req.url = settings.endpoint + "/" + url_encode(ref.repo_id, true) + "/resolve/" + commit + "/" + url_encode(file, true);
  req.head = true;
  req.follow_redirects = false;  // the redirect's own headers carry the LFS etag and size
  req.headers = auth_headers(settings);
  req.headers.push_back("Accept-Encoding: identity");  // sizes of the bytes themselves
  ErrorContext ctx = context;
  ctx.file = file;
  HttpResponse r;
  for (int hop = 0;; ++hop) {
    r = http_request(req);
    const std::string location = r.header("location");
    const bool relative = !location.empty() && location.find("://") == std::string::npos;
    // Relative redirects stay on the Hub (a renamed repository): follow them for the metadata.
    if (r.status >= 300 && r.status < 400 && relative && hop < 5) {
      req.url = resolve_url(req.url, location);
      continue;
    }
    break;
  }
  if (r.status >= 400 || r.status < 200) throw_for_status(r, ctx);
  RemoteFile f;
  f.name = file;
  f.etag = normalize_etag(r.header("x-linked-etag").empty() ? r.header("etag") : r.header("x-linked-etag"));
  const std::string size = r.header("x-linked-size").empty() ? r.header("content-length") : r.header("x-linked-size");
  const bool redirected = r.status >= 300 && r.status < 400 && !r.header("location").empty();
  f.url = redirected ? resolve_url(req.url, r.header("location")) : req.url;
  // Signed storage URLs must not receive the Hub token; the Hub itself needs it for gated files.
  f.send_token = url_origin(f.url) == url_origin(req.url);
  if (f.etag.empty() || f.etag.find('/') != std::string::npos || f.etag.find("..") != std::string::npos)
    throw HubError(HubError::Kind::Protocol, "the Hub gave no usable ETag for '" + file + "' of " + ref.repo_id);
  if (!parse_size(size, f.size))
    throw HubError(HubError::Kind::Protocol, "the Hub gave no size for '" + file + "' of " + ref.repo_id);
  return f;
}

std::vector<std::string> files_to_pull(const RepoRevision& revision, const ErrorContext& context) {
  auto has = [&](const std::string& f) {
    return std::find(revision.files.begin(), revision.files.end(), f) != revision.files.end();
  };
  const std::string where = "model " + context.repo_id + " at revision '" + context.revision + "'";
  if (!has("config.json")) throw HubError(HubError::Kind::NotFound, where + " has no config.json");
  std::vector<std::string> files;
  for (const std::string& f : model_side_files()) {
    if (has(f)) files.push_back(f);
  }
  if (has("model.safetensors.index.json")) files.push_back("model.safetensors.index.json");
  else if (has("model.safetensors")) files.push_back("model.safetensors");
  else
    throw HubError(HubError::Kind::NotFound,
                   where + " has no model.safetensors or model.safetensors.index.json (safetensors weights are needed)");
  return files;
}

bool is_safe_repo_path(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find('\\') != std::string::npos) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    const std::string part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace gemma4::hub
