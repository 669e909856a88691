#include "webhooks/signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace finsync::webhooks {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of a base64 character, or -1.
int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t index = 0;
  for (; index + 3 <= bytes.size(); index += 3) {
    uint32_t group = (static_cast<uint8_t>(bytes[index]) << 16) |
                     (static_cast<uint8_t>(bytes[index + 1]) << 8) |
                     static_cast<uint8_t>(bytes[index + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += kAlphabet[(group >> 6) & 63];
    out += kAlphabet[group & 63];
  }
  size_t rest = bytes.size() - index;
  if (rest == 0) return out;
  uint32_t group = static_cast<uint8_t>(bytes[index]) << 16;
  if (rest == 2) group |= static_cast<uint8_t>(bytes[index + 1]) << 8;
  out += kAlphabet[(group >> 18) & 63];
  out += kAlphabet[(group >> 12) & 63];
  out += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
  out += '=';
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t index = 0; index < text.size(); index += 4) {
    bool last = index + 4 == text.size();
    int padding = 0;
    if (last && text[index + 3] == '=') padding = text[index + 2] == '=' ? 2 : 1;
    uint32_t group = 0;
    for (size_t offset = 0; offset < 4; ++offset) {
      int value = offset >= 4 - static_cast<size_t>(padding) ? 0 : Sextet(text[index + offset]);
      if (value < 0) return std::nullopt;
      group = (group << 6) | static_cast<uint32_t>(value);
    }
    out += static_cast<char>((group >> 16) & 0xFF);
    if (padding < 2) out += static_cast<char>((group >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(group & 0xFF);
    // Bits below the last full byte must be zero, so every byte string has one encoding.
    if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
      return std::nullopt;
    }
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &digest_size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");  // Only on a broken OpenSSL installation.
  }
  return std::string(reinterpret_cast<const char*>(digest), digest_size);
}

std::string NewSecret() {
  std::array<unsigned char, kSecretBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return std::string(kSecretPrefix) +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::optional<std::string> SecretKey(std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  auto key = Base64Decode(secret);
  if (!key || key->size() < 24 || key->size() > 64) return std::nullopt;
  return key;
}

std::string Sign(std::string_view key, std::string_view webhook_id, int64_t timestamp_seconds,
                 std::string_view body) {
  std::string message;
  message.reserve(webhook_id.size() + body.size() + 24);
  message.append(webhook_id).append(".").append(std::to_string(timestamp_seconds)).append(".");
  message.append(body);
  return "v1," + Base64Encode(HmacSha256(key, message));
}

std::string SignatureHeader(std::span<const std::string> keys, std::string_view webhook_id,
                            int64_t timestamp_seconds, std::string_view body) {
  std::string header;
  for (const std::string& key : keys) {
    if (!header.empty()) header += ' ';
    header += Sign(key, webhook_id, timestamp_seconds, body);
  }
  return header;
}

}  // namespace finsync::webhooks
