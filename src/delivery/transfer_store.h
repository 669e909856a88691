// The SQL of delivery: transfer links, transfer items (a link's record per bank transaction)
// and transfer logs. Every function takes the caller's Connection (inside a Read or a Write)
// and filters by user_id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "delivery/model.h"
#include "store/database.h"

namespace finsync::delivery::transfer_store {

using store::Connection;

// The stable id a destination deduplicates by: "fs:<link>:<transaction>" and, after each undo,
// ":<generation>". At most 36 bytes (YNAB's import_id limit; Lunch Money allows 75).
std::string ImportId(int64_t link_id, int64_t bank_transaction_id, int64_t generation);

Result<std::optional<TransferLink>> LoadLink(Connection& connection, int64_t user_id,
                                             int64_t link_id);
Result<std::vector<TransferLink>> ListLinks(Connection& connection, int64_t user_id,
                                            std::optional<int64_t> bank_account_id,
                                            std::optional<DestinationType> destination_type,
                                            int64_t page_number, int64_t page_size, int64_t& total);
Result<std::vector<int64_t>> ActiveLinkIdsOfAccount(Connection& connection, int64_t user_id,
                                                    int64_t bank_account_id);
Result<std::vector<int64_t>> ActiveLinkIds(Connection& connection, int64_t user_id);
Result<std::vector<int64_t>> AttachedRuleIds(Connection& connection, int64_t user_id,
                                             int64_t link_id);

// The live destination, or nullopt when it does not exist for this user.
Result<std::optional<DestinationSummary>> LoadDestination(Connection& connection, int64_t user_id,
                                                          DestinationType type,
                                                          int64_t destination_id);
// Whether the bank account exists for this user, and its currency.
Result<std::optional<std::string>> BankAccountCurrency(Connection& connection, int64_t user_id,
                                                       int64_t bank_account_id);

// The state of one transfer item, as the engine and undo need it.
struct Item {
  int64_t id = 0;
  int64_t bank_transaction_id = 0;
  int64_t generation = 0;
  std::string import_id;
  std::optional<std::string> destination_transaction_id;
  std::string state;                       // SCHEDULED, TRANSFERRED, SKIPPED, FAILED, UNDONE
  std::optional<std::string> sent_status;  // BOOKED or PENDING, once transferred.
  int64_t attempts = 0;
  std::optional<int64_t> last_log_id;
};

Result<std::optional<Item>> LoadItem(Connection& connection, int64_t user_id, int64_t link_id,
                                     int64_t bank_transaction_id);

Result<std::vector<TransferLog>> ListLogs(Connection& connection, int64_t user_id,
                                          const TransferLogFilter& filter);
Result<std::optional<TransferLog>> LoadLog(Connection& connection, int64_t user_id, int64_t log_id);
Result<int64_t> InsertLog(Connection& connection, const TransferLog& log);

}  // namespace finsync::delivery::transfer_store
