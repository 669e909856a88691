#include "delivery/lunch_money_destination.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace finsync::delivery {

namespace {

namespace lm = lunchmoney;

class LunchMoneySender final : public Destination {
 public:
  LunchMoneySender(lm::ConnectionService& connections, lm::LunchMoneyApi& api, const Clock& clock,
                   int64_t user_id, lm::ResolvedAsset asset)
      : connections_(connections),
        api_(api),
        clock_(clock),
        user_id_(user_id),
        asset_(std::move(asset)) {}

  size_t batch_max() const override { return lm::kInsertBatchMax; }

  Result<std::vector<ItemOutcome>> Create(std::span<const OutboundItem> items) override {
    std::vector<ItemOutcome> outcomes(items.size());
    std::vector<lm::NewTransaction> batch;
    std::vector<size_t> sent;
    for (size_t index = 0; index < items.size(); ++index) {
      const rules::OutgoingTransaction& copy = items[index].copy;
      if (copy.currency != asset_.currency && !asset_.currency.empty()) {
        outcomes[index] = ItemOutcome::Rejected("the Lunch Money asset keeps " + asset_.currency +
                                                ", the transaction is in " + copy.currency);
        continue;
      }
      lm::NewTransaction transaction;
      transaction.asset_id = asset_.lunch_money_asset_id;
      transaction.date = copy.date.value_or(Today());
      transaction.amount_minor = copy.amount_minor;
      transaction.currency = copy.currency;
      transaction.payee = lm::TruncateForLunchMoney(copy.payee, lm::kPayeeLengthMax);
      if (!copy.description.empty()) {
        transaction.notes = lm::TruncateForLunchMoney(copy.description, lm::kNotesLengthMax);
      }
      transaction.status = copy.cleared == "cleared" ? lm::TransactionStatus::kCleared
                                                     : lm::TransactionStatus::kUncleared;
      // The import id is the delivery key and always ends the external_id: a rule's own value
      // (cut to fit in 75) only leads it, so two transactions never share one, and a transfer
      // sent again after an undo gets a new one.
      const std::string& import_id = items[index].import_id;
      transaction.external_id =
          copy.external_id.empty()
              ? import_id
              : lm::TruncateForLunchMoney(copy.external_id,
                                          lm::kExternalIdLengthMax - import_id.size() - 1) +
                    ":" + import_id;
      if (!copy.category_id.empty()) {
        int64_t category = 0;
        auto [end, error] = std::from_chars(
            copy.category_id.data(), copy.category_id.data() + copy.category_id.size(), category);
        if (error == std::errc() && end == copy.category_id.data() + copy.category_id.size()) {
          transaction.category_id = category;
        }
      }
      transaction.tags = copy.tags;
      batch.push_back(std::move(transaction));
      sent.push_back(index);
    }
    if (batch.empty()) return outcomes;
    lm::InsertOptions options;
    auto inserted = api_.InsertTransactions(asset_.token, batch, options);
    Record(inserted.status());
    if (!inserted.ok() && inserted.error().code == ErrorCode::kValidationFailed) {
      // Lunch Money refuses a batch as a whole, naming the transactions it objects to: those
      // fail, and the others are sent again at once without them.
      std::vector<bool> refused(batch.size(), false);
      for (const FieldError& field : inserted.error().field_errors) {
        size_t position = 0;
        if (std::sscanf(field.field.c_str(), "transactions.%zu", &position) == 1 &&
            position < batch.size() && !refused[position]) {
          refused[position] = true;
          outcomes[sent[position]] = ItemOutcome::Rejected(field.message);
        }
      }
      std::vector<lm::NewTransaction> rest;
      std::vector<size_t> rest_sent;
      for (size_t position = 0; position < batch.size(); ++position) {
        if (refused[position]) continue;
        rest.push_back(std::move(batch[position]));
        rest_sent.push_back(sent[position]);
      }
      if (rest.size() == batch.size()) {
        // Nothing named: the whole batch is refused, in Lunch Money's words.
        for (size_t index : sent) outcomes[index] = ItemOutcome::Rejected(inserted.error().detail);
        return outcomes;
      }
      batch = std::move(rest);
      sent = std::move(rest_sent);
      if (batch.empty()) return outcomes;
      inserted = api_.InsertTransactions(asset_.token, batch, options);
      Record(inserted.status());
      if (!inserted.ok() && inserted.error().code == ErrorCode::kValidationFailed) {
        for (size_t index : sent) outcomes[index] = ItemOutcome::Retry(inserted.error().detail);
        return outcomes;
      }
    }
    if (!inserted.ok()) return inserted.error();
    for (size_t position = 0; position < sent.size(); ++position) {
      const lm::InsertedTransaction* found =
          position < inserted.value().size() ? &inserted.value()[position] : nullptr;
      if (found == nullptr || !found->id) {
        outcomes[sent[position]] =
            ItemOutcome::Retry("Lunch Money holds external_id " + batch[position].external_id +
                               " but its transaction was not found near its date");
        continue;
      }
      outcomes[sent[position]] = ItemOutcome::Delivered(std::to_string(*found->id));
    }
    return outcomes;
  }

  Result<std::vector<ItemOutcome>> Update(std::span<const OutboundItem> items,
                                          const UpdateFields& fields) override {
    std::vector<ItemOutcome> outcomes;
    outcomes.reserve(items.size());
    for (const OutboundItem& item : items) {
      int64_t id = 0;
      auto [end, error] = std::from_chars(
          item.destination_transaction_id.data(),
          item.destination_transaction_id.data() + item.destination_transaction_id.size(), id);
      if (error != std::errc()) {
        outcomes.push_back(ItemOutcome::Rejected("the Lunch Money transaction id is malformed"));
        continue;
      }
      lm::TransactionUpdate update;
      const rules::OutgoingTransaction& copy = item.copy;
      if (fields.status) {
        update.status = copy.cleared == "cleared" ? lm::TransactionStatus::kCleared
                                                  : lm::TransactionStatus::kUncleared;
      }
      if (fields.payee) update.payee = lm::TruncateForLunchMoney(copy.payee, lm::kPayeeLengthMax);
      if (fields.description) {
        update.notes = lm::TruncateForLunchMoney(copy.description, lm::kNotesLengthMax);
      }
      if (fields.amount) {
        update.amount_minor = copy.amount_minor;
        update.currency = copy.currency;
      }
      Status updated = api_.UpdateTransaction(asset_.token, id, update);
      Record(updated);
      if (updated.ok()) {
        outcomes.push_back(ItemOutcome::Delivered(item.destination_transaction_id));
      } else if (updated.error().code == ErrorCode::kTooManyRequests ||
                 updated.error().code == ErrorCode::kUnavailable) {
        if (outcomes.empty()) return updated.error();
        // Some went through: the rest wait for the retry.
        while (outcomes.size() < items.size()) {
          outcomes.push_back(ItemOutcome::Retry(updated.error().detail));
        }
        return outcomes;
      } else {
        outcomes.push_back(ItemOutcome::Rejected(updated.error().detail));
      }
    }
    return outcomes;
  }

  Status Delete(std::string_view destination_transaction_id) override {
    int64_t id = 0;
    auto [end, error] =
        std::from_chars(destination_transaction_id.data(),
                        destination_transaction_id.data() + destination_transaction_id.size(), id);
    if (error != std::errc()) {
      return Error::Of(ErrorCode::kConflict, "the Lunch Money transaction id is malformed");
    }
    auto removed = api_.RemoveTransaction(asset_.token, id, "Undone in finsync");
    Record(removed.status());
    return removed.status();
  }

 private:
  domain::Date Today() const {
    return domain::Timestamp::FromUnixTimeMs(clock_.NowMilliseconds())->date();
  }

  void Record(const Status& outcome) {
    (void)connections_.RecordOutcome(user_id_, asset_.connection_id, outcome);
  }

  lm::ConnectionService& connections_;
  lm::LunchMoneyApi& api_;
  const Clock& clock_;
  int64_t user_id_;
  lm::ResolvedAsset asset_;
};

}  // namespace

DestinationOpener LunchMoneyOpener(lunchmoney::ConnectionService& connections,
                                   lunchmoney::LunchMoneyApi& api, const Clock& clock) {
  return [&connections, &api, &clock](
             int64_t user_id, int64_t destination_id) -> Result<std::unique_ptr<Destination>> {
    auto asset = connections.ResolveAsset(user_id, destination_id);
    if (!asset.ok()) return asset.error();
    if (asset.value().closed) {
      return Error::Of(ErrorCode::kConflict, "the Lunch Money asset is closed");
    }
    return std::unique_ptr<Destination>(std::make_unique<LunchMoneySender>(
        connections, api, clock, user_id, std::move(asset.value())));
  };
}

}  // namespace finsync::delivery
