#include "hub/digest.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "gemma4/error.h"

namespace gemma4::hub {

struct Digest::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Digest::Digest(Kind kind, uint64_t git_size) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  const EVP_MD* md = kind == Kind::Sha256 ? EVP_sha256() : EVP_sha1();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, md, nullptr) != 1) throw Error("OpenSSL cannot start a digest");
  if (kind == Kind::GitSha1) {
    const std::string prefix = "blob " + std::to_string(git_size);
    update(prefix.data(), prefix.size() + 1);  // with the terminating NUL, as git hashes it
  }
}

Digest::~Digest() = default;

void Digest::update(const void* data, size_t n) { EVP_DigestUpdate(ctx_->md, data, n); }

std::string Digest::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &n);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < n; ++i) {
    s += digits[out[i] >> 4];
    s += digits[out[i] & 15];
  }
  return s;
}

bool Digest::kind_of_etag(std::string_view etag, Kind& kind) {
  for (char c : etag) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  if (etag.size() == 64) kind = Kind::Sha256;
  else if (etag.size() == 40) kind = Kind::GitSha1;
  else return false;
  return true;
}

void digest_file_prefix(const std::filesystem::path& path, uint64_t bytes, Digest& digest) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string());
  std::vector<char> buf(size_t{1} << 20);
  while (bytes > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, buf.size()));
    in.read(buf.data(), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n) throw Error("cannot read " + path.string());
    digest.update(buf.data(), n);
    bytes -= n;
  }
}

}  // namespace gemma4::hub
