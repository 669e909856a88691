#include "identity/identity.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace finsync::identity {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("finsync_identity_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
    auto database = store::Open(path_.string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok());
    database_ = std::move(database.value());
    service_ = std::make_unique<IdentityService>(*database_, clock_, Mode::kSandbox);
    auto user = service_->CreateUser("ada@example.com", "Ada");
    ASSERT_TRUE(user.ok());
    user_id_ = user.value().id;
  }
  void TearDown() override {
    service_.reset();
    database_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  ManualClock clock_{1'700'000'000'000};
  std::filesystem::path path_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<IdentityService> service_;
  int64_t user_id_ = 0;
};

// Proves a created token authenticates, carries its scopes, and its secret is not stored.
TEST_F(IdentityTest, CreatedTokenAuthenticates) {
  auto created = service_->CreateToken(user_id_, NewToken{"ci", kScopeRead, std::nullopt});
  ASSERT_TRUE(created.ok());
  const std::string& secret = created.value().secret;
  EXPECT_EQ(secret.rfind("fs_test_", 0), 0u);
  EXPECT_EQ(created.value().token.prefix, secret.substr(0, 12));
  auto principal = service_->Authenticate(secret);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal.value().user.email, "ada@example.com");
  EXPECT_EQ(principal.value().token.scopes, static_cast<uint32_t>(kScopeRead));
  bool secret_stored = true;
  ASSERT_TRUE(database_
                  ->Read([&](store::Connection& connection) -> Status {
                    auto rows = connection.Query(
                        "SELECT COUNT(*) FROM access_tokens WHERE token_hash = ? OR prefix = ?",
                        {secret, secret});
                    secret_stored = rows.value()[0].Int(0) > 0;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_FALSE(secret_stored);
}

// Proves every way a token can be refused, each with its own reason.
TEST_F(IdentityTest, AuthenticationRefusalsTable) {
  auto expiring = service_->CreateToken(
      user_id_, NewToken{"short", kScopeRead, clock_.NowMilliseconds() + 1000});
  auto revoked = service_->CreateToken(user_id_, NewToken{"revoked", kScopeRead, std::nullopt});
  ASSERT_TRUE(expiring.ok() && revoked.ok());
  ASSERT_TRUE(service_->RevokeToken(user_id_, revoked.value().token.id).ok());
  clock_.Advance(1000);
  struct Case {
    std::string secret;
    std::string detail_contains;
  };
  const std::vector<Case> cases = {
      {expiring.value().secret, "expired"},
      {revoked.value().secret, "revoked"},
      {"fs_test_unknownunknownunknownunknownunknown", "not valid"},
      {"fs_live_" + revoked.value().secret.substr(8), "other environment"},
      {"garbage", "not valid"},
      {"", "not valid"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.secret);
    auto result = service_->Authenticate(c.secret);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
    EXPECT_NE(result.error().detail.find(c.detail_contains), std::string::npos)
        << result.error().detail;
  }
}

// Proves token creation validates each field and reports them together.
TEST_F(IdentityTest, CreateTokenValidation) {
  auto result = service_->CreateToken(
      user_id_, NewToken{std::string(101, 'x'), 0, clock_.NowMilliseconds() - 1});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed);
  std::vector<std::string> fields;
  for (const auto& field_error : result.error().field_errors) fields.push_back(field_error.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "scopes", "expires_at"}));
  auto empty_name = service_->CreateToken(user_id_, NewToken{"", kScopeRead, std::nullopt});
  ASSERT_FALSE(empty_name.ok());
  EXPECT_EQ(empty_name.error().field_errors[0].field, "name");
}

// Proves another user's token cannot be revoked (it looks missing) and revoking is idempotent.
TEST_F(IdentityTest, RevokeIsScopedToTheOwner) {
  auto other = service_->CreateUser("bob@example.com", "Bob");
  ASSERT_TRUE(other.ok());
  auto token = service_->CreateToken(user_id_, NewToken{"mine", kScopeRead, std::nullopt});
  ASSERT_TRUE(token.ok());
  Status by_other = service_->RevokeToken(other.value().id, token.value().token.id);
  ASSERT_FALSE(by_other.ok());
  EXPECT_EQ(by_other.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(service_->Authenticate(token.value().secret).ok());
  EXPECT_TRUE(service_->RevokeToken(user_id_, token.value().token.id).ok());
  EXPECT_TRUE(service_->RevokeToken(user_id_, token.value().token.id).ok());
  EXPECT_FALSE(service_->Authenticate(token.value().secret).ok());
}

// Proves last_used_at is recorded on use and refreshed at most once a minute.
TEST_F(IdentityTest, LastUsedAtIsThrottled) {
  auto token = service_->CreateToken(user_id_, NewToken{"t", kScopeRead, std::nullopt});
  ASSERT_TRUE(token.ok());
  auto last_used = [&]() {
    // A synchronous write orders after any detached last_used_at update.
    EXPECT_TRUE(database_->Write([](store::Connection&) { return Status::Ok(); }).ok());
    auto tokens = service_->ListTokens(user_id_);
    return tokens.value()[0].last_used_at_ms;
  };
  EXPECT_EQ(last_used(), std::nullopt);
  int64_t first_use = clock_.NowMilliseconds();
  ASSERT_TRUE(service_->Authenticate(token.value().secret).ok());
  EXPECT_EQ(last_used(), first_use);
  clock_.Advance(30'000);
  ASSERT_TRUE(service_->Authenticate(token.value().secret).ok());
  EXPECT_EQ(last_used(), first_use);
  clock_.Advance(30'000);
  ASSERT_TRUE(service_->Authenticate(token.value().secret).ok());
  EXPECT_EQ(last_used(), first_use + 60'000);
}

// Proves scope text round-trips and unknown scopes are refused.
TEST(ScopesTest, TextTable) {
  EXPECT_EQ(ScopesFromText("read"), static_cast<uint32_t>(kScopeRead));
  EXPECT_EQ(ScopesFromText("read,write"), static_cast<uint32_t>(kScopeRead | kScopeWrite));
  EXPECT_EQ(ScopesFromText("write,read"), static_cast<uint32_t>(kScopeRead | kScopeWrite));
  EXPECT_EQ(ScopesFromText(""), std::nullopt);
  EXPECT_EQ(ScopesFromText("admin"), std::nullopt);
  EXPECT_EQ(ScopesFromText("read,"), std::nullopt);
  EXPECT_EQ(ScopesToText(kScopeRead | kScopeWrite), "read,write");
}

}  // namespace
}  // namespace finsync::identity
