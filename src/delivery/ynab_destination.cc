#include "delivery/ynab_destination.h"

#include <algorithm>
#include <set>

#include "domain/currency.h"
#include "domain/money.h"

namespace finsync::delivery {

namespace {

using store::Connection;
using store::Row;

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The YNAB fields of one outgoing copy; an error message when it cannot be sent exactly.
struct Prepared {
  ynab::SaveTransaction save;
  std::string problem;
};

Prepared Prepare(const OutboundItem& item, const YnabTarget& target, const std::string& today) {
  Prepared prepared;
  const rules::OutgoingTransaction& copy = item.copy;
  auto currency = domain::Currency::FromCode(copy.currency);
  if (!currency) {
    prepared.problem = "the currency " + copy.currency + " is unknown";
    return prepared;
  }
  auto milliunits = domain::MinorToMilliunits(copy.amount_minor, currency->exponent());
  if (!milliunits.ok()) {
    prepared.problem = "the amount cannot be expressed exactly in YNAB milliunits";
    return prepared;
  }
  ynab::SaveTransaction& save = prepared.save;
  save.import_id = item.import_id;
  save.account_id = target.account_id;
  std::string date = copy.date ? domain::FormatDate(*copy.date) : today;
  save.date = std::min(date, today);  // YNAB refuses dates in the future.
  save.amount = milliunits.amount;
  if (!copy.payee.empty()) {
    save.payee_name = ynab::TruncateCodePoints(copy.payee, ynab::kPayeeNameMaxLength);
  }
  if (!copy.description.empty()) {
    save.memo = ynab::TruncateCodePoints(copy.description, ynab::kMemoMaxLength);
  }
  save.cleared = copy.cleared.empty() ? "uncleared" : copy.cleared;
  if (copy.approved) save.approved = *copy.approved;
  if (!copy.flag_color.empty()) save.flag_color = copy.flag_color;
  if (!copy.category_id.empty()) {
    save.category_id = copy.category_id;
  } else if (!copy.category_name.empty()) {
    auto found = target.category_ids_by_name.find(Lower(copy.category_name));
    if (found == target.category_ids_by_name.end()) {
      prepared.problem = "the budget has no category named \"" + copy.category_name + "\"";
      return prepared;
    }
    save.category_id = found->second;
  }
  std::vector<FieldError> errors;
  ynab::ValidateSaveTransaction(save, true, "transaction", errors);
  if (!errors.empty()) {
    prepared.problem = "YNAB would refuse " + errors[0].field + ": " + errors[0].message;
  }
  return prepared;
}

}  // namespace

Result<std::vector<ItemOutcome>> YnabDestination::Create(std::span<const OutboundItem> items) {
  const std::string today =
      domain::FormatDate(domain::Timestamp::FromUnixTimeMs(clock_.NowMilliseconds())->date());
  std::vector<ItemOutcome> outcomes(items.size());
  std::vector<ynab::SaveTransaction> batch;
  std::vector<size_t> sent;  // Index in `items` of each batch entry.
  std::string earliest_date = today;
  for (size_t index = 0; index < items.size(); ++index) {
    Prepared prepared = Prepare(items[index], target_, today);
    if (!prepared.problem.empty()) {
      outcomes[index] = ItemOutcome::Rejected(prepared.problem);
      continue;
    }
    earliest_date = std::min(earliest_date, *prepared.save.date);
    batch.push_back(std::move(prepared.save));
    sent.push_back(index);
  }
  if (batch.empty()) return outcomes;
  Status sent_all = CreateBatch(batch, sent, earliest_date, outcomes);
  if (!sent_all.ok()) return sent_all.error();
  return outcomes;
}

// One POST for `batch` (entries for items sent[k]). YNAB refuses a batch as a whole when one
// transaction is invalid (a 400 naming no transaction): the batch is then split in halves
// until the refused transaction fails alone, in YNAB's words, and the others go through (at
// most about 2 log2(n) extra requests per refused transaction).
Status YnabDestination::CreateBatch(const std::vector<ynab::SaveTransaction>& batch,
                                    const std::vector<size_t>& sent,
                                    const std::string& earliest_date,
                                    std::vector<ItemOutcome>& outcomes) {
  auto created = client_.CreateTransactions(target_.token, target_.budget_id, batch);
  if (!created.ok() && created.error().code == ErrorCode::kValidationFailed) {
    if (batch.size() == 1) {
      outcomes[sent[0]] = ItemOutcome::Rejected(created.error().detail);
      return Status::Ok();
    }
    const size_t half = batch.size() / 2;
    for (auto [from, to] : {std::pair<size_t, size_t>{0, half}, {half, batch.size()}}) {
      Status part = CreateBatch(
          std::vector<ynab::SaveTransaction>(batch.begin() + from, batch.begin() + to),
          std::vector<size_t>(sent.begin() + from, sent.begin() + to), earliest_date, outcomes);
      if (!part.ok()) return part;
    }
    return Status::Ok();
  }
  if (!created.ok()) return created.error();
  std::map<std::string, std::string> id_by_import;
  for (const ynab::Transaction& transaction : created.value().transactions) {
    if (transaction.import_id) id_by_import[*transaction.import_id] = transaction.id;
  }
  const std::set<std::string> duplicates(created.value().duplicate_import_ids.begin(),
                                         created.value().duplicate_import_ids.end());
  if (!duplicates.empty()) {
    // Already at YNAB (an earlier attempt got through): find their ids by import id. The
    // earlier attempt may have sent another date (a pending transaction dated before it
    // booked, a future date sent as that day's today): look a month further back.
    std::string since = earliest_date;
    auto parsed = domain::ParseDate(earliest_date);
    if (parsed.ok()) {
      if (auto back = parsed.date.AddDays(-kDuplicateSearchMarginDays)) {
        since = domain::FormatDate(*back);
      }
    }
    auto listed = client_.ListTransactions(target_.token, target_.budget_id, target_.account_id,
                                           since, std::nullopt);
    if (!listed.ok()) return listed.error();
    for (const ynab::Transaction& transaction : listed.value().items) {
      if (transaction.import_id && duplicates.count(*transaction.import_id) &&
          !transaction.deleted) {
        id_by_import[*transaction.import_id] = transaction.id;
      }
    }
  }
  for (size_t position = 0; position < sent.size(); ++position) {
    const std::string& import_id = *batch[position].import_id;
    auto found = id_by_import.find(import_id);
    outcomes[sent[position]] =
        found != id_by_import.end()
            ? ItemOutcome::Delivered(found->second)
            : ItemOutcome::Retry(duplicates.count(import_id)
                                     ? "YNAB reports import id " + import_id +
                                           " as existing but it was not found on the account"
                                     : "YNAB did not return the transaction with import id " +
                                           import_id);
  }
  return Status::Ok();
}

Result<std::vector<ItemOutcome>> YnabDestination::Update(std::span<const OutboundItem> items,
                                                         const UpdateFields& fields) {
  const std::string today =
      domain::FormatDate(domain::Timestamp::FromUnixTimeMs(clock_.NowMilliseconds())->date());
  std::vector<ItemOutcome> outcomes(items.size());
  std::vector<ynab::SaveTransaction> batch;
  std::vector<size_t> sent;
  for (size_t index = 0; index < items.size(); ++index) {
    Prepared prepared = Prepare(items[index], target_, today);
    if (!prepared.problem.empty()) {
      outcomes[index] = ItemOutcome::Rejected(prepared.problem);
      continue;
    }
    ynab::SaveTransaction update;
    update.id = items[index].destination_transaction_id;
    if (fields.status) update.cleared = prepared.save.cleared;
    if (fields.payee) update.payee_name = prepared.save.payee_name.value_or("");
    if (fields.description) update.memo = prepared.save.memo.value_or("");
    if (fields.amount) update.amount = prepared.save.amount;
    batch.push_back(std::move(update));
    sent.push_back(index);
  }
  if (batch.empty()) return outcomes;
  auto updated = client_.UpdateTransactions(target_.token, target_.budget_id, batch);
  if (!updated.ok()) return updated.error();
  std::set<std::string> returned;
  for (const ynab::Transaction& transaction : updated.value().transactions) {
    returned.insert(transaction.id);
  }
  for (size_t position = 0; position < sent.size(); ++position) {
    const std::string& id = *batch[position].id;
    outcomes[sent[position]] = returned.count(id)
                                   ? ItemOutcome::Delivered(id)
                                   : ItemOutcome::Retry("YNAB did not return transaction " + id);
  }
  return outcomes;
}

Status YnabDestination::Delete(std::string_view destination_transaction_id) {
  auto deleted = client_.DeleteTransaction(target_.token, target_.budget_id,
                                           std::string(destination_transaction_id));
  if (!deleted.ok()) return deleted.error();
  return Status::Ok();
}

DestinationOpener YnabOpener(store::Database& database, const SecretBox& secrets,
                             ynab::YnabClient& client, const Clock& clock) {
  return [&database, &secrets, &client, &clock](
             int64_t user_id, int64_t destination_id) -> Result<std::unique_ptr<Destination>> {
    YnabTarget target;
    std::string sealed;
    bool found = false;
    Status read = database.Read([&](Connection& connection) -> Status {
      auto rows = connection.Query(
          "SELECT a.ynab_id, a.name, b.ynab_id, b.id, c.token_ciphertext, c.enabled, b.enabled "
          "FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = a.budget_id JOIN "
          "ynab_connections c ON c.id = b.connection_id WHERE a.id = ? AND a.user_id = ? AND "
          "a.ignored = 0 AND b.ignored = 0",
          {destination_id, user_id});
      if (!rows.ok()) return rows.status();
      if (rows.value().empty()) return Status::Ok();
      const Row& row = rows.value()[0];
      if (row.Int(5) == 0 || row.Int(6) == 0) {
        return Error::Of(ErrorCode::kConflict,
                         "the YNAB connection or budget of this account is disabled");
      }
      found = true;
      target.account_id = row.Text(0);
      target.account_name = row.Text(1);
      target.budget_id = row.Text(2);
      sealed = row.Text(4);
      auto categories = connection.Query(
          "SELECT name, ynab_id FROM ynab_categories WHERE budget_id = ? AND user_id = ? AND "
          "deleted = 0 ORDER BY id",
          {row.Int(3), user_id});
      if (!categories.ok()) return categories.status();
      for (const Row& category : categories.value()) {
        target.category_ids_by_name.emplace(Lower(category.Text(0)), category.Text(1));
      }
      return Status::Ok();
    });
    if (!read.ok()) return read.error();
    if (!found) {
      return Error::Of(ErrorCode::kNotFound, "the YNAB account was deleted or is not mirrored");
    }
    auto token = secrets.Open("ynab_token", sealed);
    if (!token.ok()) {
      return Error::Of(ErrorCode::kConflict,
                       "the YNAB access token cannot be read with this server's key; reconnect "
                       "YNAB");
    }
    target.token = std::move(token.value());
    return std::unique_ptr<Destination>(
        std::make_unique<YnabDestination>(client, clock, std::move(target)));
  };
}

}  // namespace finsync::delivery
