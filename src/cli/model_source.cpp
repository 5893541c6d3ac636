#include "cli/model_source.h"

#include "io/model_file.h"

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

void adopt_model_file_dtype(const std::filesystem::path& model, bool dtype_given, std::string& dtype) {
  if (!dtype_given && io::is_model_file(model)) dtype = io::ModelFile::open(model).weight_type();
}

bool is_hub_id(const std::string& model) {
  std::error_code ec;
  return !std::filesystem::exists(model, ec) && parse_model_ref(model).has_value();
}

}  // namespace gemma4::cli
