// Secrets at rest (YNAB and Lunch Money tokens, webhook destination secrets): sealed with
// AES-256-GCM under the server key, a random 96-bit nonce per seal, and the purpose string
// ("ynab_token", ...) as associated data so a ciphertext cannot be moved to another column.
// Sealed form: "v1" || nonce (12 bytes) || ciphertext || tag (16 bytes), as a binary string.
//
// The server key is 32 random bytes. `serve` reads it from FINSYNC_SECRET_KEY (base64), else
// from --secret-key-file, else from "<database file>.key", which is created (mode 0600) with a
// fresh random key on first start. Losing the key makes stored tokens unreadable: the user
// reconnects; nothing else is lost.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace finsync {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  explicit SecretBox(const std::array<uint8_t, kKeySize>& key) : key_(key) {}

  // A new random key.
  static std::array<uint8_t, kKeySize> GenerateKey();
  // Reads a key: base64 text of exactly 32 bytes (surrounding whitespace ignored).
  static Result<std::array<uint8_t, kKeySize>> ParseKey(std::string_view base64_text);
  // Loads the key file, creating it (0600, base64 text) with a new key when it does not exist.
  static Result<std::array<uint8_t, kKeySize>> LoadOrCreateKeyFile(const std::string& path);

  std::string Seal(std::string_view purpose, std::string_view plaintext) const;
  // kInternal with "cannot decrypt" when the key, purpose or data do not match.
  Result<std::string> Open(std::string_view purpose, std::string_view sealed) const;

 private:
  std::array<uint8_t, kKeySize> key_;
};

}  // namespace finsync
