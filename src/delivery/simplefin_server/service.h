// finsync as a SimpleFIN server: a user creates a setup token (optionally restricted to some
// bank accounts), a SimpleFIN client such as Actual Budget claims it once for an access URL,
// and then reads the user's synced accounts, balances and transactions with it. This service
// owns the accesses (simplefin_accesses) and reads bank data from the store; the protocol's
// parsing and rendering are in protocol.h. No HTTP here.
//
// Secrets: the claim secret (inside the setup token) and the access secret (the access URL's
// password) are random base62 text; only their SHA-256 hashes are stored, and secrets are
// compared in constant time. Every statement filters by user_id.
// Thread-safe: all state lives in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "delivery/simplefin_server/protocol.h"
#include "sources/catalog.h"
#include "store/database.h"

namespace finsync::delivery::simplefin {

inline constexpr int64_t kSetupTokenTtlMsDefault = 24 * 3'600'000;
inline constexpr size_t kAccessNameMax = 100;
inline constexpr size_t kAccessAccountsMax = 500;
// Accesses a user may hold at once (unclaimed, unexpired or claimed, not revoked).
inline constexpr int64_t kLiveAccessesPerUserMax = 100;

struct ServiceOptions {
  // This server's SimpleFIN root ("https://finsync.example.com/simplefin"): claim URLs and
  // access URLs are built from it and accounts name it as their "sfin-url".
  std::string root_url;
  int64_t setup_token_ttl_ms = kSetupTokenTtlMsDefault;
};

enum class AccessStatus : uint8_t { kUnclaimed, kClaimed, kExpired, kRevoked };
std::string_view AccessStatusName(AccessStatus status);  // "UNCLAIMED", "CLAIMED", ...

struct Access {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::optional<std::vector<int64_t>> bank_account_ids;  // nullopt: every account.
  int64_t created_at_ms = 0;
  int64_t setup_token_expires_at_ms = 0;
  std::optional<int64_t> claimed_at_ms;
  std::optional<int64_t> last_used_at_ms;
  std::optional<int64_t> revoked_at_ms;

  AccessStatus StatusAt(int64_t now_ms) const;
};

struct NewAccess {
  std::optional<std::string> name;  // Default "SimpleFIN access".
  std::optional<std::vector<int64_t>> bank_account_ids;
};

struct CreatedAccess {
  Access access;
  std::string setup_token;  // Shown once; only the hash of its claim secret is stored.
};

// What a claim came to, as data: every outcome but kClaimed is a 403 to the client.
enum class ClaimOutcome : uint8_t { kClaimed, kUnknown, kAlreadyClaimed, kExpired, kRevoked };

struct ClaimResult {
  ClaimOutcome outcome = ClaimOutcome::kUnknown;
  std::string access_url;  // With kClaimed only.
};

enum class AuthenticationOutcome : uint8_t { kAuthenticated, kBadCredentials, kRevoked };

struct AuthenticationResult {
  AuthenticationOutcome outcome = AuthenticationOutcome::kBadCredentials;
  Access access;  // With kAuthenticated only.
};

class SimplefinService {
 public:
  SimplefinService(store::Database& database, const Clock& clock, const sources::Catalog& catalog,
                   ServiceOptions options);

  const std::string& root_url() const { return options_.root_url; }

  // Errors: kValidationFailed naming name or bank_account_ids.N (not the user's account,
  // listed twice, an empty list), kPlanLimitReached beyond kLiveAccessesPerUserMax.
  Result<CreatedAccess> CreateSetupToken(int64_t user_id, const NewAccess& request);
  Result<std::vector<Access>> ListAccesses(int64_t user_id);
  // kNotFound for another user's access like a missing one.
  Result<Access> GetAccess(int64_t user_id, int64_t access_id);
  // Revoking twice keeps the first time. kNotFound as for GetAccess.
  Status RevokeAccess(int64_t user_id, int64_t access_id);

  // POST /claim/{secret}: turns an unclaimed, unexpired, unrevoked setup token into an
  // access URL, exactly once even when two claims race.
  Result<ClaimResult> Claim(std::string_view claim_secret);
  // Basic credentials: the username is the access id, the password its secret.
  Result<AuthenticationResult> Authenticate(const BasicCredentials& credentials);
  // GET /accounts for an authenticated access: its accounts (all, or its restriction,
  // narrowed by account=), their latest balances and, unless balances-only, the transactions
  // in the query's window. Problems a client should show are entries in the set's errors.
  Result<AccountSet> ReadAccountSet(const Access& access, const AccountsQuery& query);

 private:
  store::Database& database_;
  const Clock& clock_;
  const sources::Catalog& catalog_;
  ServiceOptions options_;
};

}  // namespace finsync::delivery::simplefin
