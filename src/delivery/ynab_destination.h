// The YNAB destination: a transfer link with destination_type YNAB points at a mirrored YNAB
// budget account (ynab_budget_accounts.id). Each pass sends up to kBatchMax transactions in ONE
// POST /budgets/{id}/transactions (YNAB allows 200 requests per hour per token, so batching is
// what makes large deliveries possible), each with import_id "fs:<link>:<transaction>[:<n>]".
// A transaction YNAB already holds comes back in duplicate_import_ids and is looked up by its
// import id, so a resend after a crash or timeout never creates a second one.
//
// Copies are fitted to YNAB: amounts in milliunits (exact; an amount that cannot be exact is
// refused), payee_name cut to 200 and memo to 500 characters, category_name resolved to the
// budget's category id, a date after today (UTC) sent as today (YNAB refuses future dates).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/secret_box.h"
#include "delivery/destination.h"
#include "delivery/ynab/ynab_client.h"
#include "store/database.h"

namespace finsync::delivery {

// Everything a send needs about one mirrored YNAB account.
struct YnabTarget {
  std::string token;
  std::string budget_id;   // YNAB's budget UUID.
  std::string account_id;  // YNAB's account UUID.
  std::string account_name;
  std::map<std::string, std::string> category_ids_by_name;  // Lower-cased names.
};

class YnabDestination final : public Destination {
 public:
  static constexpr size_t kBatchMax = 500;
  // How far before a batch's earliest date duplicates are looked for.
  static constexpr int64_t kDuplicateSearchMarginDays = 31;

  YnabDestination(ynab::YnabClient& client, const Clock& clock, YnabTarget target)
      : client_(client), clock_(clock), target_(std::move(target)) {}

  size_t batch_max() const override { return kBatchMax; }
  Result<std::vector<ItemOutcome>> Create(std::span<const OutboundItem> items) override;
  Result<std::vector<ItemOutcome>> Update(std::span<const OutboundItem> items,
                                          const UpdateFields& fields) override;
  Status Delete(std::string_view destination_transaction_id) override;

 private:
  Status CreateBatch(const std::vector<ynab::SaveTransaction>& batch,
                     const std::vector<size_t>& sent, const std::string& earliest_date,
                     std::vector<ItemOutcome>& outcomes);

  ynab::YnabClient& client_;
  const Clock& clock_;
  YnabTarget target_;
};

// Opens the YNAB destination of a user's mirrored account: reads the account, its budget and
// the connection's sealed token (SecretBox purpose "ynab_token") from the store.
DestinationOpener YnabOpener(store::Database& database, const SecretBox& secrets,
                             ynab::YnabClient& client, const Clock& clock);

}  // namespace finsync::delivery
