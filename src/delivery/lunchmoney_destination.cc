#include "delivery/lunchmoney_destination.h"

#include <map>
#include <set>
#include <utility>

#include "domain/currency.h"
#include "domain/date.h"

namespace finsync::delivery {

namespace {

namespace lm = lunchmoney;

// The Lunch Money fields of one outgoing copy; a problem when it cannot be sent as it is.
struct Prepared {
  lm::NewTransaction transaction;
  std::string problem;
};

std::optional<int64_t> PositiveInteger(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value <= 0) return std::nullopt;
  return value;
}

Prepared Prepare(const OutboundItem& item, const lm::ResolvedAsset& target, domain::Date today) {
  Prepared prepared;
  const rules::OutgoingTransaction& copy = item.copy;
  lm::NewTransaction& transaction = prepared.transaction;
  if (!domain::Currency::FromCode(copy.currency)) {
    prepared.problem = "the currency " + copy.currency + " is unknown";
    return prepared;
  }
  transaction.asset_id = target.lunch_money_asset_id;
  transaction.date = copy.date.value_or(today);
  transaction.amount_minor = copy.amount_minor;
  transaction.currency = copy.currency;
  transaction.payee = lm::TruncateForLunchMoney(copy.payee, lm::kPayeeLengthMax);
  if (!copy.description.empty()) {
    transaction.notes = lm::TruncateForLunchMoney(copy.description, lm::kNotesLengthMax);
  }
  transaction.status = copy.cleared == "cleared" ? lm::TransactionStatus::kCleared
                                                 : lm::TransactionStatus::kUncleared;
  transaction.external_id = copy.external_id.empty() ? item.import_id : copy.external_id;
  if (lm::LunchMoneyLength(transaction.external_id) > lm::kExternalIdLengthMax) {
    prepared.problem = "the external_id \"" + transaction.external_id +
                       "\" is longer than Lunch Money's 75 characters";
    return prepared;
  }
  if (!copy.category_id.empty()) {
    transaction.category_id = PositiveInteger(copy.category_id);
    if (!transaction.category_id) {
      prepared.problem =
          "the category_id \"" + copy.category_id + "\" is not a Lunch Money category number";
      return prepared;
    }
  }
  transaction.tags = copy.tags;
  return prepared;
}

// The batch positions Lunch Money refused by number ("transactions.3"), with its messages.
std::map<size_t, std::string> RefusedPositions(const Error& error, size_t batch_size) {
  std::map<size_t, std::string> refused;
  constexpr std::string_view kPrefix = "transactions.";
  for (const auto& field : error.field_errors) {
    if (field.field.rfind(kPrefix, 0) != 0) continue;
    std::string_view rest = std::string_view(field.field).substr(kPrefix.size());
    std::string_view digits = rest.substr(0, rest.find('.'));
    if (digits.empty() || digits.size() > 9) continue;
    size_t position = 0;
    bool numeric = true;
    for (char c : digits) {
      numeric = numeric && c >= '0' && c <= '9';
      position = position * 10 + static_cast<size_t>(c - '0');
    }
    if (!numeric) continue;
    if (position >= batch_size) continue;
    std::string& message = refused[position];
    if (!message.empty()) message += "; ";
    message += "Lunch Money refused it: " + field.message;
  }
  return refused;
}

bool IsRefusal(ErrorCode code) {
  return code == ErrorCode::kValidationFailed || code == ErrorCode::kConflict;
}

}  // namespace

void LunchMoneyDestination::Record(const Status& outcome) {
  // Best effort: health is bookkeeping and must not turn a delivered batch into a failure.
  (void)connections_.RecordOutcome(user_id_, target_.connection_id, outcome);
}

Result<std::vector<ItemOutcome>> LunchMoneyDestination::Create(
    std::span<const OutboundItem> items) {
  const domain::Date today = domain::Timestamp::FromUnixTimeMs(clock_.NowMilliseconds())
                                 .value_or(domain::Timestamp())
                                 .date();
  std::vector<ItemOutcome> outcomes(items.size());
  std::vector<lm::NewTransaction> batch;
  std::vector<size_t> sent;  // Index in `items` of each batch entry.
  std::set<std::string> external_ids;
  for (size_t index = 0; index < items.size(); ++index) {
    Prepared prepared = Prepare(items[index], target_, today);
    if (prepared.problem.empty() && !external_ids.insert(prepared.transaction.external_id).second) {
      prepared.problem = "the external_id \"" + prepared.transaction.external_id +
                         "\" is used by another transaction of this batch";
    }
    if (!prepared.problem.empty()) {
      outcomes[index] = ItemOutcome::Rejected(prepared.problem);
      continue;
    }
    batch.push_back(std::move(prepared.transaction));
    sent.push_back(index);
  }
  lm::InsertOptions options;
  options.apply_rules = true;
  // Lunch Money checks a whole request before inserting any of it: when it refuses some
  // transactions by number, those are refused and the others are sent once more.
  for (int attempt = 0; attempt < 2 && !batch.empty(); ++attempt) {
    auto inserted = api_.InsertTransactions(target_.token, batch, options);
    if (inserted.ok()) {
      Record(Status::Ok());
      for (size_t position = 0; position < sent.size(); ++position) {
        const lm::InsertedTransaction& result = inserted.value()[position];
        outcomes[sent[position]] =
            result.id
                ? ItemOutcome::Delivered(std::to_string(*result.id))
                : ItemOutcome::Retry("Lunch Money already holds external_id \"" +
                                     result.external_id + "\" but it was not found near its date");
      }
      return outcomes;
    }
    const Error& error = inserted.error();
    if (!IsRefusal(error.code)) {
      Record(error);
      return error;
    }
    Record(Status::Ok());  // Lunch Money answered: the connection works.
    auto refused = RefusedPositions(error, batch.size());
    if (refused.empty() || refused.size() == batch.size() || attempt == 1) {
      for (size_t position = 0; position < sent.size(); ++position) {
        auto own = refused.find(position);
        outcomes[sent[position]] =
            ItemOutcome::Rejected(own != refused.end() ? own->second : error.detail);
      }
      return outcomes;
    }
    std::vector<lm::NewTransaction> remaining;
    std::vector<size_t> remaining_sent;
    for (size_t position = 0; position < batch.size(); ++position) {
      auto own = refused.find(position);
      if (own != refused.end()) {
        outcomes[sent[position]] = ItemOutcome::Rejected(own->second);
      } else {
        remaining.push_back(std::move(batch[position]));
        remaining_sent.push_back(sent[position]);
      }
    }
    batch = std::move(remaining);
    sent = std::move(remaining_sent);
  }
  return outcomes;
}

Result<std::vector<ItemOutcome>> LunchMoneyDestination::Update(std::span<const OutboundItem> items,
                                                               const UpdateFields& fields) {
  std::vector<ItemOutcome> outcomes(items.size());
  bool answered = false;  // Whether Lunch Money has changed anything in this call.
  for (size_t index = 0; index < items.size(); ++index) {
    const OutboundItem& item = items[index];
    const rules::OutgoingTransaction& copy = item.copy;
    auto id = PositiveInteger(item.destination_transaction_id);
    if (!id) {
      outcomes[index] = ItemOutcome::Rejected("\"" + item.destination_transaction_id +
                                              "\" is not a Lunch Money transaction id");
      continue;
    }
    lm::TransactionUpdate update;
    if (fields.status) {
      update.status = copy.cleared == "cleared" ? lm::TransactionStatus::kCleared
                                                : lm::TransactionStatus::kUncleared;
    }
    if (fields.payee) update.payee = lm::TruncateForLunchMoney(copy.payee, lm::kPayeeLengthMax);
    if (fields.description) {
      update.notes = lm::TruncateForLunchMoney(copy.description, lm::kNotesLengthMax);
    }
    if (fields.amount) {
      if (!domain::Currency::FromCode(copy.currency)) {
        outcomes[index] = ItemOutcome::Rejected("the currency " + copy.currency + " is unknown");
        continue;
      }
      update.amount_minor = copy.amount_minor;
      update.currency = copy.currency;
    }
    if (!update.status && !update.payee && !update.notes && !update.amount_minor) {
      outcomes[index] = ItemOutcome::Delivered(item.destination_transaction_id);
      continue;
    }
    Status updated = api_.UpdateTransaction(target_.token, *id, update);
    if (updated.ok()) {
      answered = true;
      outcomes[index] = ItemOutcome::Delivered(item.destination_transaction_id);
      continue;
    }
    const Error& error = updated.error();
    if (error.code == ErrorCode::kNotFound) {
      answered = true;
      outcomes[index] = ItemOutcome::Rejected("Lunch Money no longer has transaction " +
                                              item.destination_transaction_id +
                                              " (deleted in Lunch Money?): " + error.detail);
      continue;
    }
    if (IsRefusal(error.code)) {
      answered = true;
      outcomes[index] = ItemOutcome::Rejected(error.detail);
      continue;
    }
    Record(error);
    if (!answered) return error;
    // Some updates went through: the rest wait for the next pass.
    for (size_t rest = index; rest < items.size(); ++rest) {
      outcomes[rest] = ItemOutcome::Retry(error.detail);
    }
    return outcomes;
  }
  if (answered) Record(Status::Ok());
  return outcomes;
}

Status LunchMoneyDestination::Delete(std::string_view destination_transaction_id) {
  auto id = PositiveInteger(destination_transaction_id);
  if (!id) {
    return Error::Of(ErrorCode::kValidationFailed, "\"" + std::string(destination_transaction_id) +
                                                       "\" is not a Lunch Money transaction id");
  }
  auto removed = api_.RemoveTransaction(target_.token, *id, kLunchMoneyUndoNote);
  if (!removed.ok() && removed.error().code == ErrorCode::kNotFound) {
    Record(Status::Ok());
    return Status::Ok();  // Already gone (deleted in Lunch Money).
  }
  if (!removed.ok()) {
    if (!IsRefusal(removed.error().code)) Record(removed.error());
    return removed.error();
  }
  Record(Status::Ok());
  return Status::Ok();
}

DestinationOpener LunchMoneyOpener(lunchmoney::ConnectionService& connections,
                                   lunchmoney::LunchMoneyApi& api, const Clock& clock) {
  return [&connections, &api, &clock](
             int64_t user_id, int64_t destination_id) -> Result<std::unique_ptr<Destination>> {
    auto target = connections.ResolveAsset(user_id, destination_id);
    if (!target.ok()) {
      if (target.error().code == ErrorCode::kInternal) {
        return Error::Of(ErrorCode::kConflict,
                         "the Lunch Money access token cannot be read with this server's key; "
                         "reconnect Lunch Money");
      }
      if (target.error().code == ErrorCode::kNotFound) {
        return Error::Of(ErrorCode::kNotFound, "the Lunch Money asset was deleted");
      }
      return target.error();
    }
    return std::unique_ptr<Destination>(std::make_unique<LunchMoneyDestination>(
        api, connections, clock, user_id, std::move(target.value())));
  };
}

}  // namespace finsync::delivery
