// Writing side of safetensors: a streaming writer that never holds more than one chunk of tensor
// data, writes to a temporary name and renames only once every byte reached the file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/safetensors.h"

namespace gemma4::io {
namespace {

// Owns the temporary file until commit(): any exception on the way removes the partial file.
class TempFile {
 public:
  explicit TempFile(std::filesystem::path final_path)
      : final_path_(std::move(final_path)), temp_path_(final_path_.string() + ".tmp") {
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot create " + temp_path_.string() + ": " + std::strerror(errno));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }

  void write(const uint8_t* data, size_t len) {
    while (len > 0) {
      const ssize_t n = ::write(fd_, data, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        throw Error("writing " + temp_path_.string() + " failed" +
                    (err == ENOSPC ? std::string(" (disk full)") : std::string()) + ": " + std::strerror(err));
      }
      data += n;
      len -= static_cast<size_t>(n);
    }
  }

  void commit() {
    const int fd = fd_;
    fd_ = -1;
    // close() can report delayed write errors (e.g. on network file systems), so check it too.
    if (::close(fd) != 0) throw Error("closing " + temp_path_.string() + " failed: " + std::strerror(errno));
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
      throw Error("cannot rename " + temp_path_.string() + " to " + final_path_.string() + ": " +
                  std::strerror(errno));
    committed_ = true;
  }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Header JSON padded with spaces so the data buffer starts 8-byte aligned in the file, which
// lets readers use the mapped tensors in place for every dtype.
std::string build_header(const std::vector<TensorSpec>& specs, const std::vector<size_t>& sizes,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    header[specs[i].name] = {{"dtype", std::string(dtype_name(specs[i].dtype))},
                             {"shape", specs[i].shape},
                             {"data_offsets", {offset, offset + sizes[i]}}};
    offset += sizes[i];
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  return text;
}

// The 8-byte little-endian header length, then the header.
std::string header_with_length(const std::string& header) {
  std::string out(8, '\0');
  uint64_t header_len = header.size();
  for (char& b : out) {
    b = static_cast<char>(header_len & 0xff);
    header_len >>= 8;
  }
  return out + header;
}

std::vector<size_t> validate_specs(const std::filesystem::path& path, const std::vector<TensorSpec>& specs) {
  std::set<std::string> seen;
  std::vector<size_t> sizes;
  sizes.reserve(specs.size());
  for (const TensorSpec& spec : specs) {
    if (spec.name == "__metadata__")
      throw Error("cannot write " + path.string() + ": '__metadata__' is reserved, not a tensor name");
    if (!seen.insert(spec.name).second)
      throw Error("cannot write " + path.string() + ": tensor '" + spec.name + "' is listed twice");
    sizes.push_back(tensor_nbytes(spec));
  }
  return sizes;
}

void write_all(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
               const std::map<std::string, std::string>& metadata, size_t chunk_bytes,
               const ChunkFill& fill) {
  const std::vector<size_t> sizes = validate_specs(path, specs);
  const std::string prefix = header_with_length(build_header(specs, sizes, metadata));

  TempFile file(path);
  file.write(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size());

  size_t largest = 0;
  for (size_t s : sizes) largest = std::max(largest, s);
  std::vector<uint8_t> buffer(std::min(largest, chunk_bytes));
  for (size_t i = 0; i < specs.size(); ++i) {
    for (size_t offset = 0; offset < sizes[i]; offset += chunk_bytes) {
      const size_t len = std::min(chunk_bytes, sizes[i] - offset);
      fill(i, offset, buffer.data(), len);
      file.write(buffer.data(), len);
    }
  }
  file.commit();
}

}  // namespace

size_t tensor_nbytes(const TensorSpec& spec) {
  size_t count = 1;
  for (int64_t d : spec.shape) {
    if (d < 0) throw Error("tensor '" + spec.name + "' has a negative dimension " + std::to_string(d));
    const auto ud = static_cast<size_t>(d);
    if (ud != 0 && count > std::numeric_limits<size_t>::max() / ud)
      throw Error("tensor '" + spec.name + "' has too many elements");
    count *= ud;
  }
  const size_t elem = dtype_size(spec.dtype);
  if (count > std::numeric_limits<size_t>::max() / elem)
    throw Error("tensor '" + spec.name + "' has too many bytes");
  return count * elem;
}

std::string safetensors_prefix(const std::vector<TensorSpec>& specs, const std::map<std::string, std::string>& metadata) {
  return header_with_length(build_header(specs, validate_specs("a tensor section", specs), metadata));
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const std::function<void(size_t index, uint8_t* out, size_t nbytes)>& fill,
                       const std::map<std::string, std::string>& metadata) {
  // One chunk as large as the biggest tensor: every tensor is filled in a single call.
  size_t largest = 8;
  for (const TensorSpec& spec : specs) largest = std::max(largest, tensor_nbytes(spec));
  write_all(path, specs, metadata, largest,
            [&](size_t index, size_t, uint8_t* out, size_t len) { fill(index, out, len); });
}

void write_safetensors_chunked(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                               const ChunkFill& fill, const std::map<std::string, std::string>& metadata,
                               size_t chunk_bytes) {
  chunk_bytes = std::max<size_t>(8, (chunk_bytes + 7) / 8 * 8);
  write_all(path, specs, metadata, chunk_bytes, fill);
}

}  // namespace gemma4::io
