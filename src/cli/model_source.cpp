#include "cli/model_source.h"

#include <cstdio>

#include "gemma4/hub.h"

namespace gemma4::cli {

CLI::Option* add_model_option(CLI::App& cmd, std::string& model, const std::string& names) {
  model = kDefaultModel;
  return cmd.add_option(names, model, "Model folder, or Hugging Face Hub id org/name[@revision] (downloaded when missing)")
      ->capture_default_str();
}

std::filesystem::path model_folder(const std::string& model) {
  ResolveOptions options;
  options.progress = terminal_progress(stderr);
  return resolve_model(model, options);
}

bool is_hub_id(const std::string& model) {
  std::error_code ec;
  return !std::filesystem::exists(model, ec) && parse_model_ref(model).has_value();
}

}  // namespace gemma4::cli
