#include "common/crypto.h"

#include <gtest/gtest.h>

namespace finsync::crypto {
namespace {

TEST(CryptoTest, HmacSha256MatchesRfc4231TestCase2) {
  // RFC 4231 section 4.3: key "Jefe", data "what do ya want for nothing?".
  std::string mac = HmacSha256("Jefe", "what do ya want for nothing?");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : mac) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  EXPECT_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, Base64RoundTripsRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  std::string binary("\0\xff\x10", 3);
  EXPECT_EQ(Base64Decode(Base64Encode(binary)).value(), binary);
}

TEST(CryptoTest, Base64DecodeRefusesMalformedText) {
  EXPECT_FALSE(Base64Decode("Zm9").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());
  EXPECT_FALSE(Base64Decode("Z=9v").has_value());
  EXPECT_FALSE(Base64Decode("Zm-_").has_value());
}

TEST(CryptoTest, RandomBytesHaveTheAskedSizeAndDiffer) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

}  // namespace
}  // namespace finsync::crypto
