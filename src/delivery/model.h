// Delivery's entities as plain values: transfer links (one bank account to one destination),
// the link's record per bank transaction (transfer items), and the transfer log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "delivery/destination.h"
#include "domain/date.h"

namespace finsync::delivery {

// What happens at the destination when a pending transaction books.
struct OnBookedChange {
  bool update_status = true;
  bool update_payee = false;
  bool update_description = false;
  bool update_amount = true;
};

struct TransferLink {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t bank_account_id = 0;
  DestinationType destination_type = DestinationType::kYnab;
  int64_t destination_id = 0;
  domain::Date transfer_start_date;
  bool active = true;
  OnBookedChange on_booked_change;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct NewTransferLink {
  int64_t bank_account_id = 0;
  DestinationType destination_type = DestinationType::kYnab;
  int64_t destination_id = 0;
  std::optional<domain::Date> transfer_start_date;  // Default: today (UTC).
  bool active = true;
  OnBookedChange on_booked_change;
};

struct TransferLinkPatch {
  std::optional<domain::Date> transfer_start_date;
  std::optional<bool> active;
  std::optional<bool> update_status;
  std::optional<bool> update_payee;
  std::optional<bool> update_description;
  std::optional<bool> update_amount;
};

// A transfer log's status. SCHEDULED: waiting to be sent; TRANSFERRED: created at the
// destination; UPDATED: a booked change was sent; FAILED: the destination refused or could not
// be reached (retried automatically with backoff, then by "retry"); SKIPPED: a SKIP_TRANSFER
// rule fired; UNDONE: an undo entry (it deleted the transaction at the destination).
enum class TransferStatus : uint8_t {
  kScheduled,
  kTransferred,
  kUpdated,
  kFailed,
  kSkipped,
  kUndone
};
std::string_view TransferStatusName(TransferStatus status);
std::optional<TransferStatus> ParseTransferStatus(std::string_view name);

struct TransferLog {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t transfer_link_id = 0;
  int64_t bank_transaction_id = 0;
  int64_t bank_account_id = 0;
  DestinationType destination_type = DestinationType::kYnab;
  TransferStatus status = TransferStatus::kScheduled;
  std::optional<std::string> destination_transaction_id;
  std::optional<std::string> import_id;
  std::string message;
  int64_t amount_minor = 0;
  std::string currency;
  std::optional<std::string> transaction_date;
  int64_t attempts = 0;
  std::optional<int64_t> first_attempt_at_ms;
  std::optional<int64_t> last_attempt_at_ms;
  std::optional<int64_t> undone_at_ms;
  std::optional<int64_t> undo_of_transfer_log_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct TransferLogFilter {
  std::optional<int64_t> transfer_link_id;
  std::optional<int64_t> bank_transaction_id;
  std::optional<int64_t> bank_account_id;
  std::optional<TransferStatus> status;
  std::optional<int64_t> before_id;  // Keyset cursor: logs with a smaller id (newest first).
  int64_t limit = 50;
};

// The destination a link points at, as shown with the link.
struct DestinationSummary {
  int64_t id = 0;
  DestinationType type = DestinationType::kYnab;
  std::string name;
  std::string detail;  // YNAB: the budget's name; Lunch Money: the currency; webhook: the URL.
};

// Transfer statistics over a date range (of the log's creation day, UTC).
struct TransferStatisticsRequest {
  domain::Date from;
  domain::Date to;  // Inclusive.
  std::optional<int64_t> transfer_link_id;
  bool by_month = false;
};

}  // namespace finsync::delivery
