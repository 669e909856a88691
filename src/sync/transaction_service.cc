#include "sync/transaction_service.h"

#include <rapidjson/document.h>

#include <unordered_map>

#include "common/crypto.h"
#include "domain/currency.h"
#include "domain/money.h"
#include "ingest/ingest.h"

namespace finsync::sync {

namespace {

using domain::BankTransaction;

constexpr std::string_view kChangeSql =
    "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, kind, "
    "created_at) VALUES (?, ?, ?, ?, ?)";

Error NotFound() { return Error::Of(ErrorCode::kNotFound, "The bank transaction was not found."); }

Result<std::optional<BankTransaction>> LoadTransaction(store::Connection& connection,
                                                       int64_t user_id, int64_t id) {
  std::string sql = "SELECT " + std::string(ingest::kTransactionColumns) +
                    " FROM bank_transactions WHERE id = ? AND user_id = ?";
  auto rows = connection.Query(sql, {id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<BankTransaction>();
  return std::optional(ingest::TransactionFromRow(rows.value()[0]));
}

// The duplicate-filter fields are stored as a JSON array of names; anything unreadable falls
// back to the defaults, which is what an account without its own choice uses.
std::vector<ingest::DuplicateField> DuplicateFieldsFrom(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  std::vector<ingest::DuplicateField> fields;
  if (!document.HasParseError() && document.IsArray()) {
    for (const auto& name : document.GetArray()) {
      if (!name.IsString()) continue;
      auto field = ingest::ParseDuplicateField(name.GetString());
      if (field) fields.push_back(*field);
    }
  }
  return fields.empty() ? ingest::DefaultDuplicateFields() : fields;
}

struct AccountSettings {
  ingest::AccountConfig config;
  std::string currency;
};

Result<std::optional<AccountSettings>> LoadAccount(store::Connection& connection, int64_t user_id,
                                                   int64_t account_id) {
  auto rows = connection.Query(
      "SELECT currency, generated_payee, generated_description, generated_date, "
      "fields_for_duplicate_filtering FROM bank_accounts WHERE id = ? AND user_id = ?",
      {account_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<AccountSettings>();
  const store::Row& row = rows.value()[0];
  AccountSettings settings;
  settings.currency = row.Text(0);
  settings.config.user_id = user_id;
  settings.config.bank_account_id = account_id;
  settings.config.payee_source =
      ingest::ParseTextSource(row.Text(1)).value_or(ingest::TextSource::kAuto);
  settings.config.description_source =
      ingest::ParseTextSource(row.Text(2)).value_or(ingest::TextSource::kAuto);
  settings.config.date_source =
      ingest::ParseDateSource(row.Text(3)).value_or(ingest::DateSource::kAuto);
  settings.config.duplicate_fields = DuplicateFieldsFrom(row.Text(4));
  // A manual pending transaction is stored even where the bank's pending ones are not
  // synced: the user asked for exactly this one.
  settings.config.sync_pending_transactions = true;
  return std::optional(std::move(settings));
}

// Resolves the account, the currency and the amount of a manual transaction; every problem
// becomes a field error so the client sees them all at once.
Result<AccountSettings> ResolveManual(store::Connection& connection, int64_t user_id,
                                      const ManualTransaction& manual, BankTransaction& out) {
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  auto account = LoadAccount(connection, user_id, manual.bank_account_id);
  if (!account.ok()) return account.error();
  if (!account.value()) {
    invalid.field_errors.push_back({"bank_account_id", "does not exist"});
    return invalid;
  }
  std::string code = manual.currency.value_or(account.value()->currency);
  auto currency = domain::Currency::FromCode(code);
  if (!currency) {
    invalid.field_errors.push_back({"currency", "must be an ISO 4217 currency code such as EUR"});
    return invalid;
  }
  auto amount = domain::ParseMoneyAmount(manual.amount_text, *currency);
  if (!amount.ok()) {
    invalid.field_errors.push_back({"amount", amount.message + " (" + std::string(code) + " has " +
                                                  std::to_string(currency->exponent()) +
                                                  " decimals)"});
    return invalid;
  }
  out.amount_minor = amount.amount_minor;
  out.currency = code;
  return std::move(*account.value());
}

Status CheckSourceIdIsFree(store::Connection& connection, int64_t user_id, int64_t account_id,
                           const std::string& transaction_id) {
  auto rows = connection.Query(
      "SELECT id FROM bank_transactions WHERE bank_account_id = ? AND user_id = ? AND "
      "transaction_id = ?",
      {account_id, user_id, transaction_id});
  if (!rows.ok()) return rows.status();
  if (!rows.value().empty()) {
    std::string existing_id = std::to_string(rows.value()[0].Int(0));
    return Error::Of(ErrorCode::kConflict,
                     "A transaction with this transaction_id is already "
                     "stored for the bank account (id " +
                         existing_id + ").");
  }
  return Status::Ok();
}

// Applies an edit to `transaction`; returns whether anything changed. `regenerated` holds the
// values the account's configuration generates, used where the edit asks to restore them.
bool ApplyEdit(const TransactionEdit& edit, const domain::GeneratedFields& regenerated,
               BankTransaction& transaction) {
  domain::GeneratedFields before = transaction.generated;
  domain::GeneratedFields& fields = transaction.generated;
  if (edit.payee) fields.payee = edit.payee->value_or(regenerated.payee);
  if (edit.description) fields.description = edit.description->value_or(regenerated.description);
  if (edit.date) fields.date = *edit.date ? **edit.date : regenerated.date;
  // A stored row always has a generated date, and regenerating from its own dates keeps one.
  if (!fields.date) fields.date = before.date;
  return fields.payee != before.payee || fields.description != before.description ||
         fields.date != before.date;
}

bool EditRestoresAField(const TransactionEdit& edit) {
  return (edit.payee && !*edit.payee) || (edit.description && !*edit.description) ||
         (edit.date && !*edit.date);
}

Result<std::unordered_map<int64_t, BankTransaction>> LoadMany(store::Connection& connection,
                                                              int64_t user_id,
                                                              const std::vector<int64_t>& ids) {
  std::unordered_map<int64_t, BankTransaction> found;
  if (ids.empty()) return found;
  std::string sql = "SELECT " + std::string(ingest::kTransactionColumns) +
                    " FROM bank_transactions WHERE user_id = ? AND id IN (";
  std::vector<store::Value> params{user_id};
  for (size_t i = 0; i < ids.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
    params.emplace_back(ids[i]);
  }
  sql += ")";
  auto rows = connection.Query(sql, params);
  if (!rows.ok()) return rows.error();
  for (const auto& row : rows.value()) {
    BankTransaction transaction = ingest::TransactionFromRow(row);
    found.emplace(transaction.id, std::move(transaction));
  }
  return found;
}

}  // namespace

Result<TransactionPage> TransactionService::List(int64_t user_id, const ListQuery& query) {
  TransactionPage page;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    SqlQuery list = BuildListSql(query, user_id, ingest::kTransactionColumns);
    auto rows = connection.Query(list.sql, list.params);
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) {
      page.transactions.push_back(ingest::TransactionFromRow(row));
    }
    if (query.paging == PagingStyle::kCursor) {
      page.has_more = static_cast<int64_t>(page.transactions.size()) > query.page_size;
      if (page.has_more) {
        page.transactions.pop_back();
        const BankTransaction& last = page.transactions.back();
        PageToken token{query.sort,
                        {domain::FormatDate(*last.generated.date), last.id},
                        FilterHash(query.filters, query.sort)};
        page.next_page_token = EncodePageToken(token);
      }
      return Status::Ok();
    }
    SqlQuery count = BuildCappedCountSql(query.filters, user_id, kPageWindowMax + 1);
    auto counted = connection.Query(count.sql, count.params);
    if (!counted.ok()) return counted.status();
    int64_t total = counted.value()[0].Int(0);
    int64_t seen =
        (query.page_number - 1) * query.page_size + static_cast<int64_t>(page.transactions.size());
    if (total <= kPageWindowMax) page.total = total;
    page.has_more = seen < total;
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return page;
}

Result<BankTransaction> TransactionService::Get(int64_t user_id, int64_t transaction_id) {
  std::optional<BankTransaction> found;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto loaded = LoadTransaction(connection, user_id, transaction_id);
    if (!loaded.ok()) return loaded.status();
    found = std::move(loaded.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!found) return NotFound();
  return std::move(*found);
}

Result<CreatedTransaction> TransactionService::Create(int64_t user_id, ManualTransaction manual) {
  BankTransaction transaction = std::move(manual.details);
  // Normalised first so the source-id check below sees the id exactly as it will be stored.
  ingest::Normalise(transaction);
  std::optional<AccountSettings> account;
  Status checked = database_.Read([&](store::Connection& connection) -> Status {
    auto resolved = ResolveManual(connection, user_id, manual, transaction);
    if (!resolved.ok()) return resolved.status();
    account = std::move(resolved.value());
    if (transaction.transaction_id.empty()) return Status::Ok();
    return CheckSourceIdIsFree(connection, user_id, manual.bank_account_id,
                               transaction.transaction_id);
  });
  if (!checked.ok()) return checked.error();
  // A unique source id keeps two genuinely identical manual entries (two coffees on one day)
  // apart: without one, the pipeline's duplicate filter would fold the second into the first.
  if (transaction.transaction_id.empty()) {
    transaction.transaction_id = "manual-" + crypto::RandomBase62(20);
  }
  transaction.source = "manual";
  transaction.raw_payload = std::move(manual.raw_payload);
  ingest::Batch batch;
  batch.pending_list_is_complete = false;  // One manual entry says nothing about the others.
  bool booked = transaction.booked();
  (booked ? batch.booked : batch.pending).push_back(std::move(transaction));
  ingest::Pipeline pipeline(database_, clock_);
  auto outcome = pipeline.Ingest(account->config, std::move(batch));
  if (!outcome.ok()) return outcome.error();
  CreatedTransaction created;
  int64_t id = 0;
  if (!outcome.value().added_ids.empty()) {
    id = outcome.value().added_ids[0];
  } else if (!outcome.value().modified_ids.empty()) {
    id = outcome.value().modified_ids[0];
    created.booked_a_pending_transaction = true;
  } else {
    // Unchanged: the same source id was stored concurrently since the check above.
    return Error::Of(ErrorCode::kConflict,
                     "An identical transaction is already stored for the bank account.");
  }
  auto stored = Get(user_id, id);
  if (!stored.ok()) return stored.error();
  created.transaction = std::move(stored.value());
  return created;
}

Result<BankTransaction> TransactionService::Update(int64_t user_id, int64_t transaction_id,
                                                   const TransactionEdit& edit) {
  std::optional<BankTransaction> updated;
  int64_t now_ms = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto loaded = LoadTransaction(connection, user_id, transaction_id);
    if (!loaded.ok()) return loaded.status();
    if (!loaded.value()) return NotFound();
    BankTransaction transaction = std::move(*loaded.value());
    domain::GeneratedFields regenerated = transaction.generated;
    if (EditRestoresAField(edit)) {
      auto account = LoadAccount(connection, user_id, transaction.bank_account_id);
      if (!account.ok()) return account.status();
      if (!account.value()) return NotFound();
      BankTransaction copy = transaction;
      ingest::GenerateFields(account.value()->config, copy);
      regenerated = copy.generated;
    }
    bool changed = ApplyEdit(edit, regenerated, transaction);
    if (changed) {
      transaction.updated_at_ms = now_ms;
      auto written = connection.Execute(
          "UPDATE bank_transactions SET generated_payee = ?, generated_description = ?, "
          "generated_date = ?, updated_at = ? WHERE id = ? AND user_id = ?",
          {transaction.generated.payee, transaction.generated.description,
           domain::FormatDate(*transaction.generated.date), now_ms, transaction_id, user_id});
      if (!written.ok()) return written.status();
      auto change = connection.Execute(
          kChangeSql,
          {user_id, transaction_id, transaction.bank_account_id, std::string("modified"), now_ms});
      if (!change.ok()) return change.status();
    }
    updated = std::move(transaction);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return std::move(*updated);
}

Status TransactionService::Delete(int64_t user_id, int64_t transaction_id) {
  int64_t now_ms = clock_.NowMilliseconds();
  return database_.Write([&](store::Connection& connection) -> Status {
    auto deleted = connection.Query(
        "DELETE FROM bank_transactions WHERE id = ? AND user_id = ? RETURNING bank_account_id",
        {transaction_id, user_id});
    if (!deleted.ok()) return deleted.status();
    if (deleted.value().empty()) return NotFound();
    auto change = connection.Execute(
        kChangeSql,
        {user_id, transaction_id, deleted.value()[0].Int(0), std::string("removed"), now_ms});
    return change.ok() ? Status::Ok() : change.status();
  });
}

Result<ChangeFeedPage> TransactionService::Changes(int64_t user_id, const ChangeFeedQuery& query) {
  ChangeFeedPage page;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT seq, bank_transaction_id, bank_account_id, kind FROM transaction_changes "
        "WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        {user_id, query.after_seq, query.limit + 1});
    if (!rows.ok()) return rows.status();
    std::vector<Change> changes;
    for (const auto& row : rows.value()) {
      if (static_cast<int64_t>(changes.size()) == query.limit) break;
      // An unknown kind can only come from a newer writer; "modified" makes clients refetch.
      ChangeKind kind = ParseChangeKind(row.Text(3)).value_or(ChangeKind::kModified);
      changes.push_back({row.Int(0), row.Int(1), row.Int(2), kind});
    }
    page.has_more = static_cast<int64_t>(rows.value().size()) > query.limit;
    page.next_cursor = EncodeChangeCursor(changes.empty() ? query.after_seq : changes.back().seq);
    CollapsedChanges collapsed = CollapseChanges(changes);
    std::vector<int64_t> wanted = collapsed.added;
    wanted.insert(wanted.end(), collapsed.modified.begin(), collapsed.modified.end());
    auto current = LoadMany(connection, user_id, wanted);
    if (!current.ok()) return current.status();
    // A transaction removed after this page's last change is missing here; its "removed"
    // change follows on a later page, so leaving it out keeps the client consistent.
    for (auto [ids, out] : {std::pair{&collapsed.added, &page.added},
                            std::pair{&collapsed.modified, &page.modified}}) {
      for (int64_t id : *ids) {
        auto found = current.value().find(id);
        if (found != current.value().end()) out->push_back(std::move(found->second));
      }
    }
    page.removed = std::move(collapsed.removed);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return page;
}

}  // namespace finsync::sync
