#include "io/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "gemma4/error.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

namespace gemma4::io {

namespace {

#ifdef __EMSCRIPTEN__
// emscripten 3.1.6's pread() passes only the low 32 bits of the offset on to its file system, as
// a signed number, and its read loop takes buffer addresses as signed 32-bit: a file past 2 GB
// (E2B's model.safetensors is 9.3 GB) or a heap past 2 GB would read the wrong bytes or fail.
// This calls the file system's read itself, on the thread that holds it, with the offset as a
// double and the address unsigned. Returns the bytes read or -errno.
ssize_t positional_read(int fd, uint8_t* out, size_t length, uint64_t offset) {
  const size_t chunk = std::min(length, size_t{1} << 30);  // the result stays an int
  return MAIN_THREAD_EM_ASM_INT(
      {
        try {
          var stream = FS.getStream($0);
          if (!stream) return -8;  // EBADF
          return FS.read(stream, HEAP8, $1 >>> 0, $2 >>> 0, $3);
        } catch (e) {
          return -(e.errno || 29);  // EIO
        }
      },
      fd, out, chunk, static_cast<double>(offset));
}
#else
ssize_t positional_read(int fd, uint8_t* out, size_t length, uint64_t offset) {
  const ssize_t got = ::pread(fd, out, length, static_cast<off_t>(offset));
  return got < 0 ? -errno : got;
}
#endif

}  // namespace

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
    const ssize_t got = positional_read(fd_, out + done, length - done, offset + done);
    if (got == -EINTR) continue;
    if (got < 0) throw Error("cannot read " + path_.string() + ": " + std::strerror(static_cast<int>(-got)));
    if (got == 0) throw Error(path_.string() + ": file ended early (truncated while open?)");
    done += static_cast<size_t>(got);
  }
}

}  // namespace gemma4::io
