#include "delivery/simplefin_server/service.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/crypto.h"
#include "domain/currency.h"
#include "domain/money.h"

namespace finsync::delivery::simplefin {

namespace {

constexpr size_t kSecretLength = 40;  // Base62: about 238 bits.
constexpr size_t kPresentedSecretLengthMax = 200;
constexpr int64_t kLastUsedResolutionMs = 60'000;
constexpr int64_t kDayMs = kSecondsPerDay * 1000;
// Rows read per account and request. A 90-day window of one account holds far fewer; the
// bound only keeps a pathological account from exhausting memory, and says so when reached.
constexpr int64_t kTransactionsPerAccountMax = 20'000;
constexpr std::string_view kDefaultAccessName = "SimpleFIN access";

constexpr std::string_view kAccessColumns =
    "id, user_id, name, all_accounts, created_at, claim_expires_at, claimed_at, last_used_at, "
    "revoked_at";

Access AccessFromRow(const store::Row& row) {
  Access access;
  access.id = row.Int(0);
  access.user_id = row.Int(1);
  access.name = row.Text(2);
  if (row.Int(3) == 0) access.bank_account_ids = std::vector<int64_t>();
  access.created_at_ms = row.Int(4);
  access.setup_token_expires_at_ms = row.Int(5);
  access.claimed_at_ms = row.OptionalInt(6);
  access.last_used_at_ms = row.OptionalInt(7);
  access.revoked_at_ms = row.OptionalInt(8);
  return access;
}

// Fills the account restrictions of `accesses` (all of one user) from one query.
Status LoadRestrictions(store::Connection& connection, int64_t user_id,
                        std::vector<Access>& accesses) {
  auto rows = connection.Query(
      "SELECT access_id, bank_account_id FROM simplefin_access_accounts WHERE user_id = ? "
      "ORDER BY access_id, bank_account_id",
      {user_id});
  if (!rows.ok()) return rows.status();
  std::map<int64_t, std::vector<int64_t>> by_access;
  for (const auto& row : rows.value()) by_access[row.Int(0)].push_back(row.Int(1));
  for (auto& access : accesses) {
    if (!access.bank_account_ids) continue;
    auto found = by_access.find(access.id);
    if (found != by_access.end()) access.bank_account_ids = found->second;
  }
  return Status::Ok();
}

Error Invalid(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

// Checks the request's shape; ownership of the accounts is checked inside the write.
std::optional<Error> ValidateNewAccess(const NewAccess& request) {
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  if (request.name) {
    bool blank = request.name->find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank) invalid.field_errors.push_back({"name", "must not be blank"});
    if (request.name->size() > kAccessNameMax) {
      invalid.field_errors.push_back({"name", "must be at most 100 characters"});
    }
  }
  if (request.bank_account_ids) {
    const auto& ids = *request.bank_account_ids;
    if (ids.empty()) {
      invalid.field_errors.push_back(
          {"bank_account_ids", "must list at least one account; leave it out for all accounts"});
    }
    if (ids.size() > kAccessAccountsMax) {
      invalid.field_errors.push_back({"bank_account_ids", "must list at most 500 accounts"});
    }
    for (size_t i = 0; i < ids.size() && i < kAccessAccountsMax; ++i) {
      std::string field = "bank_account_ids." + std::to_string(i);
      if (ids[i] <= 0) invalid.field_errors.push_back({field, "must be a positive integer"});
      if (std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
          ids.begin() + static_cast<std::ptrdiff_t>(i)) {
        invalid.field_errors.push_back({field, "is listed more than once"});
      }
    }
  }
  if (invalid.field_errors.empty()) return std::nullopt;
  return invalid;
}

std::string Placeholders(size_t count) {
  std::string text;
  for (size_t i = 0; i < count; ++i) text += i == 0 ? "?" : ", ?";
  return text;
}

// ---- Reading an Account Set ------------------------------------------------------------------

struct StoredAccount {
  int64_t id = 0;
  int64_t connection_id = 0;
  std::string name;
  std::string iban;
  std::string currency;
  std::string health_status;
  std::string institution_id;
  std::string connection_status;
  bool connection_enabled = true;
  std::string connection_health;
};

std::string DisplayName(const store::Row& row) {
  std::string display = row.Text(3);
  if (!display.empty()) return display;
  std::string name = row.Text(2);
  if (!name.empty()) return name;
  return "Account " + std::to_string(row.Int(0));
}

// The spec asks for names that tell a user's accounts apart: a name shared by several
// accounts gets the end of the IBAN (or the id) appended.
void MakeNamesUnique(std::vector<StoredAccount>& accounts) {
  std::map<std::string, int> counts;
  for (const auto& account : accounts) counts[account.name] += 1;
  for (auto& account : accounts) {
    if (counts[account.name] < 2) continue;
    account.name += account.iban.size() >= 4
                        ? " (IBAN ending " + account.iban.substr(account.iban.size() - 4) + ")"
                        : " (#" + std::to_string(account.id) + ")";
  }
}

Result<std::vector<StoredAccount>> ReadAccounts(store::Connection& connection,
                                                const Access& access) {
  auto rows = connection.Query(
      "SELECT a.id, a.bank_connection_id, a.name, a.display_name, a.iban, a.currency, "
      "a.health_status, c.institution_id, c.status, c.enabled, c.health_status "
      "FROM bank_accounts a JOIN bank_connections c ON c.id = a.bank_connection_id AND "
      "c.user_id = a.user_id WHERE a.user_id = ? AND (? = 1 OR a.id IN (SELECT "
      "bank_account_id FROM simplefin_access_accounts WHERE access_id = ? AND user_id = ?)) "
      "ORDER BY a.id",
      {access.user_id, int64_t{access.bank_account_ids ? 0 : 1}, access.id, access.user_id});
  if (!rows.ok()) return rows.error();
  std::vector<StoredAccount> accounts;
  for (const auto& row : rows.value()) {
    accounts.push_back(StoredAccount{row.Int(0), row.Int(1), DisplayName(row), row.Text(4),
                                     row.Text(5), row.Text(6), row.Text(7), row.Text(8),
                                     row.Int(9) != 0, row.Text(10)});
  }
  MakeNamesUnique(accounts);
  return accounts;
}

int32_t ExponentOf(std::string_view currency) {
  auto known = domain::Currency::FromCode(currency);
  return known ? known->exponent() : 2;
}

struct LatestBalance {
  int64_t amount_minor = 0;
  int64_t updated_at_ms = 0;
  std::string currency;
};

// The newest balance of the given types, as the bank-data API picks it (bank_data.cc).
Result<std::optional<LatestBalance>> ReadLatestBalance(store::Connection& connection,
                                                       int64_t user_id, int64_t account_id,
                                                       std::string_view types_sql) {
  auto rows = connection.Query(
      "SELECT amount_minor, updated_at, currency FROM bank_balances WHERE user_id = ? AND "
      "bank_account_id = ? AND balance_type IN (" +
          std::string(types_sql) + ") ORDER BY reference_date DESC, id DESC LIMIT 1",
      {user_id, account_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<LatestBalance>();
  return std::optional<LatestBalance>(
      LatestBalance{rows.value()[0].Int(0), rows.value()[0].Int(1), rows.value()[0].Text(2)});
}

std::optional<domain::Date> OptionalDate(const store::Row& row, size_t index) {
  if (row.IsNull(index)) return std::nullopt;
  auto parsed = domain::ParseDate(row.Text(index));
  if (!parsed.ok()) return std::nullopt;
  return parsed.date;
}

std::string DateText(int64_t seconds) {
  auto timestamp = domain::Timestamp::FromUnixTimeMs(
      std::clamp(seconds, domain::Timestamp::kUnixTimeMinMs / 1000,
                 domain::Timestamp::kUnixTimeMaxMs / 1000) *
      1000);
  return domain::FormatDate(timestamp ? timestamp->date() : domain::Date());
}

// The account's transactions inside `window`. SQL narrows the rows with a superset test (any
// of the dates a SimpleFIN time is made from lies within the window widened by a day); the
// exact test runs on the mapped transaction.
Result<std::vector<Transaction>> ReadTransactions(store::Connection& connection, int64_t user_id,
                                                  const StoredAccount& account,
                                                  const Window& window, bool pending,
                                                  bool& truncated) {
  std::vector<Transaction> transactions;
  if (window.empty) return transactions;
  int64_t low_seconds = window.start_seconds - kSecondsPerDay;
  int64_t high_seconds =
      window.end_seconds ? *window.end_seconds + kSecondsPerDay : kEpochSecondsMax;
  std::string low_date = DateText(low_seconds);
  std::string high_date = DateText(high_seconds);
  int64_t low_ms = low_seconds * 1000;
  int64_t high_ms = high_seconds * 1000;
  auto rows = connection.Query(
      "SELECT id, status, booking_date, value_date, booking_datetime, value_datetime, "
      "generated_date, amount_minor, currency, generated_payee, generated_description, "
      "remittance_unstructured, remittance_structured FROM bank_transactions "
      "WHERE user_id = ? AND bank_account_id = ? AND (status = 'BOOKED' OR ? = 1) AND ("
      "booking_date BETWEEN ? AND ? OR value_date BETWEEN ? AND ? OR "
      "generated_date BETWEEN ? AND ? OR booking_datetime BETWEEN ? AND ? OR "
      "value_datetime BETWEEN ? AND ?) ORDER BY id LIMIT ?",
      {user_id, account.id, int64_t{pending ? 1 : 0}, low_date, high_date, low_date, high_date,
       low_date, high_date, low_ms, high_ms, low_ms, high_ms, kTransactionsPerAccountMax});
  if (!rows.ok()) return rows.error();
  truncated = static_cast<int64_t>(rows.value().size()) == kTransactionsPerAccountMax;
  for (const auto& row : rows.value()) {
    StoredTransaction stored;
    stored.id = row.Int(0);
    stored.pending = row.Text(1) == "PENDING";
    stored.booking_date = OptionalDate(row, 2);
    stored.value_date = OptionalDate(row, 3);
    stored.booking_datetime_ms = row.OptionalInt(4);
    stored.value_datetime_ms = row.OptionalInt(5);
    stored.generated_date = OptionalDate(row, 6).value_or(domain::Date());
    stored.amount_minor = row.Int(7);
    stored.exponent = ExponentOf(row.Text(8));
    stored.generated_payee = row.Text(9);
    stored.generated_description = row.Text(10);
    stored.remittance_unstructured = row.Text(11);
    stored.remittance_structured = row.Text(12);
    Transaction transaction = ToProtocolTransaction(stored);
    if (InWindow(window, transaction)) transactions.push_back(std::move(transaction));
  }
  SortTransactions(transactions);
  return transactions;
}

// Why a connection needs the user, as the Bridge words it ("Connection to <org> may need
// attention"; Actual Budget shows such accounts as needing attention). Empty when healthy.
std::optional<ProtocolError> ConnectionProblem(const StoredAccount& account,
                                               const std::string& organization) {
  std::string prefix = "Connection to " + organization + " may need attention: ";
  std::string id = std::to_string(account.connection_id);
  if (account.connection_status == "EX") {
    return ProtocolError{"con.auth",
                         prefix + "the bank consent has expired; reconfirm it in finsync.", id, ""};
  }
  if (!account.connection_enabled) {
    return ProtocolError{"con.", prefix + "the connection is disabled in finsync.", id, ""};
  }
  if (account.connection_status != "LN") {
    return ProtocolError{"con.auth",
                         prefix + "the bank consent is not active; renew it in finsync.", id, ""};
  }
  if (account.connection_health == "DEAD") {
    return ProtocolError{"con.", prefix + "syncing has failed repeatedly.", id, ""};
  }
  return std::nullopt;
}

// The first date the user's retention keeps, when they set one: the purge keeps dates on or
// after today - days (bank_data.cc, PurgeExpiredData).
Result<std::optional<domain::Date>> RetentionStart(store::Connection& connection, int64_t user_id,
                                                   int64_t now_ms) {
  auto rows = connection.Query("SELECT retention_days FROM users WHERE id = ?", {user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty() || rows.value()[0].IsNull(0)) return std::optional<domain::Date>();
  int64_t days = std::max<int64_t>(7, rows.value()[0].Int(0));
  auto cutoff = domain::Timestamp::FromUnixTimeMs(now_ms - days * kDayMs);
  if (!cutoff) return std::optional<domain::Date>();
  return std::optional<domain::Date>(cutoff->date());
}

// The accounts account= names (all of them without it), in the order asked; each id the
// access cannot see is an error entry, not a failure.
std::vector<StoredAccount> ChooseAccounts(const std::vector<StoredAccount>& accounts,
                                          const AccountsQuery& query,
                                          std::vector<ProtocolError>& errors) {
  if (query.account_ids.empty()) return accounts;
  std::vector<StoredAccount> chosen;
  for (const auto& wanted : query.account_ids) {
    auto match = std::find_if(accounts.begin(), accounts.end(),
                              [&](const auto& a) { return std::to_string(a.id) == wanted; });
    if (match == accounts.end()) {
      std::string shown = PrintableText(wanted);
      errors.push_back({"act.", "The account " + shown + " was not found.", "", shown});
    } else {
      chosen.push_back(*match);
    }
  }
  return chosen;
}

// One account of the set: latest balances and, unless balances-only, its transactions.
Result<Account> ReadAccount(store::Connection& connection, int64_t user_id,
                            const StoredAccount& stored, const Connection& organization,
                            const Window& window, const AccountsQuery& query, int64_t now_ms,
                            std::vector<ProtocolError>& errors) {
  Account account;
  account.id = std::to_string(stored.id);
  account.name = stored.name;
  account.currency = stored.currency;
  account.connection_id = organization.id;
  if (stored.health_status != "HEALTHY") {
    errors.push_back({"act.failed",
                      "Syncing " + stored.name + " at " + organization.name +
                          " failed recently; its data may be incomplete.",
                      "", account.id});
  }
  int32_t exponent = ExponentOf(stored.currency);
  auto booked =
      ReadLatestBalance(connection, user_id, stored.id, "'closingBooked', 'interimBooked'");
  if (!booked.ok()) return booked.error();
  auto available =
      ReadLatestBalance(connection, user_id, stored.id, "'interimAvailable', 'expected'");
  if (!available.ok()) return available.error();
  // SimpleFIN has one currency per account: a balance in another currency, or in one finsync
  // cannot format exactly, is left out (with an error entry) rather than shown in wrong units.
  const bool account_currency_known = domain::Currency::FromCode(stored.currency).has_value();
  for (std::optional<LatestBalance>* latest : {&booked.value(), &available.value()}) {
    if (*latest && (!account_currency_known || (*latest)->currency != stored.currency)) {
      errors.push_back({"act.missingdata",
                        "A balance of " + stored.name + " is in " + (*latest)->currency +
                            ", not the account's currency " + stored.currency + "; left out.",
                        "", account.id});
      latest->reset();
    }
  }
  const auto& balance = booked.value() ? booked.value() : available.value();
  if (balance) {
    account.balance = domain::FormatDecimalAmount(balance->amount_minor, exponent);
    account.balance_date = balance->updated_at_ms / 1000;
  } else {
    account.balance = domain::FormatDecimalAmount(0, exponent);
    account.balance_date = now_ms / 1000;
    errors.push_back({"act.missingdata",
                      "No balance of " + stored.name +
                          " is known yet; sync its balances in "
                          "finsync.",
                      "", account.id});
  }
  if (available.value()) {
    account.available_balance =
        domain::FormatDecimalAmount(available.value()->amount_minor, exponent);
    account.balance_date = std::max(account.balance_date, available.value()->updated_at_ms / 1000);
  }
  if (query.balances_only) return account;
  bool truncated = false;
  auto transactions =
      ReadTransactions(connection, user_id, stored, window, query.pending, truncated);
  if (!transactions.ok()) return transactions.error();
  account.transactions = std::move(transactions.value());
  if (truncated) {
    errors.push_back({"act.missingdata",
                      "Only part of the transactions of " + stored.name +
                          " were returned; ask for a shorter date range.",
                      "", account.id});
  }
  return account;
}

}  // namespace

std::string_view AccessStatusName(AccessStatus status) {
  switch (status) {
    case AccessStatus::kUnclaimed:
      return "UNCLAIMED";
    case AccessStatus::kClaimed:
      return "CLAIMED";
    case AccessStatus::kExpired:
      return "EXPIRED";
    case AccessStatus::kRevoked:
      return "REVOKED";
  }
  return "REVOKED";
}

AccessStatus Access::StatusAt(int64_t now_ms) const {
  if (revoked_at_ms) return AccessStatus::kRevoked;
  if (claimed_at_ms) return AccessStatus::kClaimed;
  if (setup_token_expires_at_ms <= now_ms) return AccessStatus::kExpired;
  return AccessStatus::kUnclaimed;
}

SimplefinService::SimplefinService(store::Database& database, const Clock& clock,
                                   const sources::Catalog& catalog, ServiceOptions options)
    : database_(database), clock_(clock), catalog_(catalog), options_(std::move(options)) {}

Result<CreatedAccess> SimplefinService::CreateSetupToken(int64_t user_id,
                                                         const NewAccess& request) {
  if (auto invalid = ValidateNewAccess(request)) return *invalid;
  int64_t now = clock_.NowMilliseconds();
  std::string secret = crypto::RandomBase62(kSecretLength);
  CreatedAccess created;
  Access& access = created.access;
  access.user_id = user_id;
  access.name = request.name ? *request.name : std::string(kDefaultAccessName);
  access.bank_account_ids = request.bank_account_ids;
  if (access.bank_account_ids) {
    std::sort(access.bank_account_ids->begin(), access.bank_account_ids->end());
  }
  access.created_at_ms = now;
  access.setup_token_expires_at_ms = now + options_.setup_token_ttl_ms;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto live = connection.Query(
        "SELECT COUNT(*) FROM simplefin_accesses WHERE user_id = ? AND revoked_at IS NULL AND "
        "(claimed_at IS NOT NULL OR claim_expires_at > ?)",
        {user_id, now});
    if (!live.ok()) return live.status();
    if (live.value()[0].Int(0) >= kLiveAccessesPerUserMax) {
      return Error::Of(ErrorCode::kPlanLimitReached,
                       "At most 100 SimpleFIN accesses may be live at once; revoke one first.");
    }
    if (request.bank_account_ids) {
      const auto& ids = *request.bank_account_ids;
      std::vector<store::Value> params{user_id};
      for (int64_t id : ids) params.emplace_back(id);
      auto owned = connection.Query("SELECT id FROM bank_accounts WHERE user_id = ? AND id IN (" +
                                        Placeholders(ids.size()) + ")",
                                    params);
      if (!owned.ok()) return owned.status();
      std::set<int64_t> found;
      for (const auto& row : owned.value()) found.insert(row.Int(0));
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!found.contains(ids[i])) {
          return Invalid("bank_account_ids." + std::to_string(i),
                         "is not one of your bank accounts");
        }
      }
    }
    auto inserted = connection.Query(
        "INSERT INTO simplefin_accesses (user_id, name, claim_hash, claim_expires_at, "
        "all_accounts, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        {user_id, access.name, crypto::Sha256Hex(secret), access.setup_token_expires_at_ms,
         int64_t{access.bank_account_ids ? 0 : 1}, now});
    if (!inserted.ok()) return inserted.status();
    access.id = inserted.value()[0].Int(0);
    for (int64_t account_id : access.bank_account_ids.value_or(std::vector<int64_t>())) {
      auto linked = connection.Execute(
          "INSERT INTO simplefin_access_accounts (user_id, access_id, bank_account_id) VALUES "
          "(?, ?, ?)",
          {user_id, access.id, account_id});
      if (!linked.ok()) return linked.status();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  created.setup_token = Base64Encode(options_.root_url + "/claim/" + secret);
  return created;
}

Result<std::vector<Access>> SimplefinService::ListAccesses(int64_t user_id) {
  std::vector<Access> accesses;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kAccessColumns) +
                                     " FROM simplefin_accesses WHERE user_id = ? ORDER BY id",
                                 {user_id});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) accesses.push_back(AccessFromRow(row));
    return LoadRestrictions(connection, user_id, accesses);
  });
  if (!status.ok()) return status.error();
  return accesses;
}

Result<Access> SimplefinService::GetAccess(int64_t user_id, int64_t access_id) {
  std::vector<Access> found;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kAccessColumns) +
                                     " FROM simplefin_accesses WHERE id = ? AND user_id = ?",
                                 {access_id, user_id});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) found.push_back(AccessFromRow(row));
    return LoadRestrictions(connection, user_id, found);
  });
  if (!status.ok()) return status.error();
  if (found.empty()) return Error::Of(ErrorCode::kNotFound, "The SimpleFIN access was not found.");
  return found[0];
}

Status SimplefinService::RevokeAccess(int64_t user_id, int64_t access_id) {
  int64_t now = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    auto exists = connection.Query("SELECT id FROM simplefin_accesses WHERE id = ? AND user_id = ?",
                                   {access_id, user_id});
    if (!exists.ok()) return exists.status();
    if (exists.value().empty()) {
      return Error::Of(ErrorCode::kNotFound, "The SimpleFIN access was not found.");
    }
    return connection
        .Execute(
            "UPDATE simplefin_accesses SET revoked_at = ? WHERE id = ? AND user_id = ? AND "
            "revoked_at IS NULL",
            {now, access_id, user_id})
        .status();
  });
}

Result<ClaimResult> SimplefinService::Claim(std::string_view claim_secret) {
  ClaimResult result;
  if (claim_secret.empty() || claim_secret.size() > kPresentedSecretLengthMax) return result;
  std::string hash = crypto::Sha256Hex(claim_secret);
  int64_t now = clock_.NowMilliseconds();
  std::string password = crypto::RandomBase62(kSecretLength);
  int64_t access_id = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT id, claim_hash, claim_expires_at, claimed_at, revoked_at FROM "
        "simplefin_accesses WHERE claim_hash = ?",
        {hash});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::Ok();
    const store::Row& row = rows.value()[0];
    if (!crypto::ConstantTimeEquals(row.Text(1), hash)) return Status::Ok();
    if (!row.IsNull(4)) {
      result.outcome = ClaimOutcome::kRevoked;
    } else if (!row.IsNull(3)) {
      result.outcome = ClaimOutcome::kAlreadyClaimed;
    } else if (row.Int(2) <= now) {
      result.outcome = ClaimOutcome::kExpired;
    } else {
      access_id = row.Int(0);
      auto claimed = connection.Execute(
          "UPDATE simplefin_accesses SET secret_hash = ?, claimed_at = ? WHERE id = ? AND "
          "claimed_at IS NULL AND revoked_at IS NULL",
          {crypto::Sha256Hex(password), now, access_id});
      if (!claimed.ok()) return claimed.status();
      result.outcome =
          claimed.value() == 1 ? ClaimOutcome::kClaimed : ClaimOutcome::kAlreadyClaimed;
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (result.outcome == ClaimOutcome::kClaimed) {
    result.access_url = AccessUrl(options_.root_url, std::to_string(access_id), password);
  }
  return result;
}

Result<AuthenticationResult> SimplefinService::Authenticate(const BasicCredentials& credentials) {
  AuthenticationResult result;
  int64_t access_id = 0;
  for (char c : credentials.username) {
    if (c < '0' || c > '9' || access_id > 100'000'000'000'000) return result;
    access_id = access_id * 10 + (c - '0');
  }
  if (access_id <= 0 || credentials.password.empty() ||
      credentials.password.size() > kPresentedSecretLengthMax) {
    return result;
  }
  std::string hash = crypto::Sha256Hex(credentials.password);
  std::vector<Access> found;
  std::string stored_hash;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kAccessColumns) +
                                     ", secret_hash FROM simplefin_accesses WHERE id = ?",
                                 {access_id});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty() || rows.value()[0].IsNull(9)) return Status::Ok();
    found.push_back(AccessFromRow(rows.value()[0]));
    stored_hash = rows.value()[0].Text(9);
    return LoadRestrictions(connection, found[0].user_id, found);
  });
  if (!status.ok()) return status.error();
  if (found.empty() || !crypto::ConstantTimeEquals(stored_hash, hash)) return result;
  result.access = found[0];
  if (result.access.revoked_at_ms) {
    result.outcome = AuthenticationOutcome::kRevoked;
    return result;
  }
  result.outcome = AuthenticationOutcome::kAuthenticated;
  int64_t now = clock_.NowMilliseconds();
  const auto& last_used = result.access.last_used_at_ms;
  if (!last_used || now - *last_used >= kLastUsedResolutionMs) {
    database_.WriteDetached([access_id, now](store::Connection& connection) -> Status {
      return connection
          .Execute("UPDATE simplefin_accesses SET last_used_at = ? WHERE id = ?", {now, access_id})
          .status();
    });
    result.access.last_used_at_ms = now;
  }
  return result;
}

Result<AccountSet> SimplefinService::ReadAccountSet(const Access& access,
                                                    const AccountsQuery& query) {
  int64_t now_ms = clock_.NowMilliseconds();
  AccountSet set;
  for (const auto& name : query.unknown_parameters) {
    set.errors.push_back(
        {"gen.api",
         "The parameter '" + name + "' is not part of the SimpleFIN protocol and was ignored.", "",
         ""});
  }
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto retention_start = RetentionStart(connection, access.user_id, now_ms);
    if (!retention_start.ok()) return retention_start.status();
    Window window = ResolveWindow(query, now_ms / 1000, retention_start.value());
    set.errors.insert(set.errors.end(), window.errors.begin(), window.errors.end());
    auto accounts = ReadAccounts(connection, access);
    if (!accounts.ok()) return accounts.status();
    std::map<int64_t, size_t> connection_index;
    for (const auto& stored : ChooseAccounts(accounts.value(), query, set.errors)) {
      if (!connection_index.contains(stored.connection_id)) {
        const sources::Bank* bank = catalog_.FindBank(stored.institution_id);
        Connection entry{std::to_string(stored.connection_id),
                         bank != nullptr ? bank->name : stored.institution_id,
                         stored.institution_id};
        if (auto problem = ConnectionProblem(stored, entry.name)) set.errors.push_back(*problem);
        connection_index[stored.connection_id] = set.connections.size();
        set.connections.push_back(std::move(entry));
      }
      const Connection& organization = set.connections[connection_index[stored.connection_id]];
      auto account = ReadAccount(connection, access.user_id, stored, organization, window, query,
                                 now_ms, set.errors);
      if (!account.ok()) return account.status();
      set.accounts.push_back(std::move(account.value()));
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return set;
}

}  // namespace finsync::delivery::simplefin
