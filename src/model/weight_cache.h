#pragma once
// The converted-weight cache: the first load of a checkpoint at a weight type writes every
// matrix it converted (quantized, repacked) to one file; later loads map that file and skip the
// conversion. One file per (checkpoint folder, weight type), named from both; inside, a key
// records what it was built from (file sizes, mtimes and header hashes of config.json and the
// safetensors, the weight type, kWeightLayoutVersion). A file whose magic, versions, checksums,
// key or sizes do not match is stale, truncated or foreign: it is ignored and rewritten.
//
// Layout (little-endian): a 64-byte header {magic "G4WCACHE", format version, layout version,
// index offset, index bytes, file bytes, index checksum, header checksum} padded to 4096 bytes,
// the matrices, each at a 4096-aligned offset, then a JSON index
// {key, entries: [{name, type, rows, cols, offset, bytes}]}.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/weights.h"

namespace gemma4 {

// $GEMMA4_WEIGHT_CACHE, else $XDG_CACHE_HOME/gemma4/weights, else ~/.cache/gemma4/weights.
std::filesystem::path default_weight_cache_dir();

class WeightCache final : public ConvertedWeightStore {
 public:
  enum class State { Hit, Missing, Stale, Invalid };

  // Looks for the cache file of `model_dir` at `type` under `cache_dir` and maps it when valid.
  // Never throws for a bad cache file (that is State::Invalid / Stale); throws gemma4::Error only
  // when the checkpoint itself cannot be read.
  WeightCache(const std::filesystem::path& model_dir, WeightType type, const std::filesystem::path& cache_dir);
  ~WeightCache() override;

  State state() const { return state_; }
  const std::string& reason() const { return reason_; }  // why the file was not used
  const std::filesystem::path& file() const { return file_; }

  std::optional<WeightMatrix> find(const std::string& name, WeightType type, int64_t rows,
                                   int64_t cols) const override;
  void add(const std::string& name, const WeightMatrix& m) override;

  // Writes the file when this load converted anything (atomically: temp file + rename). Returns
  // false with reason() set when it could not be written; the loaded model is unaffected.
  bool save();

 private:
  struct Entry;
  struct Mapping;

 public:
  struct FileHeader;

 private:
  bool write_file(const std::filesystem::path& path, const FileHeader& header, const std::string& index,
                  const std::vector<uint64_t>& offsets) const;

  void open_existing();
  bool bring_in(int fd);
  void reject(State state, std::string reason);

  std::string key_;
  std::filesystem::path file_;
  State state_ = State::Missing;
  std::string reason_;
  std::shared_ptr<Mapping> mapping_;
  std::vector<std::pair<std::string, WeightMatrix>> added_;
};

// load_weights() through the cache in `cache_dir` (empty: default_weight_cache_dir(), or no
// cache at all when GEMMA4_WEIGHT_CACHE=off), for the quantized types q8_0 and q4_0 (float types
// load as before).
std::unique_ptr<ModelWeights> load_weights_cached(const std::filesystem::path& model_dir,
                                                  const WeightLoadOptions& options,
                                                  const std::filesystem::path& cache_dir = {});

}  // namespace gemma4
