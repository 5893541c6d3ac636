#include "io/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "gemma4/error.h"

namespace gemma4::io {

FileReader FileReader::open(const std::filesystem::path& path) {
  const std::string shown = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error("file not found: " + shown);
    throw Error("cannot open " + shown + ": " + std::strerror(err));
  }
  FileReader file;
  file.fd_ = fd;  // closed by the destructor on every exit path below
  file.path_ = path;
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("cannot stat " + shown + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(shown + " is not a regular file");
  file.size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

FileReader::FileReader(FileReader&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), size_(std::exchange(other.size_, 0)) {}

FileReader& FileReader::operator=(FileReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReader::read(uint64_t offset, size_t length, uint8_t* out) const {
  if (offset > size_ || length > size_ - offset)
    throw Error(path_.string() + ": read of " + std::to_string(length) + " bytes at offset " +
                std::to_string(offset) + " runs past the end of the " + std::to_string(size_) + "-byte file");
  size_t done = 0;
  while (done < length) {
    const ssize_t got = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error("cannot read " + path_.string() + ": " + std::strerror(errno));
    if (got == 0) throw Error(path_.string() + ": file ended early (truncated while open?)");
    done += static_cast<size_t>(got);
  }
}

}  // namespace gemma4::io
