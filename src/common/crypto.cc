#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace finsync::crypto {

std::string Sha256Hex(std::string_view data) {
  // Fetched once: looking the implementation up on every call cost a measurable share of the
  // authenticated-request path.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (sha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &digest_size, sha256, nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");  // Only on a broken OpenSSL installation.
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(digest_size * 2, '0');
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return hex;
}

bool ConstantTimeEquals(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  return CRYPTO_memcmp(left.data(), right.data(), left.size()) == 0;
}

std::string RandomBase62(size_t length) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(length);
  unsigned char bytes[64];
  while (out.size() < length) {
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw std::runtime_error("RAND_bytes failed");
    for (unsigned char byte : bytes) {
      // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
      if (byte >= 248 || out.size() == length) continue;
      out.push_back(kAlphabet[byte % 62]);
    }
  }
  return out;
}

}  // namespace finsync::crypto
