#include "webhooks/signing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto.h"

namespace finsync::webhooks {
namespace {

// The known-answer vector published with the Standard Webhooks reference libraries, checked
// independently with Python:
//   key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
//   base64.b64encode(hmac.new(key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.'
//                              b'{"test": 2432232314}', hashlib.sha256).digest())
//   -> b'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr std::string_view kBody = R"({"test": 2432232314})";
constexpr std::string_view kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(WebhookSigningTest, ReproducesTheStandardWebhooksVector) {
  auto key = SecretKey(kSecret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(Sign(*key, kId, kTimestamp, kBody), kSignature);
}

TEST(WebhookSigningTest, TheHeaderListsOneSignaturePerKeyInOrder) {
  std::vector<std::string> keys = {*SecretKey(kSecret), std::string(32, 'k')};
  std::string header = SignatureHeader(keys, kId, kTimestamp, kBody);
  std::string second = Sign(keys[1], kId, kTimestamp, kBody);
  EXPECT_EQ(header, std::string(kSignature) + " " + second);
  EXPECT_NE(second, kSignature);
  EXPECT_EQ(SignatureHeader(std::vector<std::string>{keys[0]}, kId, kTimestamp, kBody), kSignature);
}

TEST(WebhookSigningTest, EveryPartOfTheMessageIsSigned) {
  std::string key = *SecretKey(kSecret);
  EXPECT_NE(Sign(key, "msg_other", kTimestamp, kBody), kSignature);
  EXPECT_NE(Sign(key, kId, kTimestamp + 1, kBody), kSignature);
  EXPECT_NE(Sign(key, kId, kTimestamp, R"({"test":2432232314})"), kSignature);
}

TEST(WebhookSigningTest, NewSecretsAreWhsecBase64Of32RandomBytes) {
  std::string first = NewSecret();
  std::string second = NewSecret();
  EXPECT_TRUE(first.starts_with("whsec_")) << first;
  EXPECT_NE(first, second);
  auto key = SecretKey(first);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), kSecretBytes);
  EXPECT_EQ("whsec_" + crypto::Base64Encode(*key), first);
}

TEST(WebhookSigningTest, SecretKeyRefusesWhatIsNotASecret) {
  EXPECT_TRUE(SecretKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());  // Prefix optional.
  EXPECT_FALSE(SecretKey("whsec_").has_value());
  EXPECT_FALSE(SecretKey("whsec_c2hvcnQ=").has_value());  // 5 bytes: too short.
  EXPECT_FALSE(SecretKey("whsec_not base64!").has_value());
  EXPECT_FALSE(SecretKey("whsec_" + crypto::Base64Encode(std::string(65, 'x'))).has_value());
}

}  // namespace
}  // namespace finsync::webhooks
