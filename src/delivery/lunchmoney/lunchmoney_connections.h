// Lunch Money connections: a user's Lunch Money access token (sealed at rest with SecretBox,
// purpose "lunch_money_token") and the manually-managed accounts ("assets") of that budget,
// which transfer links deliver into. No HTTP here; errors are finsync::Error values.
//
// Hierarchy: connection > assets. Deleting a connection deletes its assets, the transfer links
// that deliver into them (with their transfer items) and the rules attached to them; the
// transfer logs stay as history. A refresh that no longer finds an asset at Lunch Money
// removes it the same way.
//
// Health (as for bank connections, sync/model.h): a failed refresh or delivery makes the
// connection FAILING, kDeadAfterFailures failures in a row or a token Lunch Money rejects make
// it DEAD, and any success makes it HEALTHY again.
//
// Thread-safe: state lives in the store; the LunchMoneyApi must be thread-safe (the v1 client
// is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/secret_box.h"
#include "common/status.h"
#include "delivery/lunchmoney/lunchmoney_client.h"
#include "store/database.h"
#include "sync/model.h"

namespace finsync::delivery::lunchmoney {

inline constexpr std::string_view kTokenPurpose = "lunch_money_token";
inline constexpr size_t kAccessTokenLengthMax = 512;

struct Connection {
  int64_t id = 0;
  int64_t user_id = 0;
  std::optional<int64_t> lunch_money_user_id;
  std::string user_name;
  std::string budget_name;
  std::string primary_currency;
  sync::Health health;
  std::optional<int64_t> last_synced_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct StoredAsset {
  int64_t id = 0;  // finsync's row id: the transfer link's destination_id.
  int64_t user_id = 0;
  int64_t connection_id = 0;
  int64_t lunch_money_id = 0;
  std::string name;
  std::optional<std::string> display_name;
  std::string type_name;
  std::optional<std::string> subtype_name;
  std::string balance;   // Exact decimal text (see Asset::balance).
  std::string currency;  // Upper-case.
  std::optional<std::string> institution_name;
  bool closed = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// What delivery needs to send into one asset.
struct ResolvedAsset {
  std::string token;  // The plaintext token: keep it in memory only, never log it.
  int64_t connection_id = 0;
  int64_t lunch_money_asset_id = 0;
  std::string currency;  // Upper-case.
  bool closed = false;
  sync::HealthStatus connection_health = sync::HealthStatus::kHealthy;
};

struct ConnectionLimits {
  int64_t connections_per_user_max = 10;
};

class ConnectionService {
 public:
  ConnectionService(store::Database& database, const Clock& clock, const SecretBox& secret_box,
                    LunchMoneyApi& api, ConnectionLimits limits = {});

  // Checks the token with Lunch Money (GET /v1/me), stores it sealed with the user, budget and
  // currency, and imports the assets. Errors: kValidationFailed on "access_token" (missing,
  // too long, or rejected by Lunch Money, quoting its answer), kPlanLimitReached,
  // kTooManyRequests / kUnavailable when Lunch Money cannot answer now (nothing is stored).
  Result<Connection> CreateConnection(int64_t user_id, std::string_view access_token);
  Result<std::vector<Connection>> ListConnections(int64_t user_id);
  Result<Connection> GetConnection(int64_t user_id, int64_t connection_id);
  Status DeleteConnection(int64_t user_id, int64_t connection_id);

  // Re-reads the user and the assets from Lunch Money and records the outcome in the health.
  // Errors: kNotFound; kConflict when Lunch Money rejects the stored token (the connection is
  // DEAD: the user must connect again with a new token); kTooManyRequests and kUnavailable
  // as Lunch Money answered (health FAILING, then DEAD).
  Result<Connection> RefreshConnection(int64_t user_id, int64_t connection_id);

  Result<std::vector<StoredAsset>> ListAssets(int64_t user_id,
                                              std::optional<int64_t> connection_id);
  Result<StoredAsset> GetAsset(int64_t user_id, int64_t asset_id);

  // For delivery: the token and Lunch Money ids behind finsync's asset row `asset_id`.
  // Errors: kNotFound (no such asset for this user), kInternal when the token cannot be
  // decrypted (the server key changed: the user must connect again).
  Result<ResolvedAsset> ResolveAsset(int64_t user_id, int64_t asset_id);

  // For delivery: records the outcome of a call made with the connection's token, so the
  // connection's health reflects deliveries too (ok, or the client's error).
  Status RecordOutcome(int64_t user_id, int64_t connection_id, const Status& outcome);

 private:
  Result<std::string> Token(int64_t user_id, int64_t connection_id);
  // Stores the user and the assets read from Lunch Money, and a healthy state.
  Status StoreRefresh(int64_t user_id, int64_t connection_id, const User& user,
                      const std::vector<Asset>& assets);

  store::Database& database_;
  const Clock& clock_;
  const SecretBox& secret_box_;
  LunchMoneyApi& api_;
  ConnectionLimits limits_;
};

}  // namespace finsync::delivery::lunchmoney
