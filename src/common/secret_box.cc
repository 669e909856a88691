#include "common/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/crypto.h"

namespace finsync {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string Base64(const uint8_t* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(written));
  return out;
}

std::string_view TrimSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::string ErrnoText() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::Of(ErrorCode::kInternal, "writing the key file: " + ErrnoText());
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Writes the key under a temporary name and links it into place: the key file either does not
// exist or holds a whole key, and two servers starting at once agree on one key (link() fails
// for the loser, which then reads the winner's file).
Status CreateKeyFile(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp." + crypto::RandomBase62(12);
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::Of(ErrorCode::kInternal,
                     "cannot create the secret key file " + path + ": " + ErrnoText());
  }
  Status written = WriteAll(fd, text);
  if (written.ok() && fsync(fd) != 0) {
    written = Error::Of(ErrorCode::kInternal, "syncing the key file: " + ErrnoText());
  }
  close(fd);
  if (written.ok() && link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    written = Error::Of(ErrorCode::kInternal,
                        "cannot create the secret key file " + path + ": " + ErrnoText());
  }
  unlink(temporary.c_str());
  if (!written.ok()) return written;
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int directory_fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd >= 0) {
    fsync(directory_fd);
    close(directory_fd);
  }
  return Status::Ok();
}

}  // namespace

std::array<uint8_t, SecretBox::kKeySize> SecretBox::GenerateKey() {
  std::array<uint8_t, kKeySize> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return key;
}

Result<std::array<uint8_t, SecretBox::kKeySize>> SecretBox::ParseKey(std::string_view base64_text) {
  const std::string_view text = TrimSpace(base64_text);
  const Error invalid =
      Error::Of(ErrorCode::kBadRequest, "the secret key must be base64 text of exactly 32 bytes");
  // 32 bytes are 44 base64 characters, the last one '=' padding.
  if (text.size() != 44 || text[43] != '=' || text[42] == '=') return invalid;
  for (size_t i = 0; i < 43; ++i) {
    const char c = text[i];
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!alphabet) return invalid;
  }
  unsigned char decoded[33];
  if (EVP_DecodeBlock(decoded, Bytes(text), static_cast<int>(text.size())) != 33) return invalid;
  std::array<uint8_t, kKeySize> key{};
  std::memcpy(key.data(), decoded, kKeySize);  // The 33rd byte is the padding's zero.
  return key;
}

Result<std::array<uint8_t, SecretBox::kKeySize>> SecretBox::LoadOrCreateKeyFile(
    const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::string text;
      char buffer[256];
      ssize_t n = 0;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0 && text.size() < 4096) {
        text.append(buffer, static_cast<size_t>(n));
      }
      close(fd);
      auto key = ParseKey(text);
      if (!key.ok()) {
        return Error::Of(ErrorCode::kInternal, "the secret key file " + path +
                                                   " does not hold a key: " + key.error().detail);
      }
      return key;
    }
    if (errno != ENOENT) {
      return Error::Of(ErrorCode::kInternal,
                       "cannot read the secret key file " + path + ": " + ErrnoText());
    }
    const auto key = GenerateKey();
    Status created = CreateKeyFile(path, Base64(key.data(), key.size()) + "\n");
    if (!created.ok()) return created.error();
    // Read back what is in place: another process may have created the file first.
  }
  return Error::Of(ErrorCode::kInternal, "cannot create the secret key file " + path);
}

std::string SecretBox::Seal(std::string_view purpose, std::string_view plaintext) const {
  unsigned char nonce[kNonceSize];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1) throw std::runtime_error("RAND_bytes failed");
  CipherContext context(EVP_CIPHER_CTX_new());
  std::string sealed(kVersion.size() + kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  std::memcpy(out, kVersion.data(), kVersion.size());
  std::memcpy(out + kVersion.size(), nonce, kNonceSize);
  unsigned char* ciphertext = out + kVersion.size() + kNonceSize;
  int length = 0;
  bool ok = context != nullptr &&
            EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
            EVP_EncryptInit_ex(context.get(), nullptr, nullptr, key_.data(), nonce) == 1 &&
            EVP_EncryptUpdate(context.get(), nullptr, &length, Bytes(purpose),
                              static_cast<int>(purpose.size())) == 1 &&
            EVP_EncryptUpdate(context.get(), ciphertext, &length, Bytes(plaintext),
                              static_cast<int>(plaintext.size())) == 1;
  int final_length = 0;
  ok = ok && EVP_EncryptFinal_ex(context.get(), ciphertext + length, &final_length) == 1 &&
       EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                           ciphertext + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");  // Broken OpenSSL only.
  return sealed;
}

Result<std::string> SecretBox::Open(std::string_view purpose, std::string_view sealed) const {
  const Error cannot = Error::Of(ErrorCode::kInternal, "cannot decrypt the stored secret");
  if (sealed.size() < kVersion.size() + kNonceSize + kTagSize ||
      sealed.substr(0, kVersion.size()) != kVersion) {
    return cannot;
  }
  const unsigned char* nonce = Bytes(sealed) + kVersion.size();
  const size_t text_size = sealed.size() - kVersion.size() - kNonceSize - kTagSize;
  const unsigned char* ciphertext = nonce + kNonceSize;
  std::string tag(reinterpret_cast<const char*>(ciphertext + text_size), kTagSize);
  std::string plaintext(text_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  CipherContext context(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  const bool ok =
      context != nullptr &&
      EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, key_.data(), nonce) == 1 &&
      EVP_DecryptUpdate(context.get(), nullptr, &length, Bytes(purpose),
                        static_cast<int>(purpose.size())) == 1 &&
      EVP_DecryptUpdate(context.get(), out, &length, ciphertext, static_cast<int>(text_size)) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(context.get(), out + length, &final_length) == 1;
  if (!ok) return cannot;
  return plaintext;
}

}  // namespace finsync
