#include "webhooks/signing.h"

#include "common/crypto.h"

namespace finsync::webhooks {

std::string NewSecret() {
  return std::string(kSecretPrefix) + crypto::Base64Encode(crypto::RandomBytes(kSecretBytes));
}

std::optional<std::string> SecretKey(std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  auto key = crypto::Base64Decode(secret);
  if (!key || key->size() < 24 || key->size() > 64) return std::nullopt;
  return key;
}

std::string Sign(std::string_view key, std::string_view webhook_id, int64_t timestamp_seconds,
                 std::string_view body) {
  std::string message;
  message.reserve(webhook_id.size() + body.size() + 24);
  message.append(webhook_id).append(".").append(std::to_string(timestamp_seconds)).append(".");
  message.append(body);
  return "v1," + crypto::Base64Encode(crypto::HmacSha256(key, message));
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
