// Standard Webhooks signing: secrets are "whsec_" + base64 of 32 random bytes; a signature is
// "v1," + base64(HMAC-SHA256(secret bytes, "<webhook-id>.<webhook-timestamp>.<body>")), and
// the webhook-signature header lists one signature per valid secret, space-separated, so a
// receiver keeps verifying through a secret rotation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace finsync::webhooks {

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr size_t kSecretBytes = 32;  // The specification asks for 24 to 64.

// A new secret from the OS CSPRNG, in the "whsec_<base64>" form shown to the user.
std::string NewSecret();
// The key bytes of a "whsec_<base64>" secret (the prefix is optional, as in the reference
// libraries); nullopt when the rest is not base64 of 24 to 64 bytes.
std::optional<std::string> SecretKey(std::string_view secret);

// "v1,<base64 signature>" of one message under one key.
std::string Sign(std::string_view key, std::string_view webhook_id, int64_t timestamp_seconds,
                 std::string_view body);
// The webhook-signature header: one "v1,..." per key, in order, separated by single spaces.
std::string SignatureHeader(std::span<const std::string> keys, std::string_view webhook_id,
                            int64_t timestamp_seconds, std::string_view body);

}  // namespace finsync::webhooks
