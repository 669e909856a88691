// Small wrappers over OpenSSL: hashing, HMAC, base64, constant-time comparison and secure
// random bytes and text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace finsync::crypto {

std::string Sha256Hex(std::string_view data);
// Compares two equal-length secrets in time independent of their contents.
bool ConstantTimeEquals(std::string_view left, std::string_view right);
// `length` characters drawn uniformly from [0-9A-Za-z] using the OS CSPRNG.
std::string RandomBase62(size_t length);
// `size` random bytes from the OS CSPRNG.
std::string RandomBytes(size_t size);
// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
// Standard base64 with padding (RFC 4648 section 4).
std::string Base64Encode(std::string_view data);
// Decodes standard base64 (padding required, no whitespace); nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace finsync::crypto
