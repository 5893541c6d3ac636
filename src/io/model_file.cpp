#include "io/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/streaming_mapping.h"

namespace gemma4::io {

namespace {

using json = nlohmann::json;

constexpr char kMagic[8] = {'G', '4', 'W', 'M', 'O', 'D', 'E', 'L'};
constexpr uint64_t kMaxIndexBytes = uint64_t{64} << 20;

struct Header {
  char magic[8];
  uint32_t format_version;
  uint32_t layout_version;
  uint64_t index_offset;
  uint64_t index_bytes;
  uint64_t file_bytes;
  uint64_t index_checksum;
  uint64_t header_checksum;  // of the bytes before this field
  uint64_t reserved;
};
static_assert(sizeof(Header) == 64);

uint64_t header_checksum(const Header& h) { return content_checksum(&h, offsetof(Header, header_checksum)); }

uint64_t align_up(uint64_t v) { return (v + kModelFileAlignment - 1) / kModelFileAlignment * kModelFileAlignment; }

std::string hex(uint64_t v) {
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(v));
  return s;
}

uint64_t parse_hex(const json& v, const std::string& where) {
  if (!v.is_string() || v.get<std::string>().size() != 16) throw Error(where + ": a checksum is not 16 hex digits");
  const std::string s = v.get<std::string>();
  uint64_t out = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) throw Error(where + ": a checksum is not 16 hex digits");
    out = out << 4 | static_cast<uint64_t>(d);
  }
  return out;
}

// Reads a blob in pieces and returns its checksum (for verify(): the tables are gigabytes).
uint64_t checksum_of_range(const FileReader& reader, uint64_t offset, uint64_t length) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<uint8_t> buffer(std::min<uint64_t>(length, uint64_t{16} << 20));
  for (uint64_t done = 0; done < length;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - done));
    reader.read(offset + done, n, buffer.data());
    XXH3_64bits_update(state, buffer.data(), n);
    done += n;
  }
  const uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return sum;
}

}  // namespace

uint64_t content_checksum(const void* bytes, size_t length) { return XXH3_64bits(bytes, length); }

bool is_model_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof kMagic] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == sizeof magic && std::memcmp(magic, kMagic, sizeof kMagic) == 0;
}

std::optional<std::string> read_model_text(const std::filesystem::path& model, std::string_view name) {
  if (is_model_file(model)) return ModelFile::open(model).text(name);
  const std::filesystem::path path = model / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
  std::string text(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  if (size < 0 || !in.seekg(0) || !in.read(text.data(), static_cast<std::streamsize>(text.size())))
    throw Error("cannot read " + path.string());
  return text;
}

ModelFile ModelFile::open(const std::filesystem::path& path) {
  ModelFile f;
  f.path_ = path;
  const std::string where = path.string();
  f.reader_ = std::make_shared<FileReader>(FileReader::open(path));
  const uint64_t size = f.reader_->size();
  Header h{};
  if (size < kModelFileAlignment) throw Error(where + ": shorter than a model file's header (truncated?)");
  f.reader_->read(0, sizeof h, reinterpret_cast<uint8_t*>(&h));
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) throw Error(where + ": not a gemma4 model file (.g4w)");
  if (h.header_checksum != header_checksum(h)) throw Error(where + ": header checksum mismatch (corrupt file)");
  if (h.format_version != kModelFileFormatVersion)
    throw Error(where + ": model file format " + std::to_string(h.format_version) + "; this engine reads format " +
                std::to_string(kModelFileFormatVersion) + " (convert the model again with `gemma4 convert`)");
  if (h.file_bytes != size)
    throw Error(where + ": " + std::to_string(size) + " bytes, but its header says " + std::to_string(h.file_bytes) +
                " (truncated or still downloading?)");
  if (h.index_offset < kModelFileAlignment || h.index_offset > size || h.index_bytes != size - h.index_offset ||
      h.index_bytes > kMaxIndexBytes)
    throw Error(where + ": its index lies outside the file (corrupt file)");
  std::string index(static_cast<size_t>(h.index_bytes), '\0');
  f.reader_->read(h.index_offset, index.size(), reinterpret_cast<uint8_t*>(index.data()));
  if (content_checksum(index.data(), index.size()) != h.index_checksum)
    throw Error(where + ": index checksum mismatch (corrupt file)");
  f.layout_version_ = h.layout_version;

  const json doc = json::parse(index, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw Error(where + ": its index is not a JSON object");
  // Every blob lies between the header's page and the index, at an aligned offset.
  auto blob = [&](const json& e, const std::string& what) {
    ModelFileBlob b;
    b.name = e.at("name").get<std::string>();
    b.offset = e.at("offset").get<uint64_t>();
    b.bytes = e.at("bytes").get<uint64_t>();
    b.checksum = parse_hex(e.at("xxh3"), where);
    if (b.offset < kModelFileAlignment || b.offset % kModelFileAlignment != 0 || b.offset > h.index_offset ||
        b.bytes > h.index_offset - b.offset)
      throw Error(where + ": " + what + " '" + b.name + "' lies outside the file or is not aligned (corrupt file)");
    return b;
  };
  try {
    f.weight_type_ = doc.at("weight_type").get<std::string>();
    f.source_ = doc.value("source", std::string());
    for (const json& e : doc.at("files")) f.files_.push_back(blob(e, "file"));
    const json& ck = doc.at("checkpoint");
    ModelFileBlob section = blob({{"name", "checkpoint"}, {"offset", ck.at("offset")}, {"bytes", ck.at("bytes")},
                                  {"xxh3", hex(0)}},
                                 "section");
    f.checkpoint_ = {section.offset, section.bytes};
    for (const json& e : doc.at("tensors"))
      f.tensor_checksums_.push_back({e.at("name").get<std::string>(), 0, 0, parse_hex(e.at("xxh3"), where)});
    for (const json& e : doc.at("matrices")) {
      ModelFileBlob b = blob(e, "matrix");
      ModelFileMatrix m{b.name, e.at("type").get<std::string>(), e.at("rows").get<int64_t>(),
                        e.at("cols").get<int64_t>(), b.offset, b.bytes, b.checksum};
      if (m.rows <= 0 || m.cols <= 0) throw Error(where + ": matrix '" + m.name + "' has no rows or columns");
      f.matrices_.push_back(std::move(m));
    }
  } catch (const json::exception& e) {
    throw Error(where + ": malformed index (" + e.what() + ")");
  }
  return f;
}

std::optional<std::string> ModelFile::text(std::string_view name) const {
  for (const ModelFileBlob& b : files_) {
    if (b.name != name) continue;
    std::string out(static_cast<size_t>(b.bytes), '\0');
    reader_->read(b.offset, out.size(), reinterpret_cast<uint8_t*>(out.data()));
    if (content_checksum(out.data(), out.size()) != b.checksum)
      throw Error(path_.string() + ": '" + b.name + "' does not match its checksum (corrupt file)");
    return out;
  }
  return std::nullopt;
}

const ModelFileMatrix* ModelFile::matrix(std::string_view name) const {
  for (const ModelFileMatrix& m : matrices_)
    if (m.name == name) return &m;
  return nullptr;
}

void ModelFile::check_matrix(const ModelFileMatrix& m, const uint8_t* bytes) const {
  if (content_checksum(bytes, static_cast<size_t>(m.bytes)) != m.checksum)
    throw Error(path_.string() + ": matrix '" + m.name + "' does not match its checksum (corrupt file)");
}

void ModelFile::verify(const std::function<void(double)>& progress) const {
  double total = 0, done = 0;
  for (const ModelFileBlob& b : files_) total += static_cast<double>(b.bytes);
  total += static_cast<double>(checkpoint_.length);
  for (const ModelFileMatrix& m : matrices_) total += static_cast<double>(m.bytes);
  auto check = [&](const std::string& what, uint64_t offset, uint64_t bytes, uint64_t checksum) {
    if (checksum_of_range(*reader_, offset, bytes) != checksum)
      throw Error(path_.string() + ": " + what + " does not match its checksum (corrupt file)");
    done += static_cast<double>(bytes);
    if (progress) progress(total > 0 ? done / total : 1.0);
  };
  for (const ModelFileBlob& b : files_) check("'" + b.name + "'", b.offset, b.bytes, b.checksum);
  const auto stored = SafetensorsFile::open(path_, {.keep_on_disk = [](std::string_view) { return true; }}, checkpoint_);
  if (stored->tensors().size() != tensor_checksums_.size())
    throw Error(path_.string() + ": its index lists " + std::to_string(tensor_checksums_.size()) +
                " stored tensors, its tensor section holds " + std::to_string(stored->tensors().size()));
  for (const ModelFileBlob& sum : tensor_checksums_) {
    const TensorView* t = nullptr;
    for (const TensorView& v : stored->tensors())
      if (v.name == sum.name) t = &v;
    if (!t) throw Error(path_.string() + ": stored tensor '" + sum.name + "' is missing from its tensor section");
    check("tensor '" + t->name + "'", t->file_offset, t->nbytes, sum.checksum);
  }
  for (const ModelFileMatrix& m : matrices_) check("matrix '" + m.name + "'", m.offset, m.bytes, m.checksum);
}

// ---- Writing ----

struct ModelFileWriter::State {
  std::filesystem::path path, temp;
  int fd = -1;
  uint64_t pos = 0;
  bool finished = false;
  Header header{};
  json files = json::array(), tensors = json::array(), matrices = json::array(), checkpoint = json::object();
  std::string weight_type, source;

  void write(const void* bytes, size_t length) {
    const auto* p = static_cast<const uint8_t*>(bytes);
    while (length > 0) {
      const ssize_t n = ::write(fd, p, length);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error("cannot write " + temp.string() + ": " + std::strerror(errno) + " (disk full?)");
      p += n;
      length -= static_cast<size_t>(n);
      pos += static_cast<uint64_t>(n);
    }
  }
  void pad(uint64_t alignment = kModelFileAlignment) {
    static const std::vector<uint8_t> zeros(kModelFileAlignment, 0);
    const uint64_t end = (pos + alignment - 1) / alignment * alignment;
    while (pos < end) write(zeros.data(), static_cast<size_t>(std::min<uint64_t>(end - pos, zeros.size())));
  }
};

ModelFileWriter::ModelFileWriter(const std::filesystem::path& path, std::string weight_type, std::string source,
                                 uint32_t layout_version)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.temp = path.string() + ".tmp";
  s.weight_type = std::move(weight_type);
  s.source = std::move(source);
  std::memcpy(s.header.magic, kMagic, sizeof kMagic);
  s.header.format_version = kModelFileFormatVersion;
  s.header.layout_version = layout_version;
  s.fd = ::open(s.temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (s.fd < 0) throw Error("cannot create " + s.temp.string() + ": " + std::strerror(errno));
  s.write(&s.header, sizeof s.header);  // rewritten by finish()
  s.pad();
}

ModelFileWriter::~ModelFileWriter() {
  if (state_->fd >= 0) ::close(state_->fd);
  if (!state_->finished) std::remove(state_->temp.c_str());
}

void ModelFileWriter::add_file(const std::string& name, std::string_view text) {
  State& s = *state_;
  s.files.push_back({{"name", name}, {"offset", s.pos}, {"bytes", text.size()},
                     {"xxh3", hex(content_checksum(text.data(), text.size()))}});
  s.write(text.data(), text.size());
  s.pad();
}

void ModelFileWriter::add_checkpoint(const std::vector<TensorSpec>& specs,
                                     const std::function<void(size_t, uint8_t*, size_t)>& fill) {
  State& s = *state_;
  const uint64_t start = s.pos;
  const std::string prefix = safetensors_prefix(specs);
  s.write(prefix.data(), prefix.size());
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < specs.size(); ++i) {
    buffer.resize(tensor_nbytes(specs[i]));
    if (!buffer.empty()) fill(i, buffer.data(), buffer.size());
    s.tensors.push_back({{"name", specs[i].name}, {"xxh3", hex(content_checksum(buffer.data(), buffer.size()))}});
    s.write(buffer.data(), buffer.size());
  }
  s.checkpoint = {{"offset", start}, {"bytes", s.pos - start}};
  s.pad();
}

void ModelFileWriter::add_matrix(const std::string& name, std::string_view type, int64_t rows, int64_t cols,
                                 const uint8_t* bytes, uint64_t length) {
  State& s = *state_;
  // Huge pages are worth their padding only in a large file (tiny test models stay tiny).
  if (s.matrices.empty() && s.pos >= 32 * kModelFileMatrixAlignment) s.pad(kModelFileMatrixAlignment);
  s.matrices.push_back({{"name", name}, {"type", std::string(type)}, {"rows", rows}, {"cols", cols},
                        {"offset", s.pos}, {"bytes", length}, {"xxh3", hex(content_checksum(bytes, length))}});
  s.write(bytes, static_cast<size_t>(length));
  s.pad();
}

void ModelFileWriter::finish() {
  State& s = *state_;
  const std::string index = json{{"format", "gemma4 model file"}, {"weight_type", s.weight_type},
                                 {"source", s.source},           {"files", s.files},
                                 {"checkpoint", s.checkpoint},   {"tensors", s.tensors},
                                 {"matrices", s.matrices}}
                                .dump();
  s.header.index_offset = s.pos;
  s.header.index_bytes = index.size();
  s.header.file_bytes = s.pos + index.size();
  s.header.index_checksum = content_checksum(index.data(), index.size());
  s.header.header_checksum = header_checksum(s.header);
  s.write(index.data(), index.size());
  if (::pwrite(s.fd, &s.header, sizeof s.header, 0) != static_cast<ssize_t>(sizeof s.header) || ::fsync(s.fd) != 0)
    throw Error("cannot write " + s.temp.string() + ": " + std::strerror(errno));
  // Written through small page-cache folios: dropped, so that the first load reads the matrices
  // into huge ones (io/streaming_mapping.h).
  drop_from_page_cache(s.fd);
  ::close(s.fd);
  s.fd = -1;
  std::error_code ec;
  std::filesystem::rename(s.temp, s.path, ec);
  if (ec) throw Error("cannot write " + s.path.string() + ": " + ec.message());
  s.finished = true;
}

}  // namespace gemma4::io
