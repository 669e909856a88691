#include "common/secret_box.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/crypto.h"

namespace finsync {
namespace {

// Proves a sealed secret opens to the same text under the same key and purpose, and that the
// same plaintext seals differently each time (random nonce).
TEST(SecretBoxTest, RoundTrip) {
  SecretBox box(SecretBox::GenerateKey());
  for (const std::string& plaintext : {std::string(), std::string("ynab-token-123"),
                                       std::string(10'000, 'x'), std::string("a\0b", 3)}) {
    const std::string sealed = box.Seal("ynab_token", plaintext);
    EXPECT_EQ(sealed.substr(0, 2), "v1");
    EXPECT_EQ(sealed.size(), 2 + 12 + plaintext.size() + 16);
    auto opened = box.Open("ynab_token", sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened.value(), plaintext);
  }
  EXPECT_NE(box.Seal("ynab_token", "same"), box.Seal("ynab_token", "same"));
}

// Proves the purpose is bound: a ciphertext moved to another column does not open.
TEST(SecretBoxTest, WrongPurposeFails) {
  SecretBox box(SecretBox::GenerateKey());
  const std::string sealed = box.Seal("ynab_token", "secret");
  auto opened = box.Open("lunch_money_token", sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kInternal);
  EXPECT_NE(opened.error().detail.find("cannot decrypt"), std::string::npos);
}

// Proves flipping any single byte (version, nonce, ciphertext or tag) or truncating fails.
TEST(SecretBoxTest, TamperedByteFails) {
  SecretBox box(SecretBox::GenerateKey());
  const std::string sealed = box.Seal("ynab_token", "secret token");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(box.Open("ynab_token", tampered).ok()) << "byte " << i;
  }
  EXPECT_FALSE(box.Open("ynab_token", sealed.substr(0, sealed.size() - 1)).ok());
  EXPECT_FALSE(box.Open("ynab_token", sealed.substr(0, 29)).ok());
  EXPECT_FALSE(box.Open("ynab_token", "").ok());
  EXPECT_FALSE(box.Open("ynab_token", sealed + "x").ok());
}

// Proves another key cannot open the secret.
TEST(SecretBoxTest, WrongKeyFails) {
  SecretBox box(SecretBox::GenerateKey());
  SecretBox other(SecretBox::GenerateKey());
  EXPECT_FALSE(other.Open("ynab_token", box.Seal("ynab_token", "secret")).ok());
}

// Proves key parsing accepts exactly 32 bytes of base64 (whitespace around ignored) and
// rejects every other length and alphabet.
TEST(SecretBoxTest, ParseKeyTable) {
  const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";  // bytes 0..31
  auto parsed = SecretBox::ParseKey(good);
  ASSERT_TRUE(parsed.ok());
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(parsed.value()[i], i);
  EXPECT_TRUE(SecretBox::ParseKey("  " + good + "\n").ok());
  const std::string bad[] = {
      "",
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",      // 31 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",      // 33 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",  // 34 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",       // no padding
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH*8=",      // bad character
      "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=",     // inner space
      std::string(64, 'a'),
  };
  for (const std::string& text : bad) {
    auto result = SecretBox::ParseKey(text);
    EXPECT_FALSE(result.ok()) << text;
    if (!result.ok()) {
      EXPECT_EQ(result.error().code, ErrorCode::kBadRequest);
    }
  }
}

// Proves the key file is created once with mode 0600 and the same key is read back later;
// a file holding garbage is an error, not a silently replaced key.
TEST(SecretBoxTest, KeyFileCreatedOnceWithMode0600) {
  const std::string path = ::testing::TempDir() + "finsync_key_" + crypto::RandomBase62(8);
  auto first = SecretBox::LoadOrCreateKeyFile(path);
  ASSERT_TRUE(first.ok()) << first.error().detail;
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto second = SecretBox::LoadOrCreateKeyFile(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first.value(), second.value());
  std::ofstream(path, std::ios::trunc) << "not a key\n";
  auto broken = SecretBox::LoadOrCreateKeyFile(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().detail.find(path), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace finsync
