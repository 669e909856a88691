// Small wrappers over OpenSSL: hashing, constant-time comparison and secure random text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace finsync::crypto {

std::string Sha256Hex(std::string_view data);
// Compares two equal-length secrets in time independent of their contents.
bool ConstantTimeEquals(std::string_view left, std::string_view right);
// `length` characters drawn uniformly from [0-9A-Za-z] using the OS CSPRNG.
std::string RandomBase62(size_t length);

}  // namespace finsync::crypto
