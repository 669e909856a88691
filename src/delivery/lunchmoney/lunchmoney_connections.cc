#include "delivery/lunchmoney/lunchmoney_connections.h"

#include <set>
#include <utility>

namespace finsync::delivery::lunchmoney {

namespace {

using store::Row;
using store::Value;

constexpr size_t kHealthMessageMax = 500;

constexpr std::string_view kConnectionColumns =
    "id, user_id, lunch_money_user_id, user_name, budget_name, primary_currency, health_status, "
    "health_message, failure_count, last_attempt_at, last_synced_at, created_at, updated_at";

constexpr std::string_view kAssetColumns =
    "id, user_id, connection_id, lunch_money_id, name, display_name, type_name, subtype_name, "
    "balance, currency, institution_name, closed, created_at, updated_at";

Error NotFound(std::string_view what) {
  return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
}

Error InvalidToken(std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({"access_token", std::move(message)});
  return error;
}

Connection ConnectionFromRow(const Row& row) {
  Connection c;
  c.id = row.Int(0);
  c.user_id = row.Int(1);
  c.lunch_money_user_id = row.OptionalInt(2);
  c.user_name = row.Text(3);
  c.budget_name = row.Text(4);
  c.primary_currency = row.Text(5);
  c.health.status = sync::ParseHealthStatus(row.Text(6));
  c.health.integrator_message = row.Text(7);
  c.health.failure_count = row.Int(8);
  c.health.last_attempt_at_ms = row.OptionalInt(9);
  c.last_synced_at_ms = row.OptionalInt(10);
  c.created_at_ms = row.Int(11);
  c.updated_at_ms = row.Int(12);
  return c;
}

StoredAsset AssetFromRow(const Row& row) {
  StoredAsset a;
  a.id = row.Int(0);
  a.user_id = row.Int(1);
  a.connection_id = row.Int(2);
  a.lunch_money_id = row.Int(3);
  a.name = row.Text(4);
  a.display_name = row.OptionalText(5);
  a.type_name = row.Text(6);
  a.subtype_name = row.OptionalText(7);
  a.balance = row.Text(8);
  a.currency = row.Text(9);
  a.institution_name = row.OptionalText(10);
  a.closed = row.Int(11) != 0;
  a.created_at_ms = row.Int(12);
  a.updated_at_ms = row.Int(13);
  return a;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// Lunch Money's errors reworded for a request that is about a stored connection: the codes
// that describe the caller (401 on a token, 404, 422 on fields) must not leak through.
Error ForStoredConnection(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnauthenticated:
      return Error::Of(ErrorCode::kConflict, error.detail +
                                                 " The connection needs a new token: delete it "
                                                 "and connect again.");
    case ErrorCode::kTooManyRequests:
    case ErrorCode::kUnavailable:
    case ErrorCode::kBadRequest:
      return error;
    default:
      return Error::Of(ErrorCode::kUnavailable, error.detail);
  }
}

// Deletes finsync's rows for these assets and everything that delivers into them: transfer
// links (their items cascade), and rules attached to the links and to the assets.
Status RemoveAssets(store::Connection& connection, int64_t user_id,
                    const std::vector<int64_t>& asset_ids) {
  for (int64_t asset_id : asset_ids) {
    auto links = connection.Query(
        "SELECT id FROM transfer_links WHERE user_id = ? AND destination_type = 'LUNCH_MONEY' "
        "AND destination_id = ?",
        {user_id, asset_id});
    if (!links.ok()) return links.status();
    for (const Row& link : links.value()) {
      auto detached = connection.Execute(
          "DELETE FROM rule_attachments WHERE user_id = ? AND target_kind = 'TRANSFER_LINK' AND "
          "target_id = ?",
          {user_id, link.Int(0)});
      if (!detached.ok()) return detached.status();
      auto deleted = connection.Execute("DELETE FROM transfer_links WHERE id = ? AND user_id = ?",
                                        {link.Int(0), user_id});
      if (!deleted.ok()) return deleted.status();
    }
    auto detached = connection.Execute(
        "DELETE FROM rule_attachments WHERE user_id = ? AND target_kind = 'LUNCH_MONEY' AND "
        "target_id = ?",
        {user_id, asset_id});
    if (!detached.ok()) return detached.status();
    auto deleted = connection.Execute("DELETE FROM lunch_money_assets WHERE id = ? AND user_id = ?",
                                      {asset_id, user_id});
    if (!deleted.ok()) return deleted.status();
  }
  return Status::Ok();
}

Status UpsertAssets(store::Connection& connection, int64_t user_id, int64_t connection_id,
                    const std::vector<Asset>& assets, int64_t now_ms) {
  for (const Asset& asset : assets) {
    auto upserted = connection.Execute(
        "INSERT INTO lunch_money_assets (user_id, connection_id, lunch_money_id, name, "
        "display_name, type_name, subtype_name, balance, currency, institution_name, closed, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (connection_id, lunch_money_id) DO UPDATE SET name = excluded.name, "
        "display_name = excluded.display_name, type_name = excluded.type_name, "
        "subtype_name = excluded.subtype_name, balance = excluded.balance, "
        "currency = excluded.currency, institution_name = excluded.institution_name, "
        "closed = excluded.closed, updated_at = excluded.updated_at",
        {user_id, connection_id, asset.id, asset.name, store::OptionalText(asset.display_name),
         asset.type_name, store::OptionalText(asset.subtype_name), asset.balance, asset.currency,
         store::OptionalText(asset.institution_name), int64_t{asset.closed ? 1 : 0}, now_ms,
         now_ms});
    if (!upserted.ok()) return upserted.status();
  }
  return Status::Ok();
}

}  // namespace

ConnectionService::ConnectionService(store::Database& database, const Clock& clock,
                                     const SecretBox& secret_box, LunchMoneyApi& api,
                                     ConnectionLimits limits)
    : database_(database), clock_(clock), secret_box_(secret_box), api_(api), limits_(limits) {}

Result<Connection> ConnectionService::CreateConnection(int64_t user_id,
                                                       std::string_view access_token) {
  const std::string token = Trimmed(access_token);
  if (token.empty()) return InvalidToken("is required");
  if (token.size() > kAccessTokenLengthMax) {
    return InvalidToken("must be at most " + std::to_string(kAccessTokenLengthMax) + " characters");
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return InvalidToken("must not contain spaces or control characters");
    }
  }
  const Error plan_limit =
      Error::Of(ErrorCode::kPlanLimitReached, "Plan limit reached: at most " +
                                                  std::to_string(limits_.connections_per_user_max) +
                                                  " Lunch Money connections per user.");
  auto existing = ListConnections(user_id);
  if (!existing.ok()) return existing.error();
  if (static_cast<int64_t>(existing.value().size()) >= limits_.connections_per_user_max) {
    return plan_limit;
  }
  auto user = api_.GetMe(token);
  if (!user.ok()) {
    if (user.error().code == ErrorCode::kUnauthenticated) {
      return InvalidToken("was rejected by Lunch Money: " + user.error().detail);
    }
    return ForStoredConnection(user.error());
  }
  auto assets = api_.ListAssets(token);
  if (!assets.ok()) {
    if (assets.error().code == ErrorCode::kUnauthenticated) {
      return InvalidToken("was rejected by Lunch Money: " + assets.error().detail);
    }
    return ForStoredConnection(assets.error());
  }
  const User& me = user.value();
  const int64_t now = clock_.NowMilliseconds();
  const std::string sealed = secret_box_.Seal(kTokenPurpose, token);
  int64_t connection_id = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    // Counted again inside the write, so two concurrent creations cannot pass the limit.
    auto count = connection.Query("SELECT COUNT(*) FROM lunch_money_connections WHERE user_id = ?",
                                  {user_id});
    if (!count.ok()) return count.status();
    if (count.value()[0].Int(0) >= limits_.connections_per_user_max) return plan_limit;
    auto inserted = connection.Query(
        "INSERT INTO lunch_money_connections (user_id, token_ciphertext, lunch_money_user_id, "
        "user_name, budget_name, primary_currency, last_attempt_at, last_synced_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {user_id, sealed, me.user_id, me.user_name, me.budget_name, me.primary_currency, now, now,
         now, now});
    if (!inserted.ok()) return inserted.status();
    connection_id = inserted.value()[0].Int(0);
    return UpsertAssets(connection, user_id, connection_id, assets.value(), now);
  });
  if (!status.ok()) return status.error();
  return GetConnection(user_id, connection_id);
}

Result<std::vector<Connection>> ConnectionService::ListConnections(int64_t user_id) {
  std::vector<Connection> connections;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kConnectionColumns) +
                                     " FROM lunch_money_connections WHERE user_id = ? ORDER BY id",
                                 {user_id});
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) connections.push_back(ConnectionFromRow(row));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return connections;
}

Result<Connection> ConnectionService::GetConnection(int64_t user_id, int64_t connection_id) {
  std::optional<Connection> found;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kConnectionColumns) +
                                     " FROM lunch_money_connections WHERE id = ? AND user_id = ?",
                                 {connection_id, user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) found = ConnectionFromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!found) return NotFound("Lunch Money connection");
  return *found;
}

Status ConnectionService::DeleteConnection(int64_t user_id, int64_t connection_id) {
  return database_.Write([&](store::Connection& connection) -> Status {
    auto exists =
        connection.Query("SELECT id FROM lunch_money_connections WHERE id = ? AND user_id = ?",
                         {connection_id, user_id});
    if (!exists.ok()) return exists.status();
    if (exists.value().empty()) return NotFound("Lunch Money connection");
    auto assets = connection.Query(
        "SELECT id FROM lunch_money_assets WHERE connection_id = ? AND user_id = ?",
        {connection_id, user_id});
    if (!assets.ok()) return assets.status();
    std::vector<int64_t> asset_ids;
    for (const Row& row : assets.value()) asset_ids.push_back(row.Int(0));
    Status removed = RemoveAssets(connection, user_id, asset_ids);
    if (!removed.ok()) return removed;
    return connection
        .Execute("DELETE FROM lunch_money_connections WHERE id = ? AND user_id = ?",
                 {connection_id, user_id})
        .status();
  });
}

Result<std::string> ConnectionService::Token(int64_t user_id, int64_t connection_id) {
  std::optional<std::string> sealed;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT token_ciphertext FROM lunch_money_connections WHERE id = ? AND user_id = ?",
        {connection_id, user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) sealed = rows.value()[0].Text(0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!sealed) return NotFound("Lunch Money connection");
  auto token = secret_box_.Open(kTokenPurpose, *sealed);
  if (!token.ok()) {
    return Error::Of(ErrorCode::kInternal,
                     "The stored Lunch Money token cannot be decrypted (the server key "
                     "changed?): connect to Lunch Money again.");
  }
  return token;
}

Result<Connection> ConnectionService::RefreshConnection(int64_t user_id, int64_t connection_id) {
  auto token = Token(user_id, connection_id);
  if (!token.ok()) {
    if (token.error().code == ErrorCode::kInternal) {
      Error unreadable = Error::Of(ErrorCode::kConflict, token.error().detail);
      (void)RecordOutcome(user_id, connection_id,
                          Error::Of(ErrorCode::kUnauthenticated, unreadable.detail));
      return unreadable;
    }
    return token.error();
  }
  auto user = api_.GetMe(token.value());
  Result<std::vector<Asset>> assets = std::vector<Asset>{};
  if (user.ok()) assets = api_.ListAssets(token.value());
  Status failure = !user.ok() ? Status(user.error()) : assets.status();
  if (!failure.ok()) {
    Status recorded = RecordOutcome(user_id, connection_id, failure);
    if (!recorded.ok()) return recorded.error();
    return ForStoredConnection(failure.error());
  }
  Status stored = StoreRefresh(user_id, connection_id, user.value(), assets.value());
  if (!stored.ok()) return stored.error();
  return GetConnection(user_id, connection_id);
}

Status ConnectionService::StoreRefresh(int64_t user_id, int64_t connection_id, const User& user,
                                       const std::vector<Asset>& assets) {
  const int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    auto updated = connection.Execute(
        "UPDATE lunch_money_connections SET lunch_money_user_id = ?, user_name = ?, "
        "budget_name = ?, primary_currency = ?, health_status = 'HEALTHY', health_message = '', "
        "failure_count = 0, last_attempt_at = ?, last_synced_at = ?, updated_at = ? "
        "WHERE id = ? AND user_id = ?",
        {user.user_id, user.user_name, user.budget_name, user.primary_currency, now, now, now,
         connection_id, user_id});
    if (!updated.ok()) return updated.status();
    // Deleted while Lunch Money was being asked: nothing to store.
    if (updated.value() == 0) return NotFound("Lunch Money connection");
    std::set<int64_t> listed;
    for (const Asset& asset : assets) listed.insert(asset.id);
    auto stored = connection.Query(
        "SELECT id, lunch_money_id FROM lunch_money_assets WHERE connection_id = ? AND "
        "user_id = ?",
        {connection_id, user_id});
    if (!stored.ok()) return stored.status();
    std::vector<int64_t> gone;
    for (const Row& row : stored.value()) {
      if (listed.count(row.Int(1)) == 0) gone.push_back(row.Int(0));
    }
    Status removed = RemoveAssets(connection, user_id, gone);
    if (!removed.ok()) return removed;
    return UpsertAssets(connection, user_id, connection_id, assets, now);
  });
}

Status ConnectionService::RecordOutcome(int64_t user_id, int64_t connection_id,
                                        const Status& outcome) {
  const int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    Result<int64_t> changed = int64_t{0};
    if (outcome.ok()) {
      changed = connection.Execute(
          "UPDATE lunch_money_connections SET health_status = 'HEALTHY', health_message = '', "
          "failure_count = 0, last_attempt_at = ?, updated_at = ? WHERE id = ? AND user_id = ?",
          {now, now, connection_id, user_id});
    } else if (outcome.error().code == ErrorCode::kTooManyRequests) {
      // Lunch Money asked us to slow down: that says nothing about the connection's health.
      changed = connection.Execute(
          "UPDATE lunch_money_connections SET last_attempt_at = ?, updated_at = ? "
          "WHERE id = ? AND user_id = ?",
          {now, now, connection_id, user_id});
    } else {
      const bool rejected = outcome.error().code == ErrorCode::kUnauthenticated;
      std::string message = TruncateForLunchMoney(outcome.error().detail, kHealthMessageMax);
      changed = connection.Execute(
          "UPDATE lunch_money_connections SET failure_count = failure_count + 1, "
          "health_status = CASE WHEN ? = 1 OR failure_count + 1 >= ? THEN 'DEAD' "
          "ELSE 'FAILING' END, health_message = ?, last_attempt_at = ?, updated_at = ? "
          "WHERE id = ? AND user_id = ?",
          {int64_t{rejected ? 1 : 0}, sync::kDeadAfterFailures, message, now, now, connection_id,
           user_id});
    }
    if (!changed.ok()) return changed.status();
    if (changed.value() == 0) return NotFound("Lunch Money connection");
    return Status::Ok();
  });
}

Result<std::vector<StoredAsset>> ConnectionService::ListAssets(
    int64_t user_id, std::optional<int64_t> connection_id) {
  std::vector<StoredAsset> assets;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    std::string sql =
        "SELECT " + std::string(kAssetColumns) + " FROM lunch_money_assets WHERE user_id = ?";
    std::vector<Value> params = {user_id};
    if (connection_id) {
      sql += " AND connection_id = ?";
      params.emplace_back(*connection_id);
    }
    sql += " ORDER BY connection_id, id";
    auto rows = connection.Query(sql, std::span<const Value>(params));
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) assets.push_back(AssetFromRow(row));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return assets;
}

Result<StoredAsset> ConnectionService::GetAsset(int64_t user_id, int64_t asset_id) {
  std::optional<StoredAsset> found;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kAssetColumns) +
                                     " FROM lunch_money_assets WHERE id = ? AND user_id = ?",
                                 {asset_id, user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) found = AssetFromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!found) return NotFound("Lunch Money asset");
  return *found;
}

Result<ResolvedAsset> ConnectionService::ResolveAsset(int64_t user_id, int64_t asset_id) {
  std::optional<std::pair<ResolvedAsset, std::string>> found;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT a.lunch_money_id, a.currency, a.closed, c.id, c.token_ciphertext, "
        "c.health_status FROM lunch_money_assets a JOIN lunch_money_connections c ON "
        "c.id = a.connection_id WHERE a.id = ? AND a.user_id = ? AND c.user_id = ?",
        {asset_id, user_id, user_id});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::Ok();
    const Row& row = rows.value()[0];
    ResolvedAsset resolved;
    resolved.lunch_money_asset_id = row.Int(0);
    resolved.currency = row.Text(1);
    resolved.closed = row.Int(2) != 0;
    resolved.connection_id = row.Int(3);
    resolved.connection_health = sync::ParseHealthStatus(row.Text(5));
    found.emplace(std::move(resolved), row.Text(4));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!found) return NotFound("Lunch Money asset");
  auto token = secret_box_.Open(kTokenPurpose, found->second);
  if (!token.ok()) {
    return Error::Of(ErrorCode::kInternal,
                     "The stored Lunch Money token cannot be decrypted (the server key "
                     "changed?): connect to Lunch Money again.");
  }
  found->first.token = std::move(token.value());
  return std::move(found->first);
}

}  // namespace finsync::delivery::lunchmoney
