#include "delivery/ynab/ynab_mirror.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "domain/date.h"
#include "jobs/recurring.h"

namespace finsync::delivery::ynab {

namespace {

constexpr int64_t kDayMs = 86'400'000;

std::string DedupeKey(int64_t connection_id) {
  return jobs::DedupeKey("ynab:connection", connection_id);
}

Error NotFound(std::string_view what) {
  return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
}

// ---- row mapping ---------------------------------------------------------------------------

constexpr char kConnectionColumns[] =
    "id, user_id, ynab_user_id, enabled, sync_balances, sync_payees, sync_categories, "
    "sync_transactions, health_status, health_message, failure_count, last_attempt_at, "
    "last_synced_at, created_at, updated_at";

YnabConnection ConnectionFromRow(const store::Row& row) {
  YnabConnection c;
  c.id = row.Int(0);
  c.user_id = row.Int(1);
  c.ynab_user_id = row.Text(2);
  c.enabled = row.Int(3) != 0;
  c.sync_balances = row.Int(4) != 0;
  c.sync_payees = row.Int(5) != 0;
  c.sync_categories = row.Int(6) != 0;
  c.sync_transactions = row.Int(7) != 0;
  c.health.status = sync::ParseHealthStatus(row.Text(8));
  c.health.integrator_message = row.Text(9);
  c.health.failure_count = row.Int(10);
  c.health.last_attempt_at_ms = row.OptionalInt(11);
  c.last_synced_at_ms = row.OptionalInt(12);
  c.created_at_ms = row.Int(13);
  c.updated_at_ms = row.Int(14);
  return c;
}

constexpr char kBudgetColumns[] =
    "b.id, b.user_id, b.connection_id, b.ynab_id, b.enabled, b.name, b.currency, b.first_month, "
    "b.last_month, b.last_synced_at, b.created_at, b.updated_at";

YnabBudget BudgetFromRow(const store::Row& row) {
  YnabBudget b;
  b.id = row.Int(0);
  b.user_id = row.Int(1);
  b.connection_id = row.Int(2);
  b.ynab_id = row.Text(3);
  b.enabled = row.Int(4) != 0;
  b.name = row.Text(5);
  b.currency = row.Text(6);
  b.first_month = row.Text(7);
  b.last_month = row.Text(8);
  b.last_synced_at_ms = row.OptionalInt(9);
  b.created_at_ms = row.Int(10);
  b.updated_at_ms = row.Int(11);
  return b;
}

constexpr char kAccountColumns[] =
    "a.id, a.user_id, a.budget_id, a.ynab_id, b.currency, a.name, a.type, a.on_budget, a.closed, "
    "a.deleted, a.note, a.balance, a.cleared_balance, a.uncleared_balance, a.transfer_payee_id, "
    "a.direct_import_linked, a.last_reconciled_at, a.health_status, a.health_message, "
    "a.failure_count, a.last_attempt_at, a.created_at, a.updated_at";

YnabBudgetAccount AccountFromRow(const store::Row& row) {
  YnabBudgetAccount a;
  a.id = row.Int(0);
  a.user_id = row.Int(1);
  a.budget_id = row.Int(2);
  a.ynab_id = row.Text(3);
  a.currency = row.Text(4);
  a.name = row.Text(5);
  a.type = row.Text(6);
  a.on_budget = row.Int(7) != 0;
  a.closed = row.Int(8) != 0;
  a.deleted = row.Int(9) != 0;
  a.note = row.OptionalText(10);
  a.balance_milliunits = row.Int(11);
  a.cleared_balance_milliunits = row.Int(12);
  a.uncleared_balance_milliunits = row.Int(13);
  a.transfer_payee_id = row.OptionalText(14);
  a.direct_import_linked = row.Int(15) != 0;
  a.last_reconciled_at = row.OptionalText(16);
  a.health.status = sync::ParseHealthStatus(row.Text(17));
  a.health.integrator_message = row.Text(18);
  a.health.failure_count = row.Int(19);
  a.health.last_attempt_at_ms = row.OptionalInt(20);
  a.created_at_ms = row.Int(21);
  a.updated_at_ms = row.Int(22);
  return a;
}

// Budgets the user sees: not ignored (deleted by the user), and their connection is theirs.
constexpr char kVisibleBudget[] = "b.user_id = ? AND b.ignored = 0";

Result<std::vector<store::Row>> Query(store::Database& database, std::string_view sql,
                                      std::vector<store::Value> params) {
  std::vector<store::Row> rows;
  Status status = database.Read([&](store::Connection& connection) -> Status {
    auto result = connection.Query(sql, std::span<const store::Value>(params));
    if (!result.ok()) return result.status();
    rows = std::move(result.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return rows;
}

// ---- applying YNAB's answers (inside one Write per budget) ---------------------------------

Status UpsertAccounts(store::Connection& db, const YnabBudget& budget,
                      const std::vector<Account>& accounts, bool sync_balances, int64_t now) {
  const std::string balances_update =
      sync_balances ? "balance = excluded.balance, cleared_balance = excluded.cleared_balance, "
                      "uncleared_balance = excluded.uncleared_balance, "
                    : "";
  const std::string sql =
      "INSERT INTO ynab_budget_accounts (user_id, budget_id, ynab_id, name, type, on_budget, "
      "closed, deleted, note, balance, cleared_balance, uncleared_balance, transfer_payee_id, "
      "direct_import_linked, last_reconciled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget_id, ynab_id) DO UPDATE SET name = "
      "excluded.name, type = excluded.type, on_budget = excluded.on_budget, closed = "
      "excluded.closed, deleted = excluded.deleted, note = excluded.note, " +
      balances_update +
      "transfer_payee_id = excluded.transfer_payee_id, direct_import_linked = "
      "excluded.direct_import_linked, last_reconciled_at = excluded.last_reconciled_at, "
      "updated_at = excluded.updated_at";
  for (const Account& a : accounts) {
    auto done =
        db.Execute(sql, {budget.user_id, budget.id, a.id, a.name, a.type, int64_t{a.on_budget},
                         int64_t{a.closed}, int64_t{a.deleted}, store::OptionalText(a.note),
                         sync_balances ? a.balance : 0, sync_balances ? a.cleared_balance : 0,
                         sync_balances ? a.uncleared_balance : 0,
                         store::OptionalText(a.transfer_payee_id), int64_t{a.direct_import_linked},
                         store::OptionalText(a.last_reconciled_at), now, now});
    if (!done.ok()) return done.status();
  }
  return Status::Ok();
}

Status UpsertPayees(store::Connection& db, const YnabBudget& budget,
                    const std::vector<Payee>& payees, int64_t now) {
  for (const Payee& p : payees) {
    auto done = db.Execute(
        "INSERT INTO ynab_payees (user_id, budget_id, ynab_id, name, transfer_account_id, "
        "deleted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
        "(budget_id, ynab_id) DO UPDATE SET name = excluded.name, transfer_account_id = "
        "excluded.transfer_account_id, deleted = excluded.deleted, updated_at = "
        "excluded.updated_at",
        {budget.user_id, budget.id, p.id, p.name, store::OptionalText(p.transfer_account_id),
         int64_t{p.deleted}, now, now});
    if (!done.ok()) return done.status();
  }
  return Status::Ok();
}

Status UpsertCategories(store::Connection& db, const YnabBudget& budget,
                        const std::vector<Category>& categories, int64_t now) {
  for (const Category& c : categories) {
    auto done = db.Execute(
        "INSERT INTO ynab_categories (user_id, budget_id, ynab_id, category_group_id, "
        "category_group_name, name, hidden, deleted, created_at, updated_at) VALUES (?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?) ON CONFLICT (budget_id, ynab_id) DO UPDATE SET category_group_id = "
        "excluded.category_group_id, category_group_name = excluded.category_group_name, name = "
        "excluded.name, hidden = excluded.hidden, deleted = excluded.deleted, updated_at = "
        "excluded.updated_at",
        {budget.user_id, budget.id, c.id, c.category_group_id, c.category_group_name, c.name,
         int64_t{c.hidden}, int64_t{c.deleted}, now, now});
    if (!done.ok()) return done.status();
  }
  return Status::Ok();
}

Status UpsertTransactions(store::Connection& db, const YnabBudget& budget,
                          const std::vector<Transaction>& transactions, int64_t now) {
  // Accounts the user deleted are not mirrored any more, not even their transactions.
  auto ignored = db.Query(
      "SELECT ynab_id FROM ynab_budget_accounts WHERE user_id = ? AND budget_id = ? AND "
      "ignored = 1",
      {budget.user_id, budget.id});
  if (!ignored.ok()) return ignored.status();
  std::set<std::string> ignored_accounts;
  for (const auto& row : ignored.value()) ignored_accounts.insert(row.Text(0));
  for (const Transaction& t : transactions) {
    if (ignored_accounts.count(t.account_id) != 0) continue;
    auto done = db.Execute(
        "INSERT INTO ynab_transactions (user_id, budget_id, ynab_id, account_ynab_id, date, "
        "amount, memo, cleared, approved, flag_color, payee_id, payee_name, category_id, "
        "category_name, import_id, deleted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget_id, ynab_id) DO UPDATE SET "
        "account_ynab_id = excluded.account_ynab_id, date = excluded.date, amount = "
        "excluded.amount, memo = excluded.memo, cleared = excluded.cleared, approved = "
        "excluded.approved, flag_color = excluded.flag_color, payee_id = excluded.payee_id, "
        "payee_name = excluded.payee_name, category_id = excluded.category_id, category_name = "
        "excluded.category_name, import_id = excluded.import_id, deleted = excluded.deleted, "
        "updated_at = excluded.updated_at",
        {budget.user_id, budget.id, t.id, t.account_id, t.date, t.amount,
         store::OptionalText(t.memo), t.cleared, int64_t{t.approved},
         store::OptionalText(t.flag_color), store::OptionalText(t.payee_id),
         store::OptionalText(t.payee_name), store::OptionalText(t.category_id),
         store::OptionalText(t.category_name), store::OptionalText(t.import_id), int64_t{t.deleted},
         now, now});
    if (!done.ok()) return done.status();
  }
  return Status::Ok();
}

// Keyset positions: "<id>" for id order, "<date>|<id>" for (date, id) descending order.
std::optional<int64_t> ParsePositionId(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

Error YnabErrorForCaller(const Error& ynab_error, const std::string& token_field) {
  switch (ynab_error.code) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInsufficientScope:
      if (!token_field.empty()) {
        return Error{
            ErrorCode::kValidationFailed, ynab_error.detail, {{token_field, ynab_error.detail}}};
      }
      return Error::Of(ErrorCode::kConflict,
                       ynab_error.detail + " Connect YNAB again with a new access token.");
    case ErrorCode::kTooManyRequests:
      return ynab_error;
    case ErrorCode::kValidationFailed:
      // Our own pre-send checks name fields; a 400 from YNAB is YNAB refusing our request.
      if (!ynab_error.field_errors.empty()) return ynab_error;
      return Error::Of(ErrorCode::kUnavailable, ynab_error.detail);
    default:
      return Error::Of(ErrorCode::kUnavailable, ynab_error.detail);
  }
}

YnabMirror::YnabMirror(store::Database& database, const Clock& clock, YnabClient& client,
                       const SecretBox& secret_box, MirrorOptions options)
    : database_(database),
      clock_(clock),
      client_(client),
      secret_box_(secret_box),
      options_(options) {}

// ---- connections ---------------------------------------------------------------------------

Result<YnabConnection> YnabMirror::CreateConnection(int64_t user_id,
                                                    const NewYnabConnection& request) {
  auto user = client_.GetUser(request.access_token);
  if (!user.ok()) return YnabErrorForCaller(user.error(), "access_token");
  const int64_t now = clock_.NowMilliseconds();
  const std::string sealed = secret_box_.Seal(kTokenPurpose, request.access_token);
  int64_t connection_id = 0;
  Status written = database_.Write([&](store::Connection& db) -> Status {
    auto existing =
        db.Query("SELECT id FROM ynab_connections WHERE user_id = ? AND ynab_user_id = ? LIMIT 1",
                 {user_id, user.value().id});
    if (!existing.ok()) return existing.status();
    if (!existing.value().empty()) {
      return Error::Of(ErrorCode::kConflict,
                       "This YNAB account is already connected (YNAB connection " +
                           std::to_string(existing.value()[0].Int(0)) + ").");
    }
    auto inserted = db.Query(
        "INSERT INTO ynab_connections (user_id, token_ciphertext, ynab_user_id, sync_balances, "
        "sync_payees, sync_categories, sync_transactions, created_at, updated_at) VALUES (?, ?, "
        "?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {user_id, sealed, user.value().id, int64_t{request.sync_balances},
         int64_t{request.sync_payees}, int64_t{request.sync_categories},
         int64_t{request.sync_transactions}, now, now});
    if (!inserted.ok()) return inserted.status();
    connection_id = inserted.value()[0].Int(0);
    if (queue_ == nullptr) return Status::Ok();
    // The job commits with the connection: no connection is ever left without its schedule.
    jobs::NewJob job;
    job.kind = std::string(kRefreshJob);
    job.user_id = user_id;
    job.payload = "{\"connection_id\":" + std::to_string(connection_id) + "}";
    job.dedupe_key = DedupeKey(connection_id);
    job.run_at_ms = now + options_.refresh_interval_ms;
    return queue_->Enqueue(db, job).status();
  });
  if (!written.ok()) return written.error();
  if (queue_ != nullptr) queue_->Wake();
  auto loaded = Load(user_id, connection_id);
  if (!loaded.ok()) return loaded.error();
  std::lock_guard lock(*RefreshLock(connection_id));
  (void)Refresh(loaded.value());  // A failure is recorded as the connection's health.
  return GetConnection(user_id, connection_id);
}

Result<std::vector<YnabConnection>> YnabMirror::ListConnections(int64_t user_id) {
  auto rows = Query(database_,
                    std::string("SELECT ") + kConnectionColumns +
                        " FROM ynab_connections WHERE user_id = ? ORDER BY id",
                    {user_id});
  if (!rows.ok()) return rows.error();
  std::vector<YnabConnection> connections;
  for (const auto& row : rows.value()) connections.push_back(ConnectionFromRow(row));
  return connections;
}

Result<YnabConnection> YnabMirror::GetConnection(int64_t user_id, int64_t connection_id) {
  auto rows = Query(database_,
                    std::string("SELECT ") + kConnectionColumns +
                        " FROM ynab_connections WHERE id = ? AND user_id = ?",
                    {connection_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return NotFound("YNAB connection");
  return ConnectionFromRow(rows.value()[0]);
}

Status YnabMirror::DeleteConnection(int64_t user_id, int64_t connection_id) {
  Status deleted = database_.Write([&](store::Connection& db) -> Status {
    // Transfer links point at budget accounts without a foreign key (their destination can be
    // any kind); they go with the connection, and their items cascade.
    auto links = db.Execute(
        "DELETE FROM transfer_links WHERE user_id = ? AND destination_type = 'YNAB' AND "
        "destination_id IN (SELECT a.id FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id "
        "= a.budget_id WHERE b.connection_id = ? AND b.user_id = ?)",
        {user_id, connection_id, user_id});
    if (!links.ok()) return links.status();
    auto removed = db.Execute("DELETE FROM ynab_connections WHERE id = ? AND user_id = ?",
                              {connection_id, user_id});
    if (!removed.ok()) return removed.status();
    if (removed.value() == 0) return NotFound("YNAB connection");
    return Status::Ok();
  });
  if (!deleted.ok()) return deleted;
  if (queue_ != nullptr) (void)queue_->CancelByDedupeKey(user_id, DedupeKey(connection_id));
  return Status::Ok();
}

Result<YnabConnection> YnabMirror::RefreshConnection(int64_t user_id, int64_t connection_id) {
  auto loaded = Load(user_id, connection_id);
  if (!loaded.ok()) return loaded.error();
  if (!loaded.value().connection.enabled) {
    return Error::Of(ErrorCode::kConflict, "The YNAB connection is disabled.");
  }
  std::lock_guard lock(*RefreshLock(connection_id));
  Status refreshed = Refresh(loaded.value());
  if (!refreshed.ok()) return refreshed.error();
  return GetConnection(user_id, connection_id);
}

Result<YnabMirror::Loaded> YnabMirror::Load(int64_t user_id, int64_t connection_id) {
  auto rows = Query(database_,
                    std::string("SELECT ") + kConnectionColumns +
                        ", token_ciphertext FROM ynab_connections WHERE id = ? AND user_id = ?",
                    {connection_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return NotFound("YNAB connection");
  const store::Row& row = rows.value()[0];
  Loaded loaded{ConnectionFromRow(row), ""};
  auto token = secret_box_.Open(kTokenPurpose, row.Text(15));
  if (!token.ok()) {
    return Error::Of(ErrorCode::kConflict,
                     "The stored YNAB access token cannot be decrypted (was the server's secret "
                     "key changed?). Connect YNAB again.");
  }
  loaded.token = std::move(token.value());
  return loaded;
}

std::shared_ptr<std::mutex> YnabMirror::RefreshLock(int64_t connection_id) {
  std::lock_guard lock(locks_mutex_);
  auto& entry = refresh_locks_[connection_id];
  if (!entry) entry = std::make_shared<std::mutex>();
  return entry;
}

// ---- refresh -------------------------------------------------------------------------------

Status YnabMirror::Refresh(const Loaded& loaded) {
  const YnabConnection& connection = loaded.connection;
  auto budgets = client_.ListBudgets(loaded.token);
  if (!budgets.ok()) {
    RecordFailure(connection, budgets.error());
    return YnabErrorForCaller(budgets.error(), "");
  }
  const int64_t now = clock_.NowMilliseconds();
  Status stored = database_.Write([&](store::Connection& db) -> Status {
    for (const Budget& b : budgets.value()) {
      auto done = db.Execute(
          "INSERT INTO ynab_budgets (user_id, connection_id, ynab_id, name, currency, "
          "first_month, last_month, created_at, updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? "
          "WHERE EXISTS (SELECT 1 FROM ynab_connections WHERE id = ? AND user_id = ?) ON "
          "CONFLICT (connection_id, ynab_id) DO UPDATE SET name = excluded.name, currency = "
          "excluded.currency, first_month = excluded.first_month, last_month = "
          "excluded.last_month, updated_at = excluded.updated_at",
          {connection.user_id, connection.id, b.id, b.name, b.currency, b.first_month, b.last_month,
           now, now, connection.id, connection.user_id});
      if (!done.ok()) return done.status();
    }
    return Status::Ok();
  });
  if (!stored.ok()) return stored;
  auto rows = Query(database_,
                    std::string("SELECT ") + kBudgetColumns + " FROM ynab_budgets b WHERE " +
                        kVisibleBudget + " AND b.connection_id = ? AND b.enabled = 1 ORDER BY b.id",
                    {connection.user_id, connection.id});
  if (!rows.ok()) return rows.error();
  for (const auto& row : rows.value()) {
    Status budget = RefreshBudget(loaded, BudgetFromRow(row));
    if (budget.ok()) continue;
    if (budget.error().code == ErrorCode::kNotFound) continue;  // Gone in YNAB meanwhile.
    RecordFailure(connection, budget.error());
    return YnabErrorForCaller(budget.error(), "");
  }
  const int64_t done_at = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& db) -> Status {
    return db
        .Execute(
            "UPDATE ynab_connections SET health_status = 'HEALTHY', health_message = '', "
            "failure_count = 0, last_attempt_at = ?, last_synced_at = ?, updated_at = ? WHERE "
            "id = ? AND user_id = ?",
            {done_at, done_at, done_at, connection.id, connection.user_id})
        .status();
  });
}

Status YnabMirror::RefreshBudget(const Loaded& loaded, const YnabBudget& budget) {
  const YnabConnection& connection = loaded.connection;
  auto knowledge_rows = Query(database_,
                              "SELECT knowledge_accounts, knowledge_payees, knowledge_categories, "
                              "knowledge_transactions FROM ynab_budgets WHERE id = ? AND "
                              "user_id = ?",
                              {budget.id, budget.user_id});
  if (!knowledge_rows.ok()) return knowledge_rows.status();
  if (knowledge_rows.value().empty()) return Status::Ok();
  const store::Row& knowledge = knowledge_rows.value()[0];
  // Every call happens before the write, so the write is short and all-or-nothing.
  auto accounts = client_.ListAccounts(loaded.token, budget.ynab_id, knowledge.OptionalInt(0));
  if (!accounts.ok()) return accounts.error();
  std::optional<Delta<Payee>> payees;
  if (connection.sync_payees) {
    auto listed = client_.ListPayees(loaded.token, budget.ynab_id, knowledge.OptionalInt(1));
    if (!listed.ok()) return listed.error();
    payees = std::move(listed.value());
  }
  std::optional<Delta<Category>> categories;
  if (connection.sync_categories) {
    auto listed = client_.ListCategories(loaded.token, budget.ynab_id, knowledge.OptionalInt(2));
    if (!listed.ok()) return listed.error();
    categories = std::move(listed.value());
  }
  std::optional<Delta<Transaction>> transactions;
  if (connection.sync_transactions) {
    std::optional<std::string> since;
    const auto last = knowledge.OptionalInt(3);
    if (!last) {
      auto from = domain::Timestamp::FromUnixTimeMs(clock_.NowMilliseconds() -
                                                    options_.transactions_history_days * kDayMs);
      if (from) since = domain::FormatDate(from->date());
    }
    auto listed = client_.ListTransactions(loaded.token, budget.ynab_id, std::nullopt, since, last);
    if (!listed.ok()) return listed.error();
    transactions = std::move(listed.value());
  }
  const int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& db) -> Status {
    // The user may have deleted the budget (or the connection) while YNAB was answering.
    auto current = db.Query("SELECT ignored FROM ynab_budgets WHERE id = ? AND user_id = ?",
                            {budget.id, budget.user_id});
    if (!current.ok()) return current.status();
    if (current.value().empty() || current.value()[0].Int(0) != 0) return Status::Ok();
    Status applied =
        UpsertAccounts(db, budget, accounts.value().items, connection.sync_balances, now);
    if (applied.ok() && payees) applied = UpsertPayees(db, budget, payees->items, now);
    if (applied.ok() && categories) applied = UpsertCategories(db, budget, categories->items, now);
    if (applied.ok() && transactions) {
      applied = UpsertTransactions(db, budget, transactions->items, now);
    }
    if (!applied.ok()) return applied;
    return db
        .Execute(
            "UPDATE ynab_budgets SET knowledge_accounts = ?, knowledge_payees = COALESCE(?, "
            "knowledge_payees), knowledge_categories = COALESCE(?, knowledge_categories), "
            "knowledge_transactions = COALESCE(?, knowledge_transactions), last_synced_at = ?, "
            "updated_at = ? WHERE id = ? AND user_id = ?",
            {accounts.value().server_knowledge,
             payees ? store::Value(payees->server_knowledge) : store::Null(),
             categories ? store::Value(categories->server_knowledge) : store::Null(),
             transactions ? store::Value(transactions->server_knowledge) : store::Null(), now, now,
             budget.id, budget.user_id})
        .status();
  });
}

void YnabMirror::RecordFailure(const YnabConnection& connection, const Error& error) {
  const int64_t now = clock_.NowMilliseconds();
  // YNAB's own rate limit is not the connection's fault: note it, do not count it.
  const bool rate_limited = error.code == ErrorCode::kTooManyRequests;
  const bool token_rejected = error.code == ErrorCode::kUnauthenticated;
  Status recorded = database_.Write([&](store::Connection& db) -> Status {
    if (rate_limited) {
      return db
          .Execute(
              "UPDATE ynab_connections SET health_message = ?, last_attempt_at = ?, updated_at "
              "= ? WHERE id = ? AND user_id = ?",
              {error.detail, now, now, connection.id, connection.user_id})
          .status();
    }
    return db
        .Execute(
            "UPDATE ynab_connections SET failure_count = failure_count + 1, health_status = CASE "
            "WHEN ? = 1 OR failure_count + 1 >= ? THEN 'DEAD' ELSE 'FAILING' END, health_message "
            "= ?, last_attempt_at = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            {int64_t{token_rejected}, sync::kDeadAfterFailures, error.detail, now, now,
             connection.id, connection.user_id})
        .status();
  });
  if (!recorded.ok()) {
    spdlog::warn(R"({{"msg":"ynab: recording a failed refresh failed","detail":"{}"}})",
                 recorded.error().detail);
  }
}

// ---- budgets -------------------------------------------------------------------------------

Result<std::vector<YnabBudget>> YnabMirror::ListBudgets(int64_t user_id,
                                                        std::optional<int64_t> connection_id) {
  std::string sql =
      std::string("SELECT ") + kBudgetColumns + " FROM ynab_budgets b WHERE " + kVisibleBudget;
  std::vector<store::Value> params{user_id};
  if (connection_id) {
    sql += " AND b.connection_id = ?";
    params.emplace_back(*connection_id);
  }
  sql += " ORDER BY b.id";
  auto rows = Query(database_, sql, std::move(params));
  if (!rows.ok()) return rows.error();
  std::vector<YnabBudget> budgets;
  for (const auto& row : rows.value()) budgets.push_back(BudgetFromRow(row));
  return budgets;
}

Result<YnabBudget> YnabMirror::GetBudget(int64_t user_id, int64_t budget_id) {
  auto rows = Query(database_,
                    std::string("SELECT ") + kBudgetColumns + " FROM ynab_budgets b WHERE " +
                        kVisibleBudget + " AND b.id = ?",
                    {user_id, budget_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return NotFound("YNAB budget");
  return BudgetFromRow(rows.value()[0]);
}

Result<YnabBudget> YnabMirror::UpdateBudget(int64_t user_id, int64_t budget_id,
                                            const BudgetUpdate& update) {
  const int64_t now = clock_.NowMilliseconds();
  Status written = database_.Write([&](store::Connection& db) -> Status {
    auto changed = db.Execute(
        "UPDATE ynab_budgets SET enabled = COALESCE(?, enabled), updated_at = ? WHERE id = ? "
        "AND user_id = ? AND ignored = 0",
        {update.enabled ? store::Value(int64_t{*update.enabled}) : store::Null(), now, budget_id,
         user_id});
    if (!changed.ok()) return changed.status();
    if (changed.value() == 0) return NotFound("YNAB budget");
    return Status::Ok();
  });
  if (!written.ok()) return written.error();
  return GetBudget(user_id, budget_id);
}

Status YnabMirror::DeleteBudget(int64_t user_id, int64_t budget_id) {
  const int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& db) -> Status {
    auto changed = db.Execute(
        "UPDATE ynab_budgets SET ignored = 1, updated_at = ? WHERE id = ? AND user_id = ? AND "
        "ignored = 0",
        {now, budget_id, user_id});
    if (!changed.ok()) return changed.status();
    if (changed.value() == 0) return NotFound("YNAB budget");
    // Account rows stay (ignored with the budget) so transfer links keep a target to report;
    // the mirrored payees, categories and transactions go.
    for (const char* table : {"ynab_payees", "ynab_categories", "ynab_transactions"}) {
      auto removed =
          db.Execute(std::string("DELETE FROM ") + table + " WHERE user_id = ? AND budget_id = ?",
                     {user_id, budget_id});
      if (!removed.ok()) return removed.status();
    }
    return Status::Ok();
  });
}

// ---- accounts ------------------------------------------------------------------------------

Result<std::vector<YnabBudgetAccount>> YnabMirror::ListAccounts(int64_t user_id,
                                                                int64_t budget_id) {
  auto budget = GetBudget(user_id, budget_id);
  if (!budget.ok()) return budget.error();
  auto rows = Query(database_,
                    std::string("SELECT ") + kAccountColumns +
                        " FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = a.budget_id "
                        "WHERE a.user_id = ? AND a.budget_id = ? AND a.ignored = 0 AND "
                        "a.deleted = 0 ORDER BY a.id",
                    {user_id, budget_id});
  if (!rows.ok()) return rows.error();
  std::vector<YnabBudgetAccount> accounts;
  for (const auto& row : rows.value()) accounts.push_back(AccountFromRow(row));
  return accounts;
}

Result<YnabBudgetAccount> YnabMirror::GetAccount(int64_t user_id, int64_t budget_id,
                                                 int64_t account_id) {
  auto rows = Query(database_,
                    std::string("SELECT ") + kAccountColumns +
                        " FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = a.budget_id "
                        "WHERE a.user_id = ? AND a.budget_id = ? AND a.id = ? AND a.ignored = 0 "
                        "AND a.deleted = 0 AND b.ignored = 0",
                    {user_id, budget_id, account_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return NotFound("YNAB budget account");
  return AccountFromRow(rows.value()[0]);
}

Status YnabMirror::DeleteAccount(int64_t user_id, int64_t budget_id, int64_t account_id) {
  const int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& db) -> Status {
    auto found = db.Query(
        "SELECT a.ynab_id FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = a.budget_id "
        "WHERE a.user_id = ? AND a.budget_id = ? AND a.id = ? AND a.ignored = 0 AND b.ignored = 0",
        {user_id, budget_id, account_id});
    if (!found.ok()) return found.status();
    if (found.value().empty()) return NotFound("YNAB budget account");
    auto changed = db.Execute(
        "UPDATE ynab_budget_accounts SET ignored = 1, updated_at = ? WHERE id = ? AND user_id = ?",
        {now, account_id, user_id});
    if (!changed.ok()) return changed.status();
    return db
        .Execute(
            "DELETE FROM ynab_transactions WHERE user_id = ? AND budget_id = ? AND "
            "account_ynab_id = ?",
            {user_id, budget_id, found.value()[0].Text(0)})
        .status();
  });
}

// ---- payees, categories, transactions ------------------------------------------------------

namespace {

// One page of a budget's objects ordered by id, after the id in the page token: `sql` selects
// them with parameters (user_id, budget_id, after id, limit) and `from_row` maps a row.
template <typename Item, typename FromRow>
Result<Page<Item>> ListById(store::Database& database, std::string_view sql, int64_t user_id,
                            int64_t budget_id, const PageRequest& page, FromRow from_row) {
  const auto after = page.after ? ParsePositionId(*page.after) : std::optional<int64_t>(0);
  if (!after) {
    return Error{ErrorCode::kValidationFailed,
                 "The given data was invalid.",
                 {{"page_token", "is not a page token from this list"}}};
  }
  auto rows = Query(database, sql, {user_id, budget_id, *after, page.limit + 1});
  if (!rows.ok()) return rows.error();
  Page<Item> result;
  for (const auto& row : rows.value()) {
    if (static_cast<int64_t>(result.items.size()) == page.limit) {
      result.next = std::to_string(result.items.back().id);
      break;
    }
    result.items.push_back(from_row(row));
  }
  return result;
}

}  // namespace

Result<Page<YnabPayee>> YnabMirror::ListPayees(int64_t user_id, int64_t budget_id,
                                               const PageRequest& page) {
  auto budget = GetBudget(user_id, budget_id);
  if (!budget.ok()) return budget.error();
  return ListById<YnabPayee>(
      database_,
      "SELECT id, budget_id, ynab_id, name, transfer_account_id, deleted, created_at, "
      "updated_at FROM ynab_payees WHERE user_id = ? AND budget_id = ? AND deleted = 0 AND id > "
      "? ORDER BY id LIMIT ?",
      user_id, budget_id, page, [](const store::Row& row) {
        return YnabPayee{row.Int(0),          row.Int(1),      row.Text(2), row.Text(3),
                         row.OptionalText(4), row.Int(5) != 0, row.Int(6),  row.Int(7)};
      });
}

Result<Page<YnabCategory>> YnabMirror::ListCategories(int64_t user_id, int64_t budget_id,
                                                      const PageRequest& page) {
  auto budget = GetBudget(user_id, budget_id);
  if (!budget.ok()) return budget.error();
  return ListById<YnabCategory>(
      database_,
      "SELECT id, budget_id, ynab_id, category_group_id, category_group_name, name, hidden, "
      "deleted, created_at, updated_at FROM ynab_categories WHERE user_id = ? AND budget_id = ? "
      "AND deleted = 0 AND id > ? ORDER BY id LIMIT ?",
      user_id, budget_id, page, [](const store::Row& row) {
        return YnabCategory{row.Int(0),  row.Int(1),      row.Text(2),     row.Text(3), row.Text(4),
                            row.Text(5), row.Int(6) != 0, row.Int(7) != 0, row.Int(8),  row.Int(9)};
      });
}

Result<Page<YnabBudgetTransaction>> YnabMirror::ListTransactions(int64_t user_id, int64_t budget_id,
                                                                 const TransactionFilter& filter,
                                                                 const PageRequest& page) {
  auto budget = GetBudget(user_id, budget_id);
  if (!budget.ok()) return budget.error();
  std::string sql =
      "SELECT t.id, t.budget_id, t.ynab_id, a.id, t.account_ynab_id, t.date, t.amount, t.memo, "
      "t.cleared, t.approved, t.flag_color, t.payee_id, t.payee_name, t.category_id, "
      "t.category_name, t.import_id, t.deleted, t.created_at, t.updated_at FROM "
      "ynab_transactions t LEFT JOIN ynab_budget_accounts a ON a.budget_id = t.budget_id AND "
      "a.ynab_id = t.account_ynab_id AND a.user_id = t.user_id WHERE t.user_id = ? AND "
      "t.budget_id = ?";
  std::vector<store::Value> params{user_id, budget_id};
  if (!filter.include_deleted) sql += " AND t.deleted = 0";
  if (filter.account_id) {
    sql += " AND a.id = ?";
    params.emplace_back(*filter.account_id);
  }
  if (filter.since_date) {
    sql += " AND t.date >= ?";
    params.emplace_back(*filter.since_date);
  }
  if (filter.until_date) {
    sql += " AND t.date <= ?";
    params.emplace_back(*filter.until_date);
  }
  if (page.after) {
    // Newest first: the next page holds what sorts after (date, id) in descending order.
    const size_t bar = page.after->find('|');
    const auto id =
        bar == std::string::npos ? std::nullopt : ParsePositionId(page.after->substr(bar + 1));
    const std::string date = bar == std::string::npos ? "" : page.after->substr(0, bar);
    if (!id || !domain::ParseDate(date).ok()) {
      return Error{ErrorCode::kValidationFailed,
                   "The given data was invalid.",
                   {{"page_token", "is not a page token from this list"}}};
    }
    sql += " AND (t.date < ? OR (t.date = ? AND t.id < ?))";
    params.emplace_back(date);
    params.emplace_back(date);
    params.emplace_back(*id);
  }
  sql += " ORDER BY t.date DESC, t.id DESC LIMIT ?";
  params.emplace_back(page.limit + 1);
  auto rows = Query(database_, sql, std::move(params));
  if (!rows.ok()) return rows.error();
  Page<YnabBudgetTransaction> result;
  for (const auto& row : rows.value()) {
    if (static_cast<int64_t>(result.items.size()) == page.limit) {
      const auto& last = result.items.back();
      result.next = last.date + "|" + std::to_string(last.id);
      break;
    }
    YnabBudgetTransaction t;
    t.id = row.Int(0);
    t.budget_id = row.Int(1);
    t.ynab_id = row.Text(2);
    t.account_id = row.OptionalInt(3);
    t.account_ynab_id = row.Text(4);
    t.currency = budget.value().currency;
    t.date = row.Text(5);
    t.amount_milliunits = row.Int(6);
    t.memo = row.OptionalText(7);
    t.cleared = row.Text(8);
    t.approved = row.Int(9) != 0;
    t.flag_color = row.OptionalText(10);
    t.payee_id = row.OptionalText(11);
    t.payee_name = row.OptionalText(12);
    t.category_id = row.OptionalText(13);
    t.category_name = row.OptionalText(14);
    t.import_id = row.OptionalText(15);
    t.deleted = row.Int(16) != 0;
    t.created_at_ms = row.Int(17);
    t.updated_at_ms = row.Int(18);
    result.items.push_back(std::move(t));
  }
  return result;
}

// ---- for delivery --------------------------------------------------------------------------

Result<std::string> YnabMirror::AccessToken(int64_t user_id, int64_t connection_id) {
  auto loaded = Load(user_id, connection_id);
  if (!loaded.ok()) return loaded.error();
  return std::move(loaded.value().token);
}

Result<ResolvedAccount> YnabMirror::ResolveAccount(int64_t user_id, int64_t budget_account_id) {
  auto rows =
      Query(database_,
            "SELECT b.connection_id, b.id, b.ynab_id, a.ynab_id, b.currency FROM "
            "ynab_budget_accounts a JOIN ynab_budgets b ON b.id = a.budget_id WHERE a.id "
            "= ? AND a.user_id = ? AND b.user_id = ? AND a.ignored = 0 AND a.deleted = 0 AND "
            "b.ignored = 0",
            {budget_account_id, user_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return NotFound("YNAB budget account");
  const store::Row& row = rows.value()[0];
  return ResolvedAccount{row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4)};
}

// ---- jobs ----------------------------------------------------------------------------------

void YnabMirror::RegisterJobs(jobs::Workers& workers) {
  workers.Register(std::string(kRefreshJob),
                   [this](const jobs::Job& job) { return RunRefreshJob(job); });
}

Status YnabMirror::EnsureScheduled(jobs::JobQueue& queue) {
  queue_ = &queue;
  auto rows = Query(database_, "SELECT user_id, id FROM ynab_connections WHERE enabled = 1", {});
  if (!rows.ok()) return rows.error();
  for (const auto& row : rows.value()) {
    jobs::RecurringJob job;
    job.kind = std::string(kRefreshJob);
    job.user_id = row.Int(0);
    job.payload = "{\"connection_id\":" + std::to_string(row.Int(1)) + "}";
    job.dedupe_key = DedupeKey(row.Int(1));
    auto ensured = jobs::EnsureRecurring(queue, job);
    if (!ensured.ok()) return ensured.error();
  }
  return Status::Ok();
}

jobs::JobOutcome YnabMirror::RunRefreshJob(const jobs::Job& job) {
  rapidjson::Document payload;
  payload.Parse(job.payload.c_str());
  if (!payload.IsObject() || !payload.HasMember("connection_id") ||
      !payload["connection_id"].IsInt64()) {
    return jobs::JobOutcome::Failed("payload has no connection_id");
  }
  const int64_t connection_id = payload["connection_id"].GetInt64();
  auto refreshed = RefreshConnection(job.user_id, connection_id);
  const int64_t now = clock_.NowMilliseconds();
  if (refreshed.ok()) return jobs::RunAgainEvery(job, options_.refresh_interval_ms, now);
  const Error& error = refreshed.error();
  if (error.code == ErrorCode::kNotFound) return jobs::JobOutcome::Failed(error.detail);
  if (error.code == ErrorCode::kTooManyRequests) {
    return jobs::JobOutcome::RescheduleAt(now +
                                          std::max<int64_t>(60, error.retry_after_seconds) * 1000);
  }
  // A dead connection (or a disabled one) is looked at daily, a failing one at the usual pace.
  auto connection = GetConnection(job.user_id, connection_id);
  const bool dead = !connection.ok() || !connection.value().enabled ||
                    connection.value().health.status == sync::HealthStatus::kDead;
  return jobs::JobOutcome::RescheduleAt(now + (dead ? kDayMs : options_.refresh_interval_ms));
}

}  // namespace finsync::delivery::ynab
