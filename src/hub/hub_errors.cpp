#include "hub/hub_errors.h"

namespace gemma4::hub {

namespace {

std::string model_page(const ErrorContext& c) { return c.endpoint + "/" + c.repo_id; }

std::string what_was_asked(const ErrorContext& c) {
  return c.file.empty() ? "model " + c.repo_id : "'" + c.file + "' of model " + c.repo_id;
}

}  // namespace

void throw_for_status(const HttpResponse& r, const ErrorContext& c) {
  using Kind = HubError::Kind;
  const std::string code = r.header("x-error-code");
  const std::string status = "HTTP " + std::to_string(r.status);
  if (code == "GatedRepo" || ((r.status == 401 || r.status == 403) && code.empty())) {
    std::string msg = "access to model " + c.repo_id + " is restricted (" + status + "): ";
    msg += c.has_token ? "the token in HF_TOKEN (or the token file) has no access to it; "
                       : "no Hugging Face token is set; ";
    msg += "accept the model's license on " + model_page(c) + " while logged in, then set HF_TOKEN to a "
           "token of that account (" + c.endpoint + "/settings/tokens)";
    throw HubError(Kind::Gated, msg);
  }
  if (code == "RepoNotFound" || (r.status == 401 && code.empty())) {
    throw HubError(Kind::NotFound, "model " + c.repo_id + " was not found on " + c.endpoint + " (" + status +
                                       "); check the name, or set HF_TOKEN if it is private");
  }
  if (code == "RevisionNotFound") {
    throw HubError(Kind::NotFound, "model " + c.repo_id + " has no revision '" + c.revision + "' (" + status + ")");
  }
  if (r.status == 404) {
    throw HubError(Kind::NotFound, what_was_asked(c) + " at revision '" + c.revision + "' was not found on " +
                                       c.endpoint + " (" + status + ")");
  }
  throw HubError(Kind::Protocol, "the Hub answered " + status + " for " + what_was_asked(c) +
                                     (r.body.empty() ? std::string() : ": " + r.body.substr(0, 200)));
}

void throw_unreachable(const HubError& cause, const ErrorContext& c) {
  throw HubError(HubError::Kind::Network,
                 std::string(cause.what()) + ". Check the network connection and proxy (HTTPS_PROXY). Model " +
                     c.repo_id + "@" + c.revision + " is not in the local cache; HF_HUB_OFFLINE=1 runs from "
                     "the cache only, once the model has been downloaded");
}

}  // namespace gemma4::hub
