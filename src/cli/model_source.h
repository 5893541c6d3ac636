#pragma once
// --model for every command: a model folder, or a Hugging Face Hub id org/name[@revision] (default
// google/gemma-4-E2B-it), fetched into the Hugging Face cache when missing.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

namespace gemma4::cli {

// Adds `names` (e.g. "--model,-m") bound to `model`, optional, defaulting to the default model.
CLI::Option* add_model_option(CLI::App& cmd, std::string& model, const std::string& names = "--model,-m");

// The folder `model` names; a Hub download shows its progress on stderr.
std::filesystem::path model_folder(const std::string& model);

// A model file (.g4w) loads in the weight type it holds: unless --dtype was given, `dtype`
// becomes that type.
void adopt_model_file_dtype(const std::filesystem::path& model, bool dtype_given, std::string& dtype);

// True when `model` is taken for a Hub id (it is no existing path and reads org/name[@revision]).
bool is_hub_id(const std::string& model);

}  // namespace gemma4::cli
