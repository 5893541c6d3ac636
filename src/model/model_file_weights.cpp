#include "model/model_file_weights.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "gemma4/error.h"
#include "io/model_file.h"
#include "io/streaming_mapping.h"

namespace gemma4 {

namespace {

class ModelFileWeights final : public ConvertedWeightStore {
 public:
  ModelFileWeights(const std::filesystem::path& path, WeightType type, bool read) : file_(io::ModelFile::open(path)) {
    const std::string where = path.string();
    if (file_.layout_version() != static_cast<uint32_t>(kWeightLayoutVersion))
      throw Error(where + " was converted for weight layout " + std::to_string(file_.layout_version()) +
                  "; this engine uses layout " + std::to_string(kWeightLayoutVersion) +
                  ": convert the model again with `gemma4 convert`");
    if (file_.weight_type() != weight_type_name(type))
      throw Error(where + " holds " + file_.weight_type() + " weights; load it with dtype " + file_.weight_type() +
                  " (or convert the model folder again with --dtype " + std::string(weight_type_name(type)) + ")");
    for (const io::ModelFileMatrix& m : file_.matrices()) {
      auto t = parse_weight_type(m.type);
      if (!t || m.bytes != matrix_bytes(*t, m.rows, m.cols))
        throw Error(where + ": matrix '" + m.name + "' has type '" + m.type + "' and " + std::to_string(m.bytes) +
                    " bytes, which do not fit its shape (corrupt file)");
    }
    if (!read) mapping_ = map_matrices(path);
  }

  std::optional<WeightMatrix> find(const std::string& name, WeightType type, int64_t rows,
                                   int64_t cols) const override {
    const io::ModelFileMatrix* m = file_.matrix(name);
    if (!m) return std::nullopt;
    if (m->type != weight_type_name(type)) return std::nullopt;
    return serve(*m, rows, cols);
  }

  std::optional<WeightMatrix> find_converted(const std::string& name, int64_t rows, int64_t cols) const override {
    const io::ModelFileMatrix* m = file_.matrix(name);
    if (!m) return std::nullopt;
    return serve(*m, rows, cols);
  }

  // Nothing is converted from a model file: its sources are not in it.
  void add(const std::string&, const WeightMatrix&) override {}

 private:
  WeightMatrix serve(const io::ModelFileMatrix& m, int64_t rows, int64_t cols) const {
    if (m.rows != rows || m.cols != cols)
      throw Error(file_.path().string() + ": matrix '" + m.name + "' is " + std::to_string(m.rows) + " x " +
                  std::to_string(m.cols) + ", the model's config asks for " + std::to_string(rows) + " x " +
                  std::to_string(cols));
    WeightMatrix w;
    w.type = *parse_weight_type(m.type);
    w.rows = rows;
    w.cols = cols;
    if (mapping_) {
      const uint8_t* bytes = mapping_->data + (m.offset - mapping_->offset);
      file_.check_matrix(m, bytes);
      w.data = bytes;
      w.owner = std::shared_ptr<const void>(mapping_, bytes);
    } else {
      std::shared_ptr<uint8_t> buffer = allocate_weight_buffer(static_cast<size_t>(m.bytes));
      file_.reader()->read(m.offset, static_cast<size_t>(m.bytes), buffer.get());
      file_.check_matrix(m, buffer.get());
      w.data = buffer.get();
      w.owner = std::move(buffer);
    }
    return w;
  }

  // The file's matrices (one run of bytes, from a 2 MiB boundary) mapped in huge pages where the
  // kernel allows, and faulted in now: every byte is read once per token (io/streaming_mapping.h).
  struct Mapping {
    const uint8_t* data = nullptr;
    size_t size = 0;
    uint64_t offset = 0;  // in the file
    ~Mapping() {
      if (data) ::munmap(const_cast<uint8_t*>(data), size);
    }
  };

  std::shared_ptr<Mapping> map_matrices(const std::filesystem::path& path) const {
    auto mapping = std::make_shared<Mapping>();
    if (file_.matrices().empty()) return mapping;
    uint64_t begin = UINT64_MAX, end = 0;
    for (const io::ModelFileMatrix& m : file_.matrices()) {
      begin = std::min(begin, m.offset);
      end = std::max(end, m.offset + m.bytes);
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
    mapping->data = io::map_for_streaming(fd, static_cast<size_t>(end - begin), begin);
    ::close(fd);
    if (!mapping->data) return nullptr;  // (emscripten's mmap at an offset) the matrices are read instead
    mapping->size = static_cast<size_t>(end - begin);
    mapping->offset = begin;
    io::populate_mapping(mapping->data, mapping->size);
    return mapping;
  }

  io::ModelFile file_;
  std::shared_ptr<Mapping> mapping_;
};

// A matrix the store received and the table it came from: the tied head is converted from the
// token embedding, whose rows are still looked up as stored.
bool is_embedding_table(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with("embed_tokens.weight") || ends_with("embed_tokens_per_layer.weight");
}

// Records every matrix the load converts.
class Collector final : public ConvertedWeightStore {
 public:
  std::optional<WeightMatrix> find(const std::string&, WeightType, int64_t, int64_t) const override {
    return std::nullopt;
  }
  void add(const std::string& name, const WeightMatrix& m) override { matrices.emplace_back(name, m); }
  std::vector<std::pair<std::string, WeightMatrix>> matrices;
};

std::string text_model_prefix(const io::Checkpoint& ckpt) {
  return ckpt.find("model.language_model.embed_tokens.weight") ? "model.language_model." : "model.";
}

}  // namespace

std::unique_ptr<ConvertedWeightStore> open_model_file_weights(const std::filesystem::path& file, WeightType type,
                                                              bool read) {
  return std::make_unique<ModelFileWeights>(file, type, read);
}

ConvertResult convert_to_model_file(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                                    const ConvertOptions& options) {
  if (io::is_model_file(model_dir))
    throw Error(model_dir.string() + " is a model file already; convert the model folder it was made from");
  Collector collector;
  WeightLoadOptions load;
  load.weight_type = options.weight_type;
  load.store = &collector;
  load.pool = options.pool;
  load.progress = options.progress;
  const std::unique_ptr<ModelWeights> w = load_weights(model_dir, load);

  std::set<std::string> converted;
  for (const auto& [name, m] : collector.matrices) converted.insert(name);
  // Stored as they are: every tensor of the text model that was not converted, and the tables.
  const std::string prefix = text_model_prefix(w->checkpoint);
  std::vector<const io::TensorView*> stored;
  for (const std::string& name : w->checkpoint.names()) {
    const bool text_model = name.rfind(prefix, 0) == 0 || name == "lm_head.weight";
    if (text_model && (!converted.count(name) || is_embedding_table(name))) stored.push_back(&w->checkpoint.get(name));
  }

  io::ModelFileWriter writer(out, std::string(weight_type_name(options.weight_type)),
                             model_dir.filename().empty() ? model_dir.parent_path().filename().string()
                                                          : model_dir.filename().string(),
                             static_cast<uint32_t>(kWeightLayoutVersion));
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "chat_template.jinja"}) {
    if (auto text = io::read_model_text(model_dir, name)) writer.add_file(name, *text);
  }
  std::vector<io::TensorSpec> specs;
  for (const io::TensorView* t : stored) specs.push_back({t->name, t->dtype, t->shape});
  writer.add_checkpoint(specs, [&](size_t i, uint8_t* dst, size_t n) {
    const io::TensorView& t = *stored[i];
    const uint8_t* src = w->checkpoint.acquire(t);
    std::copy(src, src + n, dst);
    w->checkpoint.release(t);
  });
  for (const auto& [name, m] : collector.matrices)
    writer.add_matrix(name, weight_type_name(m.type), m.rows, m.cols, static_cast<const uint8_t*>(m.data), m.byte_size());
  writer.finish();

  ConvertResult result;
  result.file_bytes = std::filesystem::file_size(out);
  result.matrices = collector.matrices.size();
  result.stored_tensors = stored.size();
  return result;
}

}  // namespace gemma4
