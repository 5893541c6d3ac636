#include "model/weight_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/model_file.h"
#include "io/streaming_mapping.h"
#include "model/weight_cache_key.h"

namespace gemma4 {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'G', '4', 'W', 'C', 'A', 'C', 'H', 'E'};
constexpr uint32_t kFormatVersion = 2;  // 2: the index after the matrices
constexpr uint64_t kAlign = 4096;
// Below this a file's TLB misses do not matter (the test models): no page-cache games.
constexpr uint64_t kHugeWorthBytes = uint64_t{64} << 20;

}  // namespace

// The fixed header. Every field is checked before anything it points to is trusted.
struct WeightCache::FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t layout_version;
  uint64_t index_offset;  // the JSON index follows the matrices
  uint64_t index_bytes;
  uint64_t file_bytes;
  uint64_t index_checksum;
  uint64_t header_checksum;  // of the bytes before this field
  uint64_t reserved;
};
static_assert(sizeof(WeightCache::FileHeader) == 64);

namespace {

uint64_t header_checksum(const WeightCache::FileHeader& h) {
  return fnv1a64(std::string_view(reinterpret_cast<const char*>(&h), offsetof(WeightCache::FileHeader, header_checksum)));
}

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

struct WeightCache::Entry {
  WeightType type;
  int64_t rows, cols;
  uint64_t offset, bytes;
};

// The read-only mapping of a valid cache file; matrices served from it keep it alive.
struct WeightCache::Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::map<std::string, Entry, std::less<>> entries;
  ~Mapping() {
    if (data) ::munmap(const_cast<uint8_t*>(data), size);
  }
};

fs::path default_weight_cache_dir() {
  if (std::string d = env_or_empty("GEMMA4_WEIGHT_CACHE"); !d.empty()) return d;
  if (std::string x = env_or_empty("XDG_CACHE_HOME"); !x.empty()) return fs::path(x) / "gemma4" / "weights";
  if (std::string h = env_or_empty("HOME"); !h.empty()) return fs::path(h) / ".cache" / "gemma4" / "weights";
  return fs::temp_directory_path() / "gemma4-weights";
}

WeightCache::WeightCache(const fs::path& model_dir, WeightType type, const fs::path& cache_dir)
    : key_(weight_cache_key(model_dir, type)),
      file_((cache_dir.empty() ? default_weight_cache_dir() : cache_dir) / weight_cache_file_name(model_dir, type)) {
  open_existing();
}

WeightCache::~WeightCache() = default;

void WeightCache::reject(State state, std::string reason) {
  state_ = state;
  reason_ = file_.string() + ": " + std::move(reason);
  mapping_.reset();
}

void WeightCache::open_existing() {
  int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return reject(State::Missing, errno == ENOENT ? "no cache file yet" : std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  const uint8_t* addr = ok ? io::map_for_streaming(fd, static_cast<size_t>(st.st_size)) : nullptr;
  if (!addr) return reject(State::Invalid, "cannot map the file");
  mapping_ = std::make_shared<Mapping>();
  mapping_->data = addr;
  mapping_->size = static_cast<size_t>(st.st_size);

  const size_t size = mapping_->size;
  FileHeader h{};
  if (size < sizeof h) return reject(State::Invalid, "shorter than its header");
  std::memcpy(&h, mapping_->data, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return reject(State::Invalid, "not a gemma4 weight cache");
  if (h.header_checksum != header_checksum(h)) return reject(State::Invalid, "header checksum mismatch");
  if (h.format_version != kFormatVersion || h.layout_version != static_cast<uint32_t>(kWeightLayoutVersion))
    return reject(State::Stale, "written by another version of the engine");
  if (h.file_bytes != size) return reject(State::Invalid, "truncated (size differs from its header)");
  if (h.index_offset < kAlign || h.index_offset > size || h.index_bytes != size - h.index_offset)
    return reject(State::Invalid, "index out of bounds");
  std::string_view index(reinterpret_cast<const char*>(mapping_->data) + h.index_offset, h.index_bytes);
  if (fnv1a64(index) != h.index_checksum) return reject(State::Invalid, "index checksum mismatch");

  nlohmann::json doc = nlohmann::json::parse(index, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("key") || !doc["key"].is_string() || !doc.contains("entries"))
    return reject(State::Invalid, "malformed index");
  if (doc["key"].get<std::string>() != key_) return reject(State::Stale, "built from another checkpoint or type");
  try {
    for (const auto& e : doc["entries"]) {
      auto type = parse_weight_type(e.at("type").get<std::string>());
      Entry entry{type.value_or(WeightType::F32), e.at("rows").get<int64_t>(), e.at("cols").get<int64_t>(),
                  e.at("offset").get<uint64_t>(), e.at("bytes").get<uint64_t>()};
      const bool sane = type && entry.rows > 0 && entry.cols > 0 && entry.offset >= kAlign &&
                        entry.bytes == matrix_bytes(entry.type, entry.rows, entry.cols) &&
                        entry.offset <= h.index_offset && entry.bytes <= h.index_offset - entry.offset;
      if (!sane) return reject(State::Invalid, "entry '" + e.at("name").get<std::string>() + "' is out of bounds");
      mapping_->entries.emplace(e.at("name").get<std::string>(), entry);
    }
  } catch (const nlohmann::json::exception&) {
    return reject(State::Invalid, "malformed index entry");
  }
  if (!bring_in(fd)) return reject(State::Invalid, "cannot map the file");
  state_ = State::Hit;
  reason_.clear();
}

// Faults the file in now, in 2 MiB pages where the kernel can (io/streaming_mapping.h). A file that
// the page cache holds in small folios (read by an older engine, or copied) is dropped from the
// cache once and read again; if that does not help either (no large folios on this filesystem,
// or THP off), a marker file next to it stops later loads from trying again.
bool WeightCache::bring_in(int fd) {
  io::populate_mapping(mapping_->data, mapping_->size);
  if (mapping_->size < kHugeWorthBytes) return true;
  // Plain read-ahead leaves a fifth or more in small folios; a fault-driven read gets them all.
  const int64_t enough = static_cast<int64_t>(mapping_->size / 10 * 9);
  const int64_t huge = io::huge_mapped_bytes(mapping_->data);
  if (huge < 0 || huge >= enough) return true;
  const fs::path marker = file_.string() + ".small-pages";
  std::error_code ec;
  // No re-read where it cannot help (THP off) or could not be remembered (a read-only folder: it
  // would repeat at every load).
  if (fs::exists(marker, ec) || !io::huge_pages_possible() || ::access(file_.parent_path().c_str(), W_OK) != 0)
    return true;
  ::munmap(const_cast<uint8_t*>(mapping_->data), mapping_->size);
  io::drop_from_page_cache(fd);
  mapping_->data = io::map_for_streaming(fd, mapping_->size);
  if (!mapping_->data) return false;
  io::populate_mapping(mapping_->data, mapping_->size);
  if (io::huge_mapped_bytes(mapping_->data) < enough) std::ofstream{marker};
  return true;
}

std::optional<WeightMatrix> WeightCache::find(const std::string& name, WeightType type, int64_t rows,
                                              int64_t cols) const {
  if (!mapping_) return std::nullopt;
  auto it = mapping_->entries.find(name);
  if (it == mapping_->entries.end()) return std::nullopt;
  const Entry& e = it->second;
  if (e.type != type || e.rows != rows || e.cols != cols) return std::nullopt;
  WeightMatrix m;
  m.type = type;
  m.rows = rows;
  m.cols = cols;
  m.data = mapping_->data + e.offset;
  m.owner = std::shared_ptr<const void>(mapping_, m.data);
  const_cast<WeightCache*>(this)->added_.emplace_back(name, m);
  return m;
}

void WeightCache::add(const std::string& name, const WeightMatrix& m) {
  if (state_ == State::Hit) state_ = State::Stale;  // the file lacks this matrix: rewrite it whole
  added_.emplace_back(name, m);
}

bool WeightCache::save() {
  if (state_ == State::Hit || added_.empty()) return true;
  // Matrices first, each 4096-aligned after the header's page; the index (which names their
  // offsets) last, so that nothing depends on its length.
  nlohmann::json entries = nlohmann::json::array();
  std::vector<uint64_t> offsets;
  uint64_t end = kAlign;
  for (const auto& [name, m] : added_) {
    offsets.push_back(end);
    entries.push_back({{"name", name}, {"type", std::string(weight_type_name(m.type))}, {"rows", m.rows},
                       {"cols", m.cols}, {"offset", end}, {"bytes", m.byte_size()}});
    end = align_up(end + m.byte_size());
  }
  const std::string index = nlohmann::json{{"key", key_}, {"entries", entries}}.dump();
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.format_version = kFormatVersion;
  h.layout_version = static_cast<uint32_t>(kWeightLayoutVersion);
  h.index_offset = end;
  h.index_bytes = index.size();
  h.file_bytes = end + index.size();
  h.index_checksum = fnv1a64(index);
  h.header_checksum = header_checksum(h);

  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  const fs::path tmp = file_.string() + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  if (!write_file(tmp, h, index, offsets)) {
    fs::remove(tmp, ec);
    reason_ = "cannot write " + tmp.string() + " (disk full or read-only?)";
    return false;
  }
  fs::rename(tmp, file_, ec);  // atomic: a reader sees the old file or the new one, never half
  if (ec) {
    fs::remove(tmp, ec);
    reason_ = "cannot write " + file_.string() + ": " + ec.message();
    return false;
  }
  if (h.file_bytes >= kHugeWorthBytes) {
    // Written through small page-cache folios: drop them, so the next load reads it into huge ones.
    const int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      io::drop_from_page_cache(fd);
      ::close(fd);
    }
  }
  return true;
}

bool WeightCache::write_file(const fs::path& path, const FileHeader& h, const std::string& index,
                             const std::vector<uint64_t>& offsets) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string zeros(kAlign, '\0');
  out.write(reinterpret_cast<const char*>(&h), sizeof h);
  uint64_t pos = sizeof h;
  for (size_t i = 0; i < added_.size() && out; ++i) {
    out.write(zeros.data(), static_cast<std::streamsize>(offsets[i] - pos));
    const WeightMatrix& m = added_[i].second;
    out.write(static_cast<const char*>(m.data), static_cast<std::streamsize>(m.byte_size()));
    pos = offsets[i] + m.byte_size();
  }
  out.write(zeros.data(), static_cast<std::streamsize>(h.index_offset - pos));
  out.write(index.data(), static_cast<std::streamsize>(index.size()));
  out.flush();
  return static_cast<bool>(out);
}

std::unique_ptr<ModelWeights> load_weights_cached(const fs::path& model_dir, const WeightLoadOptions& options,
                                                  const fs::path& cache_dir) {
  // Float types convert at memory speed (or not at all: bf16 maps the checkpoint), and their cache
  // files would be as large as the checkpoint: only the quantized types are worth a file.
  const bool quantized = options.weight_type == WeightType::Q8_0 || options.weight_type == WeightType::Q4_0;
  // A model file is converted already: it is its own cache.
  if (!quantized || io::is_model_file(model_dir) || (cache_dir.empty() && env_or_empty("GEMMA4_WEIGHT_CACHE") == "off"))
    return load_weights(model_dir, options);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<WeightCache> cache;
  try {
    cache = std::make_unique<WeightCache>(model_dir, options.weight_type, cache_dir);
  } catch (const Error&) {
    return load_weights(model_dir, options);  // an unreadable checkpoint fails there, with its own words
  }
  WeightCache& c = *cache;
  WeightLoadOptions with_cache = options;
  with_cache.store = &c;
  auto weights = load_weights(model_dir, with_cache);
  c.save();
  // The load time a user sees: key, mapping or conversion, and writing the file.
  weights->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return weights;
}

}  // namespace gemma4
