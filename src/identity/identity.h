// Users and personal access tokens. A token's secret is shown once at creation; only its
// SHA-256 is stored. The secret's prefix names the environment ("fs_test_" for sandbox,
// "fs_live_" for production) so a sandbox token is never accepted by a production server.
// Thread-safe: all state lives in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"

namespace finsync::identity {

enum class Mode { kSandbox, kProduction };
std::string_view ModeName(Mode mode);
std::optional<Mode> ParseMode(std::string_view text);
std::string_view TokenPrefixFor(Mode mode);

// Scope bits; a token holds a non-empty set.
enum Scope : uint32_t { kScopeRead = 1, kScopeWrite = 2 };
std::string ScopesToText(uint32_t scopes);  // "read,write"
// Parses a comma-separated list; nullopt for an unknown or empty list.
std::optional<uint32_t> ScopesFromText(std::string_view text);

struct User {
  int64_t id = 0;
  std::string email;
  std::string name;
  int64_t created_at_ms = 0;
  // Bank data (transactions, balances, change feed) older than this many days is deleted by
  // the daily retention job; unset keeps everything.
  std::optional<int64_t> retention_days;
};

inline constexpr int64_t kRetentionDaysMin = 7;
inline constexpr int64_t kRetentionDaysMax = 36'500;

struct UserUpdate {
  std::optional<std::string> name;
  std::optional<std::optional<int64_t>> retention_days;  // Set to nullopt: keep everything.
};

struct AccessToken {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string prefix;  // First characters of the secret, to recognise it in lists.
  uint32_t scopes = 0;
  std::string mode;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> last_used_at_ms;
  std::optional<int64_t> revoked_at_ms;
};

struct CreatedToken {
  AccessToken token;
  std::string secret;  // Returned once; never stored.
};

struct Principal {
  User user;
  AccessToken token;
};

struct NewToken {
  std::string name;
  uint32_t scopes = kScopeRead | kScopeWrite;
  std::optional<int64_t> expires_at_ms;
};

inline constexpr size_t kTokenNameMax = 100;
// The rules a new token must satisfy, one entry per broken rule (fields: name, scopes,
// expires_at). Shared by the service and by request parsing, which adds type errors.
std::vector<FieldError> ValidateNewToken(const NewToken& request, int64_t now_ms);
inline constexpr size_t kUserNameMax = 200;
inline constexpr size_t kEmailMax = 254;

class IdentityService {
 public:
  IdentityService(store::Database& database, const Clock& clock, Mode mode)
      : database_(database), clock_(clock), mode_(mode) {}

  Mode mode() const { return mode_; }

  // Errors: kValidationFailed (email shape, name length), kConflict (email taken).
  Result<User> CreateUser(std::string_view email, std::string_view name);
  // Errors: kNotFound.
  Result<User> FindUserByEmail(std::string_view email);
  Result<User> GetUser(int64_t user_id);
  // Errors: kValidationFailed (name length; retention_days below 7 or above 36,500).
  Result<User> UpdateUser(int64_t user_id, const UserUpdate& update);

  // Errors: kValidationFailed with field errors (name, scopes, expires_at), kNotFound (user).
  Result<CreatedToken> CreateToken(int64_t user_id, const NewToken& request);
  Result<std::vector<AccessToken>> ListTokens(int64_t user_id);
  // Revokes a token of this user. Errors: kNotFound (unknown, or another user's).
  Status RevokeToken(int64_t user_id, int64_t token_id);

  // Resolves a bearer secret. Errors: kUnauthenticated with a detail saying why (unknown,
  // revoked, expired, other environment). Records last_used_at at most once a minute.
  Result<Principal> Authenticate(std::string_view secret);

 private:
  store::Database& database_;
  const Clock& clock_;
  Mode mode_;
};

}  // namespace finsync::identity
