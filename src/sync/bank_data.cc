#include "sync/bank_data.h"

#include <algorithm>

#include "common/json.h"
#include "domain/currency.h"
#include "domain/money.h"

namespace finsync::sync {

namespace {

constexpr int64_t kManualSyncIntervalMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;
// A sync re-reads a few days before the last one so late bookings and pending changes are seen.
constexpr int64_t kResyncOverlapDays = 7;

constexpr std::string_view kConnectionColumns =
    "id, user_id, institution_id, integrator, consent_reference, status, status_message, "
    "enabled, sync_balances, max_historical_days, access_valid_for_days, consent_expires_at, "
    "auth_url, health_status, health_message, failure_count, last_attempt_at, "
    "accounts_last_synced_at, created_at, updated_at";

constexpr std::string_view kAccountColumns =
    "a.id, a.user_id, a.bank_connection_id, a.integrator_id, a.name, a.display_name, a.iban, "
    "a.bban, a.owner_name, a.currency, a.product_name, a.details, a.generated_payee, "
    "a.generated_description, a.generated_date, a.sync_start_date, a.sync_auto, "
    "a.sync_pending_transactions, a.sync_balances, a.sync_frequency_in_minutes, "
    "a.fields_for_duplicate_filtering, a.health_status, a.health_message, a.failure_count, "
    "a.last_attempt_at, a.details_last_synced_at, a.transactions_last_synced_at, "
    "a.balances_last_synced_at, a.last_manual_sync_at, a.created_at, a.updated_at, "
    "a.sync_blocked_until, "
    "(SELECT b.amount_minor FROM bank_balances b WHERE b.bank_account_id = a.id AND "
    " b.balance_type IN ('interimAvailable', 'expected') ORDER BY b.reference_date DESC, "
    " b.id DESC LIMIT 1), "
    "(SELECT b.amount_minor FROM bank_balances b WHERE b.bank_account_id = a.id AND "
    " b.balance_type IN ('closingBooked', 'interimBooked') ORDER BY b.reference_date DESC, "
    " b.id DESC LIMIT 1)";

constexpr std::string_view kBalanceColumns =
    "id, bank_account_id, balance_type, amount_minor, currency, reference_date, created_at, "
    "updated_at";

Error NotFound(std::string_view what) {
  return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
}

// Runs one query on a reader and maps every row.
template <typename T, typename Map>
Result<std::vector<T>> ReadRows(store::Database& database, const std::string& sql,
                                std::initializer_list<store::Value> params, Map map) {
  std::vector<T> items;
  Status status = database.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(sql, params);
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) items.push_back(map(row));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return items;
}

// The first row mapped, or kNotFound naming `what`.
template <typename T, typename Map>
Result<T> ReadOne(store::Database& database, const std::string& sql,
                  std::initializer_list<store::Value> params, std::string_view what, Map map) {
  auto items = ReadRows<T>(database, sql, params, map);
  if (!items.ok()) return items.error();
  if (items.value().empty()) return NotFound(what);
  return std::move(items.value()[0]);
}

Error Invalid(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

Health HealthFromRow(const store::Row& row, size_t first) {
  Health health;
  health.status = ParseHealthStatus(row.Text(first));
  health.integrator_message = row.Text(first + 1);
  health.failure_count = row.Int(first + 2);
  health.last_attempt_at_ms = row.OptionalInt(first + 3);
  return health;
}

BankConnection ConnectionFromRow(const store::Row& row) {
  BankConnection c;
  c.id = row.Int(0);
  c.user_id = row.Int(1);
  c.bank_id = row.Text(2);
  c.integrator = row.Text(3);
  c.consent_reference = row.Text(4);
  c.status = row.Text(5);
  c.status_message = row.Text(6);
  c.enabled = row.Int(7) != 0;
  c.sync_balances = row.Int(8) != 0;
  c.max_historical_days = static_cast<int32_t>(row.Int(9));
  c.access_valid_for_days = static_cast<int32_t>(row.Int(10));
  c.consent_expires_at_ms = row.OptionalInt(11);
  c.auth_url = row.Text(12);
  c.health = HealthFromRow(row, 13);
  c.accounts_last_synced_at_ms = row.OptionalInt(17);
  c.created_at_ms = row.Int(18);
  c.updated_at_ms = row.Int(19);
  return c;
}

std::string DuplicateFieldsJson(const std::vector<ingest::DuplicateField>& fields) {
  json::Writer writer;
  writer.StartArray();
  for (auto field : fields) writer.String(ingest::DuplicateFieldName(field));
  writer.EndArray();
  return writer.str();
}

std::vector<ingest::DuplicateField> DuplicateFieldsFromJson(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str());
  std::vector<ingest::DuplicateField> fields;
  if (!document.IsArray()) return ingest::DefaultDuplicateFields();
  for (const auto& value : document.GetArray()) {
    if (!value.IsString()) continue;
    if (auto field = ingest::ParseDuplicateField(value.GetString())) fields.push_back(*field);
  }
  return fields.empty() ? ingest::DefaultDuplicateFields() : fields;
}

BankAccount AccountFromRow(const store::Row& row) {
  BankAccount a;
  a.id = row.Int(0);
  a.user_id = row.Int(1);
  a.bank_connection_id = row.Int(2);
  a.integrator_id = row.Text(3);
  a.name = row.Text(4);
  a.display_name = row.OptionalText(5);
  a.iban = row.Text(6);
  a.bban = row.Text(7);
  a.owner_name = row.Text(8);
  a.currency = row.Text(9);
  a.product_name = row.Text(10);
  a.details = row.Text(11);
  AccountSettings& s = a.settings;
  s.payee_source = ingest::ParseTextSource(row.Text(12)).value_or(ingest::TextSource::kAuto);
  s.description_source = ingest::ParseTextSource(row.Text(13)).value_or(ingest::TextSource::kAuto);
  s.date_source = ingest::ParseDateSource(row.Text(14)).value_or(ingest::DateSource::kAuto);
  if (!row.IsNull(15)) {
    auto date = domain::ParseDate(row.Text(15));
    if (date.ok()) s.sync_start_date = date.date;
  }
  s.sync_auto = row.Int(16) != 0;
  s.sync_pending_transactions = row.Int(17) != 0;
  s.sync_balances = row.Int(18) != 0;
  s.sync_frequency_in_minutes = static_cast<int32_t>(row.Int(19));
  s.duplicate_fields = DuplicateFieldsFromJson(row.Text(20));
  a.health = HealthFromRow(row, 21);
  a.details_last_synced_at_ms = row.OptionalInt(25);
  a.transactions_last_synced_at_ms = row.OptionalInt(26);
  a.balances_last_synced_at_ms = row.OptionalInt(27);
  a.last_manual_sync_at_ms = row.OptionalInt(28);
  a.created_at_ms = row.Int(29);
  a.updated_at_ms = row.Int(30);
  a.sync_blocked_until_ms = row.OptionalInt(31);
  a.balance_available_minor = row.OptionalInt(32);
  a.balance_booked_minor = row.OptionalInt(33);
  return a;
}

StoredBalance BalanceFromRow(const store::Row& row) {
  return StoredBalance{row.Int(0),  row.Int(1),  row.Text(2), row.Int(3),
                       row.Text(4), row.Text(5), row.Int(6),  row.Int(7)};
}

Error FromSourceError(const sources::SourceError& error) {
  using Kind = sources::SourceErrorKind;
  std::string detail = "The bank's integrator answered: " + error.message;
  switch (error.kind) {
    case Kind::kRateLimited: {
      Error limited = Error::Of(ErrorCode::kTooManyRequests, detail);
      limited.retry_after_seconds = std::max<int64_t>(1, error.retry_after_seconds);
      return limited;
    }
    case Kind::kConsentExpired:
      return Error::Of(ErrorCode::kConflict,
                       "The consent for this bank connection has expired: reconfirm it. (" +
                           error.message + ")");
    case Kind::kConsentNotFound:
    case Kind::kAccountNotFound:
    case Kind::kInvalidRequest:
      return Error::Of(ErrorCode::kConflict, detail);
    case Kind::kTimeout:
    case Kind::kServerError:
      return Error::Of(ErrorCode::kUnavailable, detail);
  }
  return Error::Of(ErrorCode::kUnavailable, detail);
}

}  // namespace

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kHealthy:
      return "HEALTHY";
    case HealthStatus::kFailing:
      return "FAILING";
    case HealthStatus::kDead:
      return "DEAD";
  }
  return "HEALTHY";
}

HealthStatus ParseHealthStatus(std::string_view name) {
  if (name == "FAILING") return HealthStatus::kFailing;
  if (name == "DEAD") return HealthStatus::kDead;
  return HealthStatus::kHealthy;
}

BankDataService::BankDataService(store::Database& database, const Clock& clock,
                                 const sources::Catalog& catalog, SourceRegistry sources,
                                 ingest::Pipeline& pipeline)
    : database_(database),
      clock_(clock),
      catalog_(catalog),
      sources_(std::move(sources)),
      pipeline_(pipeline) {}

Result<SourceEntry> BankDataService::SourceFor(std::string_view integrator) {
  auto it = sources_.find(integrator);
  if (it == sources_.end() || it->second.source == nullptr) {
    return Error::Of(ErrorCode::kUnavailable,
                     "The integrator " + std::string(integrator) + " is not configured.");
  }
  return it->second;
}

// ---- Connections ----------------------------------------------------------------------------

Result<BankConnection> BankDataService::CreateConnection(int64_t user_id,
                                                         const NewConnection& request) {
  const sources::Bank* bank = catalog_.FindBank(request.bank_id);
  if (bank == nullptr) return Invalid("bank_id", "is not a supported bank");
  int32_t history = request.max_historical_days.value_or(bank->max_historical_days);
  int32_t validity = request.access_valid_for_days.value_or(bank->max_access_valid_for_days);
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  if (history < 1 || history > bank->max_historical_days) {
    invalid.field_errors.push_back(
        {"max_historical_days",
         "must be between 1 and " + std::to_string(bank->max_historical_days) + " for this bank"});
  }
  if (validity < 1 || validity > bank->max_access_valid_for_days) {
    invalid.field_errors.push_back(
        {"access_valid_for_days", "must be between 1 and " +
                                      std::to_string(bank->max_access_valid_for_days) +
                                      " for this bank"});
  }
  if (!invalid.field_errors.empty()) return invalid;
  auto entry = SourceFor(bank->integrator);
  if (!entry.ok()) return entry.error();
  if (!request.sandbox_faults.empty()) {
    // Checked before the bank is asked for a consent, so a refused request leaves nothing.
    if (entry.value().simulator == nullptr) {
      return Invalid("sandbox_faults", "is only available for sandbox banks");
    }
    Status valid = entry.value().simulator->ValidateFaults(request.sandbox_faults);
    if (!valid.ok()) return Invalid("sandbox_faults", valid.error().detail);
  }
  sources::SourceContext context{clock_};
  sources::ConsentRequest consent_request{bank->id, history, validity, request.redirect_url,
                                          "user:" + std::to_string(user_id)};
  auto consent = entry.value().source->StartConsent(context, consent_request);
  if (!consent.ok()) return FromSourceError(consent.error());
  if (!request.sandbox_faults.empty()) {
    Status faults = entry.value().simulator->SetFaults(consent.value().consent_reference,
                                                       request.sandbox_faults);
    if (!faults.ok()) return Invalid("sandbox_faults", faults.error().detail);
  }
  int64_t now = clock_.NowMilliseconds();
  int64_t id = 0;
  const sources::Consent& c = consent.value();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "INSERT INTO bank_connections (user_id, institution_id, integrator, consent_reference, "
        "status, max_historical_days, access_valid_for_days, auth_url, sync_balances, "
        "sandbox_options, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        {user_id, bank->id, bank->integrator, c.consent_reference,
         std::string(sources::ConsentStatusCode(c.status)), int64_t{history}, int64_t{validity},
         c.auth_url, int64_t{request.sync_balances ? 1 : 0},
         request.sandbox_faults.empty() ? std::string("{}") : request.sandbox_faults, now, now});
    if (!rows.ok()) return rows.status();
    id = rows.value()[0].Int(0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return GetConnection(user_id, id);
}

Result<std::vector<BankConnection>> BankDataService::ListConnections(int64_t user_id) {
  return ReadRows<BankConnection>(database_,
                                  "SELECT " + std::string(kConnectionColumns) +
                                      " FROM bank_connections WHERE user_id = ? ORDER BY id",
                                  {user_id}, ConnectionFromRow);
}

Result<BankConnection> BankDataService::GetConnection(int64_t user_id, int64_t connection_id) {
  return ReadOne<BankConnection>(database_,
                                 "SELECT " + std::string(kConnectionColumns) +
                                     " FROM bank_connections WHERE id = ? AND user_id = ?",
                                 {connection_id, user_id}, "bank connection", ConnectionFromRow);
}

Result<BankConnection> BankDataService::FindByConsent(std::string_view integrator,
                                                      std::string_view consent_reference) {
  return ReadOne<BankConnection>(
      database_,
      "SELECT " + std::string(kConnectionColumns) +
          " FROM bank_connections WHERE integrator = ? AND consent_reference = ?",
      {std::string(integrator), std::string(consent_reference)}, "bank connection",
      ConnectionFromRow);
}

Status BankDataService::DeleteConnection(int64_t user_id, int64_t connection_id) {
  auto existing = GetConnection(user_id, connection_id);
  if (!existing.ok()) return existing.error();
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    // The change feed tells clients every transaction that goes away with the connection.
    auto changes = connection.Execute(
        "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, kind, "
        "created_at) SELECT t.user_id, t.id, t.bank_account_id, 'removed', ? FROM "
        "bank_transactions t JOIN bank_accounts a ON a.id = t.bank_account_id WHERE "
        "a.bank_connection_id = ? AND a.user_id = ?",
        {now, connection_id, user_id});
    if (!changes.ok()) return changes.status();
    return connection
        .Execute("DELETE FROM bank_connections WHERE id = ? AND user_id = ?",
                 {connection_id, user_id})
        .status();
  });
  if (!status.ok()) return status;
  // Best effort: the consent is ours to revoke, but a failure must not resurrect the data.
  auto entry = SourceFor(existing.value().integrator);
  if (entry.ok()) {
    sources::SourceContext context{clock_};
    (void)entry.value().source->DeleteConsent(context, existing.value().consent_reference);
  }
  return Status::Ok();
}

Result<BankConnection> BankDataService::DisableConnection(int64_t user_id, int64_t connection_id) {
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto changed = connection.Execute(
        "UPDATE bank_connections SET enabled = 0, updated_at = ? WHERE id = ? AND user_id = ?",
        {now, connection_id, user_id});
    if (!changed.ok()) return changed.status();
    if (changed.value() == 0) return NotFound("bank connection");
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return GetConnection(user_id, connection_id);
}

Result<BankConnection> BankDataService::ReconfirmConsent(
    int64_t user_id, int64_t connection_id, std::optional<int32_t> access_valid_for_days) {
  auto existing = GetConnection(user_id, connection_id);
  if (!existing.ok()) return existing.error();
  const sources::Bank* bank = catalog_.FindBank(existing.value().bank_id);
  if (bank == nullptr) return Error::Of(ErrorCode::kConflict, "The bank is no longer supported.");
  int32_t validity = access_valid_for_days.value_or(existing.value().access_valid_for_days);
  if (validity < 1 || validity > bank->max_access_valid_for_days) {
    return Invalid("access_valid_for_days",
                   "must be between 1 and " + std::to_string(bank->max_access_valid_for_days));
  }
  auto entry = SourceFor(existing.value().integrator);
  if (!entry.ok()) return entry.error();
  sources::SourceContext context{clock_};
  sources::ConsentRequest request{bank->id, existing.value().max_historical_days, validity, "",
                                  "user:" + std::to_string(user_id)};
  auto consent = entry.value().source->StartConsent(context, request);
  if (!consent.ok()) return FromSourceError(consent.error());
  int64_t now = clock_.NowMilliseconds();
  const sources::Consent& c = consent.value();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute(
            "UPDATE bank_connections SET consent_reference = ?, status = ?, status_message = '', "
            "auth_url = ?, access_valid_for_days = ?, enabled = 1, consent_warning_sent_at = "
            "NULL, updated_at = ? WHERE id = ? AND user_id = ?",
            {c.consent_reference, std::string(sources::ConsentStatusCode(c.status)), c.auth_url,
             int64_t{validity}, now, connection_id, user_id})
        .status();
  });
  if (!status.ok()) return status.error();
  return GetConnection(user_id, connection_id);
}

Result<BankConnection> BankDataService::DecideSandboxConsent(int64_t user_id, int64_t connection_id,
                                                             bool approve) {
  auto existing = GetConnection(user_id, connection_id);
  if (!existing.ok()) return existing.error();
  auto entry = SourceFor(existing.value().integrator);
  if (!entry.ok()) return entry.error();
  if (entry.value().simulator == nullptr) {
    return Error::Of(ErrorCode::kConflict,
                     "Only sandbox connections can be approved through the API; open the "
                     "auth_url to give consent at the bank.");
  }
  Status decided = entry.value().simulator->Decide(existing.value().consent_reference, approve);
  if (!decided.ok()) return decided.error();
  return RefreshConnection(user_id, connection_id);
}

Result<BankConnection> BankDataService::SetSandboxFaults(int64_t user_id, int64_t connection_id,
                                                         std::string_view spec) {
  auto existing = GetConnection(user_id, connection_id);
  if (!existing.ok()) return existing.error();
  auto entry = SourceFor(existing.value().integrator);
  if (!entry.ok()) return entry.error();
  if (entry.value().simulator == nullptr) {
    return Error::Of(ErrorCode::kConflict, "Faults can only be injected into sandbox banks.");
  }
  Status set = entry.value().simulator->SetFaults(existing.value().consent_reference, spec);
  if (!set.ok()) return Invalid("faults", set.error().detail);
  // A new plan is a new simulated bank state: waits the old plan asked for are forgotten.
  Status unblocked = database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute(
            "UPDATE bank_accounts SET sync_blocked_until = NULL WHERE bank_connection_id = ? "
            "AND user_id = ?",
            {connection_id, user_id})
        .status();
  });
  if (!unblocked.ok()) return unblocked.error();
  return existing;
}

Status BankDataService::ApplyConsent(int64_t connection_id, const sources::Consent& consent) {
  int64_t now = clock_.NowMilliseconds();
  std::optional<int64_t> expires;
  if (consent.expires_at) expires = consent.expires_at->unix_time_ms();
  return database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute(
            "UPDATE bank_connections SET status = ?, consent_expires_at = COALESCE(?, "
            "consent_expires_at), updated_at = ? WHERE id = ?",
            {std::string(sources::ConsentStatusCode(consent.status)), store::OptionalInt(expires),
             now, connection_id})
        .status();
  });
}

Result<BankConnection> BankDataService::RefreshConnection(int64_t user_id, int64_t connection_id) {
  auto existing = GetConnection(user_id, connection_id);
  if (!existing.ok()) return existing.error();
  auto entry = SourceFor(existing.value().integrator);
  if (!entry.ok()) return entry.error();
  sources::SourceContext context{clock_};
  auto consent = entry.value().source->GetConsent(context, existing.value().consent_reference);
  if (!consent.ok()) return FromSourceError(consent.error());
  Status applied = ApplyConsent(connection_id, consent.value());
  if (!applied.ok()) return applied.error();
  if (consent.value().status == sources::ConsentStatus::kLinked) {
    auto refreshed = GetConnection(user_id, connection_id);
    if (!refreshed.ok()) return refreshed.error();
    Status created = CreateAccounts(refreshed.value(), *entry.value().source);
    if (!created.ok()) return created.error();
    if (account_listener_) {
      auto accounts = ListAccounts(user_id, connection_id);
      if (!accounts.ok()) return accounts.error();
      for (const auto& account : accounts.value()) account_listener_(user_id, account.id);
    }
  }
  return GetConnection(user_id, connection_id);
}

Status BankDataService::CreateAccounts(const BankConnection& bank_connection,
                                       sources::Source& source) {
  sources::SourceContext context{clock_};
  auto references = source.ListAccounts(context, bank_connection.consent_reference);
  if (!references.ok()) return FromSourceError(references.error());
  std::vector<sources::AccountDetails> details;
  for (const auto& reference : references.value()) {
    auto account = source.GetAccountDetails(
        context, sources::AccountKey{bank_connection.consent_reference, reference});
    if (!account.ok()) return FromSourceError(account.error());
    details.push_back(std::move(account.value()));
  }
  int64_t now = clock_.NowMilliseconds();
  std::string duplicate_fields = DuplicateFieldsJson(ingest::DefaultDuplicateFields());
  return database_.Write([&](store::Connection& connection) -> Status {
    for (const auto& account : details) {
      // A renewed consent lists the same accounts under new references: find them by IBAN
      // (or, without one, by name and currency) and keep their ids and data.
      auto existing = connection.Query(
          "SELECT id FROM bank_accounts WHERE bank_connection_id = ? AND ((? <> '' AND iban = "
          "?) OR (? = '' AND iban = '' AND name = ? AND currency = ?)) ORDER BY id LIMIT 1",
          {bank_connection.id, account.iban, account.iban, account.iban, account.name,
           account.currency});
      if (!existing.ok()) return existing.status();
      if (!existing.value().empty()) {
        auto updated = connection.Execute(
            "UPDATE bank_accounts SET integrator_id = ?, name = ?, bban = ?, owner_name = ?, "
            "product_name = ?, details_last_synced_at = ?, failure_count = 0, health_status = "
            "'HEALTHY', health_message = '', updated_at = ? WHERE id = ?",
            {account.account_reference, account.name, account.bban, account.owner_name,
             account.product, now, now, existing.value()[0].Int(0)});
        if (!updated.ok()) return updated.status();
        continue;
      }
      auto upserted = connection.Execute(
          "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, name, iban, "
          "bban, owner_name, currency, product_name, details, sync_balances, "
          "fields_for_duplicate_filtering, details_last_synced_at, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
          "(bank_connection_id, integrator_id) DO UPDATE SET name = excluded.name, iban = "
          "excluded.iban, bban = excluded.bban, owner_name = excluded.owner_name, product_name "
          "= excluded.product_name, details_last_synced_at = excluded.details_last_synced_at, "
          "updated_at = excluded.updated_at",
          {bank_connection.user_id, bank_connection.id, account.account_reference, account.name,
           account.iban, account.bban, account.owner_name, account.currency, account.product,
           account.cash_account_type, int64_t{bank_connection.sync_balances ? 1 : 0},
           duplicate_fields, now, now, now});
      if (!upserted.ok()) return upserted.status();
    }
    return connection
        .Execute("UPDATE bank_connections SET accounts_last_synced_at = ? WHERE id = ?",
                 {now, bank_connection.id})
        .status();
  });
}

// ---- Accounts -------------------------------------------------------------------------------

Result<std::vector<BankAccount>> BankDataService::ListAccounts(
    int64_t user_id, std::optional<int64_t> connection_id) {
  return ReadRows<BankAccount>(
      database_,
      "SELECT " + std::string(kAccountColumns) +
          " FROM bank_accounts a WHERE a.user_id = ? AND (? IS NULL OR "
          "a.bank_connection_id = ?) ORDER BY a.id",
      {user_id, store::OptionalInt(connection_id), store::OptionalInt(connection_id)},
      AccountFromRow);
}

Result<BankAccount> BankDataService::GetAccount(int64_t user_id, int64_t account_id) {
  return ReadOne<BankAccount>(database_,
                              "SELECT " + std::string(kAccountColumns) +
                                  " FROM bank_accounts a WHERE a.id = ? AND a.user_id = ?",
                              {account_id, user_id}, "bank account", AccountFromRow);
}

Result<BankAccount> BankDataService::UpdateAccount(int64_t user_id, int64_t account_id,
                                                   const AccountUpdate& update) {
  auto existing = GetAccount(user_id, account_id);
  if (!existing.ok()) return existing.error();
  BankAccount account = existing.value();
  if (update.display_name) account.display_name = *update.display_name;
  if (update.settings) account.settings = *update.settings;
  const AccountSettings& s = account.settings;
  if (s.sync_frequency_in_minutes < kSyncFrequencyMinutesMin ||
      s.sync_frequency_in_minutes > kSyncFrequencyMinutesMax) {
    return Invalid("config.sync_frequency_in_minutes", "must be between 30 and 1440");
  }
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute(
            "UPDATE bank_accounts SET display_name = ?, generated_payee = ?, "
            "generated_description = ?, generated_date = ?, sync_start_date = ?, sync_auto = ?, "
            "sync_pending_transactions = ?, sync_balances = ?, sync_frequency_in_minutes = ?, "
            "fields_for_duplicate_filtering = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            {store::OptionalText(account.display_name),
             std::string(ingest::TextSourceName(s.payee_source)),
             std::string(ingest::TextSourceName(s.description_source)),
             std::string(ingest::DateSourceName(s.date_source)),
             s.sync_start_date ? store::Value(domain::FormatDate(*s.sync_start_date))
                               : store::Null(),
             int64_t{s.sync_auto ? 1 : 0}, int64_t{s.sync_pending_transactions ? 1 : 0},
             int64_t{s.sync_balances ? 1 : 0}, int64_t{s.sync_frequency_in_minutes},
             DuplicateFieldsJson(s.duplicate_fields), now, account_id, user_id})
        .status();
  });
  if (!status.ok()) return status.error();
  if (account_listener_ && s.sync_auto) account_listener_(user_id, account_id);
  return GetAccount(user_id, account_id);
}

Result<BankAccount> BankDataService::ResetAccountSettings(int64_t user_id, int64_t account_id) {
  AccountUpdate update;
  update.settings = AccountSettings{};
  return UpdateAccount(user_id, account_id, update);
}

Status BankDataService::DeleteAccount(int64_t user_id, int64_t account_id) {
  int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    auto changes = connection.Execute(
        "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, kind, "
        "created_at) SELECT user_id, id, bank_account_id, 'removed', ? FROM bank_transactions "
        "WHERE bank_account_id = ? AND user_id = ?",
        {now, account_id, user_id});
    if (!changes.ok()) return changes.status();
    auto deleted = connection.Execute("DELETE FROM bank_accounts WHERE id = ? AND user_id = ?",
                                      {account_id, user_id});
    if (!deleted.ok()) return deleted.status();
    if (deleted.value() == 0) return NotFound("bank account");
    return Status::Ok();
  });
}

Result<std::vector<std::pair<int64_t, int64_t>>> BankDataService::AutoSyncAccounts() {
  std::vector<std::pair<int64_t, int64_t>> accounts;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT a.user_id, a.id FROM bank_accounts a JOIN bank_connections c ON c.id = "
        "a.bank_connection_id WHERE a.sync_auto = 1 AND c.enabled = 1 AND c.status = 'LN'",
        {});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) accounts.emplace_back(row.Int(0), row.Int(1));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return accounts;
}

// ---- Sync -----------------------------------------------------------------------------------

Status BankDataService::RecordFailure(const BankAccount& account,
                                      const sources::SourceError& error) {
  int64_t now = clock_.NowMilliseconds();
  bool expired = error.kind == sources::SourceErrorKind::kConsentExpired;
  std::string message = expired ? "Consent expired: " + error.message : error.message;
  std::optional<int64_t> blocked_until;
  if (error.kind == sources::SourceErrorKind::kRateLimited) {
    blocked_until = now + std::max<int64_t>(1, error.retry_after_seconds) * 1000;
  }
  return database_.Write([&](store::Connection& connection) -> Status {
    auto before = HealthBefore(connection, account.user_id, account.bank_connection_id);
    if (!before.ok()) return before.error();
    if (blocked_until) {
      // Respect the bank's limit: no call for this account until it says so.
      auto blocked =
          connection.Execute("UPDATE bank_accounts SET sync_blocked_until = ? WHERE id = ?",
                             {*blocked_until, account.id});
      if (!blocked.ok()) return blocked.status();
    }
    for (std::string_view table : {"bank_accounts", "bank_connections"}) {
      int64_t id = table == "bank_accounts" ? account.id : account.bank_connection_id;
      auto updated = connection.Execute(
          "UPDATE " + std::string(table) +
              " SET failure_count = failure_count + 1, health_status = CASE WHEN "
              "failure_count + 1 >= ? THEN 'DEAD' ELSE 'FAILING' END, health_message = ?, "
              "last_attempt_at = ?, updated_at = ? WHERE id = ?",
          {kDeadAfterFailures, message, now, now, id});
      if (!updated.ok()) return updated.status();
    }
    if (expired) {
      auto marked = connection.Execute(
          "UPDATE bank_connections SET status = 'EX', status_message = ? WHERE id = ?",
          {message, account.bank_connection_id});
      if (!marked.ok()) return marked.status();
    }
    return AnnounceHealth(connection, account.user_id, account.bank_connection_id, before.value());
  });
}

Status BankDataService::RecordSuccess(const BankAccount& account, const SyncReport& report,
                                      const SyncRequest& request, int64_t now_ms) {
  (void)report;
  return database_.Write([&](store::Connection& connection) -> Status {
    auto before = HealthBefore(connection, account.user_id, account.bank_connection_id);
    if (!before.ok()) return before.error();
    auto updated = connection.Execute(
        "UPDATE bank_accounts SET failure_count = 0, health_status = 'HEALTHY', health_message "
        "= '', last_attempt_at = ?, transactions_last_synced_at = CASE WHEN ? THEN ? ELSE "
        "transactions_last_synced_at END, balances_last_synced_at = CASE WHEN ? THEN ? ELSE "
        "balances_last_synced_at END, last_manual_sync_at = CASE WHEN ? THEN ? ELSE "
        "last_manual_sync_at END, updated_at = ? WHERE id = ?",
        {now_ms, int64_t{request.transactions}, now_ms, int64_t{request.balances}, now_ms,
         int64_t{request.manual}, now_ms, now_ms, account.id});
    if (!updated.ok()) return updated.status();
    auto healthy = connection.Execute(
        "UPDATE bank_connections SET failure_count = 0, health_status = 'HEALTHY', "
        "health_message = '', last_attempt_at = ?, updated_at = ? WHERE id = ?",
        {now_ms, now_ms, account.bank_connection_id});
    if (!healthy.ok()) return healthy.status();
    return AnnounceHealth(connection, account.user_id, account.bank_connection_id, before.value());
  });
}

Result<SyncReport> BankDataService::SyncAccount(int64_t user_id, int64_t account_id,
                                                const SyncRequest& request) {
  auto found = GetAccount(user_id, account_id);
  if (!found.ok()) return found.error();
  const BankAccount& account = found.value();
  auto bank_connection = GetConnection(user_id, account.bank_connection_id);
  if (!bank_connection.ok()) return bank_connection.error();
  const BankConnection& owner = bank_connection.value();
  int64_t now = clock_.NowMilliseconds();
  if (request.manual && account.last_manual_sync_at_ms &&
      now - *account.last_manual_sync_at_ms < kManualSyncIntervalMs) {
    Error limited = Error::Of(ErrorCode::kTooManyRequests,
                              "A bank account can be synced manually at most once a minute.");
    limited.retry_after_seconds =
        (kManualSyncIntervalMs - (now - *account.last_manual_sync_at_ms) + 999) / 1000;
    return limited;
  }
  if (account.sync_blocked_until_ms && now < *account.sync_blocked_until_ms) {
    Error limited = Error::Of(ErrorCode::kTooManyRequests,
                              "The bank asked finsync to wait before reading this account "
                              "again.");
    limited.retry_after_seconds = (*account.sync_blocked_until_ms - now + 999) / 1000;
    return limited;
  }
  if (!owner.enabled) {
    return Error::Of(ErrorCode::kConflict, "The bank connection is disabled.");
  }
  if (owner.status != "LN") {
    return Error::Of(ErrorCode::kConflict,
                     owner.status == "EX"
                         ? "The consent for this bank connection has expired: reconfirm it."
                         : "The bank connection is not linked yet (status " + owner.status +
                               "): the user must give consent at the bank first.");
  }
  auto entry = SourceFor(owner.integrator);
  if (!entry.ok()) return entry.error();
  sources::Source& source = *entry.value().source;
  sources::SourceContext context{clock_};
  sources::AccountKey key{owner.consent_reference, account.integrator_id};
  SyncReport report;

  auto fail = [&](const sources::SourceError& error) -> Error {
    Status recorded = RecordFailure(account, error);
    if (!recorded.ok()) return recorded.error();
    return FromSourceError(error);
  };

  if (request.details) {
    auto details = source.GetAccountDetails(context, key);
    if (!details.ok()) return fail(details.error());
    report.details_updated = true;
  }
  if (request.transactions) {
    domain::Date today = domain::Timestamp::FromUnixTimeMs(now)->date();
    domain::Date earliest = today.AddDays(-owner.max_historical_days + 1).value_or(today);
    domain::Date from = earliest;
    if (request.date_from) {
      from = *request.date_from;
    } else if (account.transactions_last_synced_at_ms) {
      domain::Date last =
          domain::Timestamp::FromUnixTimeMs(*account.transactions_last_synced_at_ms)->date();
      from = last.AddDays(-kResyncOverlapDays).value_or(last);
    } else if (account.settings.sync_start_date) {
      from = *account.settings.sync_start_date;
    }
    if (account.settings.sync_start_date) from = std::max(from, *account.settings.sync_start_date);
    from = std::max(from, earliest);
    // Never fetch what the user's retention would delete again at once.
    auto retention = RetentionStart(user_id, today);
    if (!retention.ok()) return retention.error();
    if (retention.value()) from = std::max(from, *retention.value());
    auto fetched = source.GetTransactions(context, key, sources::TransactionQuery{from, today});
    if (!fetched.ok()) return fail(fetched.error());
    ingest::AccountConfig config;
    config.user_id = user_id;
    config.bank_account_id = account.id;
    config.payee_source = account.settings.payee_source;
    config.description_source = account.settings.description_source;
    config.date_source = account.settings.date_source;
    config.sync_pending_transactions = account.settings.sync_pending_transactions;
    config.duplicate_fields = account.settings.duplicate_fields;
    ingest::Batch batch;
    batch.booked = std::move(fetched.value().booked);
    batch.pending = std::move(fetched.value().pending);
    auto outcome = pipeline_.Ingest(config, std::move(batch), rules_);
    if (!outcome.ok()) return outcome.error();
    report.transactions = std::move(outcome.value());
  }
  if (request.balances && account.settings.sync_balances && owner.sync_balances) {
    auto balances = source.GetBalances(context, key);
    if (!balances.ok()) return fail(balances.error());
    domain::Date today = domain::Timestamp::FromUnixTimeMs(now)->date();
    Status stored = database_.Write([&](store::Connection& connection) -> Status {
      Status announced = AnnounceBalances(connection, account, balances.value(), today);
      if (!announced.ok()) return announced;
      for (const auto& balance : balances.value()) {
        std::string date = domain::FormatDate(balance.reference_date.value_or(today));
        auto upserted = connection.Execute(
            "INSERT INTO bank_balances (user_id, bank_account_id, balance_type, amount_minor, "
            "currency, reference_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (bank_account_id, balance_type, reference_date) DO UPDATE SET "
            "amount_minor = excluded.amount_minor, currency = excluded.currency, updated_at = "
            "excluded.updated_at",
            {user_id, account.id, std::string(sources::BalanceTypeName(balance.type)),
             balance.amount_minor, balance.currency, date, now, now});
        if (!upserted.ok()) return upserted.status();
      }
      return Status::Ok();
    });
    if (!stored.ok()) return stored.error();
    report.balances_stored = static_cast<int64_t>(balances.value().size());
  }
  Status recorded = RecordSuccess(account, report, request, now);
  if (!recorded.ok()) return recorded.error();
  if (listener_) listener_(account, report);
  return report;
}

Result<std::optional<domain::Date>> BankDataService::RetentionStart(int64_t user_id,
                                                                    domain::Date today) {
  std::optional<int64_t> days;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT retention_days FROM users WHERE id = ?", {user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) days = rows.value()[0].OptionalInt(0);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!days) return std::optional<domain::Date>();
  // The purge keeps dates on or after today - days (see PurgeExpiredData).
  return today.AddDays(-std::max<int64_t>(7, *days));
}

// ---- Balances -------------------------------------------------------------------------------

Result<std::vector<StoredBalance>> BankDataService::ListBalances(int64_t user_id,
                                                                 int64_t account_id) {
  auto account = GetAccount(user_id, account_id);
  if (!account.ok()) return account.error();
  return ReadRows<StoredBalance>(
      database_,
      "SELECT " + std::string(kBalanceColumns) +
          " FROM bank_balances WHERE bank_account_id = ? AND user_id = ? ORDER BY "
          "reference_date DESC, id DESC",
      {account_id, user_id}, BalanceFromRow);
}

Result<StoredBalance> BankDataService::GetBalance(int64_t user_id, int64_t account_id,
                                                  int64_t balance_id) {
  return ReadOne<StoredBalance>(
      database_,
      "SELECT " + std::string(kBalanceColumns) +
          " FROM bank_balances WHERE id = ? AND bank_account_id = ? AND user_id = ?",
      {balance_id, account_id, user_id}, "balance", BalanceFromRow);
}

Status BankDataService::DeleteBalance(int64_t user_id, int64_t account_id, int64_t balance_id) {
  return database_.Write([&](store::Connection& connection) -> Status {
    auto deleted = connection.Execute(
        "DELETE FROM bank_balances WHERE id = ? AND bank_account_id = ? AND user_id = ?",
        {balance_id, account_id, user_id});
    if (!deleted.ok()) return deleted.status();
    if (deleted.value() == 0) return NotFound("balance");
    return Status::Ok();
  });
}

// ---- Webhook events -------------------------------------------------------------------------

Result<std::string> BankDataService::HealthBefore(store::Connection& connection, int64_t user_id,
                                                  int64_t connection_id) {
  if (publisher_ == nullptr) return std::string();
  auto rows =
      connection.Query("SELECT health_status FROM bank_connections WHERE id = ? AND user_id = ?",
                       {connection_id, user_id});
  if (!rows.ok()) return rows.error();
  return rows.value().empty() ? std::string() : rows.value()[0].Text(0);
}

Status BankDataService::AnnounceHealth(store::Connection& connection, int64_t user_id,
                                       int64_t connection_id, const std::string& before) {
  if (publisher_ == nullptr) return Status::Ok();
  auto rows = connection.Query(
      "SELECT institution_id, health_status, health_message, failure_count FROM "
      "bank_connections WHERE id = ? AND user_id = ?",
      {connection_id, user_id});
  if (!rows.ok()) return rows.status();
  if (rows.value().empty() || rows.value()[0].Text(1) == before) return Status::Ok();
  const store::Row& row = rows.value()[0];
  json::Writer data;
  data.StartObject();
  data.Field("bank_connection_id", connection_id);
  data.Field("bank_id", row.Text(0));
  data.Field("previous_status", before);
  data.Field("status", row.Text(1));
  data.Field("message", row.Text(2));
  data.Field("failure_count", row.Int(3));
  data.EndObject();
  return publisher_->Publish(connection, events::Event{user_id, "bank_connection.health_changed",
                                                       std::nullopt, data.str()});
}

Status BankDataService::AnnounceBalances(store::Connection& connection, const BankAccount& account,
                                         const std::vector<sources::Balance>& balances,
                                         domain::Date today) {
  if (publisher_ == nullptr || balances.empty()) return Status::Ok();
  auto stored = connection.Query(
      "SELECT balance_type, reference_date, amount_minor, currency FROM bank_balances WHERE "
      "bank_account_id = ? AND user_id = ?",
      {account.id, account.user_id});
  if (!stored.ok()) return stored.status();
  bool changed = false;
  for (const auto& balance : balances) {
    std::string type(sources::BalanceTypeName(balance.type));
    std::string date = domain::FormatDate(balance.reference_date.value_or(today));
    bool same = false;
    for (const auto& row : stored.value()) {
      same = same || (row.Text(0) == type && row.Text(1) == date &&
                      row.Int(2) == balance.amount_minor && row.Text(3) == balance.currency);
    }
    changed = changed || !same;
  }
  if (!changed) return Status::Ok();
  json::Writer data;
  data.StartObject();
  data.Field("bank_account_id", account.id);
  data.Field("bank_connection_id", account.bank_connection_id);
  data.Key("balances").StartArray();
  for (const auto& balance : balances) {
    auto currency = domain::Currency::FromCode(balance.currency);
    data.StartObject();
    data.Field("balance_type", sources::BalanceTypeName(balance.type));
    data.Key("amount");
    if (currency) {
      data.String(domain::FormatDecimalAmount(balance.amount_minor, currency->exponent()));
    } else {
      data.Null();
    }
    data.Field("amount_minor", balance.amount_minor);
    data.Field("currency", balance.currency);
    data.Field("reference_date", domain::FormatDate(balance.reference_date.value_or(today)));
    data.EndObject();
  }
  data.EndArray();
  data.EndObject();
  return publisher_->Publish(
      connection, events::Event{account.user_id, "balance.updated", account.id, data.str()});
}

Result<int64_t> BankDataService::WarnExpiringConsents() {
  if (publisher_ == nullptr) return int64_t{0};
  constexpr int64_t kBatchMax = 500;
  int64_t now = clock_.NowMilliseconds();
  int64_t announced = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT id, user_id, institution_id, consent_expires_at FROM bank_connections WHERE "
        "status = 'LN' AND enabled = 1 AND consent_warning_sent_at IS NULL AND "
        "consent_expires_at > ? AND consent_expires_at <= ? ORDER BY id LIMIT ?",
        {now, now + kConsentWarningDays * kDayMs, kBatchMax});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) {
      auto marked =
          connection.Execute("UPDATE bank_connections SET consent_warning_sent_at = ? WHERE id = ?",
                             {now, row.Int(0)});
      if (!marked.ok()) return marked.status();
      auto expires = domain::Timestamp::FromUnixTimeMs(row.Int(3));
      json::Writer data;
      data.StartObject();
      data.Field("bank_connection_id", row.Int(0));
      data.Field("bank_id", row.Text(2));
      data.Field("consent_expires_at", expires ? domain::FormatTimestamp(*expires) : "");
      data.Field("days_left", (row.Int(3) - now) / kDayMs);
      data.EndObject();
      Status published = publisher_->Publish(
          connection,
          events::Event{row.Int(1), "bank_connection.consent_expiring", std::nullopt, data.str()});
      if (!published.ok()) return published;
      ++announced;
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return announced;
}

// ---- Retention ------------------------------------------------------------------------------

Result<int64_t> BankDataService::PurgeExpiredData() {
  int64_t now = clock_.NowMilliseconds();
  int64_t deleted = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto users = connection.Query(
        "SELECT id, retention_days FROM users WHERE retention_days IS NOT NULL", {});
    if (!users.ok()) return users.status();
    for (const auto& user : users.value()) {
      int64_t days = std::max<int64_t>(7, user.Int(1));
      auto cutoff = domain::Timestamp::FromUnixTimeMs(now - days * kDayMs);
      if (!cutoff) continue;
      std::string cutoff_date = domain::FormatDate(cutoff->date());
      auto transactions = connection.Execute(
          "DELETE FROM bank_transactions WHERE user_id = ? AND generated_date < ?",
          {user.Int(0), cutoff_date});
      if (!transactions.ok()) return transactions.status();
      auto balances =
          connection.Execute("DELETE FROM bank_balances WHERE user_id = ? AND reference_date < ?",
                             {user.Int(0), cutoff_date});
      if (!balances.ok()) return balances.status();
      auto changes =
          connection.Execute("DELETE FROM transaction_changes WHERE user_id = ? AND created_at < ?",
                             {user.Int(0), now - days * kDayMs});
      if (!changes.ok()) return changes.status();
      deleted += transactions.value() + balances.value();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return deleted;
}

}  // namespace finsync::sync
