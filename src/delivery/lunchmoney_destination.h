// The Lunch Money destination: a transfer link with destination_type LUNCH_MONEY points at a
// Lunch Money asset (lunch_money_assets.id). Each pass sends up to 500 transactions in ONE
// POST /v1/transactions (debit_as_negative=true, apply_rules=true so the user's own Lunch Money
// rules categorise them), each with external_id = the link's import id ("fs:<link>:<tx>[:<n>]")
// unless a LUNCH_MONEY rule set one. Lunch Money skips an external_id the asset already holds;
// the client finds that transaction by external_id, so a resend after a crash or a timeout
// never creates a second one.
//
// Copies are fitted to Lunch Money: payee cut to 140 characters, notes (the description) to
// 350; an external_id over 75 characters, an unknown currency or a category that is not a
// number is refused for that transaction only. A transaction Lunch Money refuses by number
// ("Transaction 3 ...") is refused alone and the rest are sent again at once.
//
// Updates (a pending transaction that booked) are one PUT per transaction: v1 has no bulk
// update. Undo cannot delete (v1 has no DELETE for a transaction): it neutralises the
// transaction (amount 0, uncleared, "Undone in finsync" in front of its notes), see
// LunchMoneyApi::RemoveTransaction. Every call's outcome feeds the connection's health.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "delivery/destination.h"
#include "delivery/lunchmoney/lunchmoney_client.h"
#include "delivery/lunchmoney/lunchmoney_connections.h"

namespace finsync::delivery {

inline constexpr std::string_view kLunchMoneyUndoNote = "Undone in finsync";

class LunchMoneyDestination final : public Destination {
 public:
  LunchMoneyDestination(lunchmoney::LunchMoneyApi& api, lunchmoney::ConnectionService& connections,
                        const Clock& clock, int64_t user_id, lunchmoney::ResolvedAsset target)
      : api_(api),
        connections_(connections),
        clock_(clock),
        user_id_(user_id),
        target_(std::move(target)) {}

  size_t batch_max() const override { return lunchmoney::kInsertBatchMax; }
  Result<std::vector<ItemOutcome>> Create(std::span<const OutboundItem> items) override;
  Result<std::vector<ItemOutcome>> Update(std::span<const OutboundItem> items,
                                          const UpdateFields& fields) override;
  Status Delete(std::string_view destination_transaction_id) override;

 private:
  void Record(const Status& outcome);

  lunchmoney::LunchMoneyApi& api_;
  lunchmoney::ConnectionService& connections_;
  const Clock& clock_;
  int64_t user_id_;
  lunchmoney::ResolvedAsset target_;
};

// Opens the Lunch Money destination of a user's asset (token, asset id and currency from the
// connections service). kNotFound when the asset is gone; kConflict when the stored token
// cannot be read with this server's key.
DestinationOpener LunchMoneyOpener(lunchmoney::ConnectionService& connections,
                                   lunchmoney::LunchMoneyApi& api, const Clock& clock);

}  // namespace finsync::delivery
