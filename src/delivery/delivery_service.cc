#include "delivery/delivery_service.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "common/json.h"
#include "delivery/transfer_store.h"
#include "ingest/ingest.h"
#include "rules/rule_store.h"

namespace finsync::delivery {

namespace {

using store::Connection;
using store::Row;
using store::Value;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kDiscoverBatch = 2000;
constexpr int64_t kNever = 253'402'300'799'999;  // 9999-12-31: an update not retried by itself.
constexpr int32_t kJobMaxAttempts = 1000;

std::string LinkDedupeKey(int64_t link_id) {
  return "deliver:transfer_link:" + std::to_string(link_id);
}

// 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, then 12 h, each +-10% so many failed items of
// many users do not come back in one burst.
int64_t BackoffMs(int64_t attempts) {
  static constexpr int64_t kSteps[] = {30'000,    120'000,    600'000,    1'800'000,
                                       3'600'000, 10'800'000, 21'600'000, 43'200'000};
  const int64_t index = std::clamp<int64_t>(attempts - 1, 0, std::size(kSteps) - 1);
  const int64_t base = kSteps[index];
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(-base / 10, base / 10);
  return base + jitter(random);
}

rules::TargetKind TargetKindOf(DestinationType type) {
  switch (type) {
    case DestinationType::kYnab:
      return rules::TargetKind::kYnab;
    case DestinationType::kLunchMoney:
      return rules::TargetKind::kLunchMoney;
    case DestinationType::kWebhook:
      return rules::TargetKind::kWebhook;
  }
  return rules::TargetKind::kWebhook;
}

Error Invalid(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

Error LinkNotFound() { return Error::Of(ErrorCode::kNotFound, "The transfer link was not found."); }

std::string Placeholders(size_t count) {
  std::string text;
  for (size_t index = 0; index < count; ++index) text += index == 0 ? "?" : ", ?";
  return text;
}

// A transfer item the engine works on, with its transaction once loaded.
struct WorkItem {
  int64_t item_id = 0;
  int64_t bank_transaction_id = 0;
  std::string import_id;
  std::string destination_transaction_id;
  int64_t attempts = 0;
  std::optional<int64_t> last_log_id;
};

// The columns every item query selects, in the order ItemsFrom reads them.
constexpr std::string_view kItemColumns =
    "i.id, i.bank_transaction_id, i.import_id, i.destination_transaction_id, i.attempts, "
    "i.last_log_id";

Result<std::vector<WorkItem>> QueryItems(Connection& connection, std::string_view where,
                                         std::initializer_list<Value> params) {
  auto rows = connection.Query(
      "SELECT " + std::string(kItemColumns) + " FROM transfer_items i " + std::string(where),
      params);
  if (!rows.ok()) return rows.error();
  std::vector<WorkItem> items;
  items.reserve(rows.value().size());
  for (const Row& row : rows.value()) {
    items.push_back(
        WorkItem{row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Int(4), row.OptionalInt(5)});
  }
  return items;
}

// Items to send, oldest first: SCHEDULED ones and FAILED ones whose automatic retry is due.
// Two queries, each an ordered range of transfer_items_by_state (one OR over both states made
// SQLite read and sort every item of the link on every pass: 20 ms at 100,000 items).
Result<std::vector<WorkItem>> SelectCreates(Connection& connection, int64_t user_id,
                                            int64_t link_id, int64_t now_ms, int64_t limit) {
  auto items = QueryItems(connection,
                          "WHERE i.transfer_link_id = ? AND i.state = 'SCHEDULED' AND i.user_id = "
                          "? ORDER BY i.id LIMIT ?",
                          {link_id, user_id, limit});
  if (!items.ok()) return items.error();
  auto failed = QueryItems(connection,
                           "WHERE i.transfer_link_id = ? AND i.state = 'FAILED' AND i.user_id = ? "
                           "AND i.next_attempt_at IS NOT NULL AND i.next_attempt_at <= ? ORDER BY "
                           "i.id LIMIT ?",
                           {link_id, user_id, now_ms, limit});
  if (!failed.ok()) return failed.error();
  std::vector<WorkItem>& all = items.value();
  all.insert(all.end(), failed.value().begin(), failed.value().end());
  std::sort(all.begin(), all.end(),
            [](const WorkItem& a, const WorkItem& b) { return a.item_id < b.item_id; });
  if (static_cast<int64_t>(all.size()) > limit) all.resize(static_cast<size_t>(limit));
  return items;
}

// Sent transfers of pending transactions that have booked since: due for an update.
Result<std::vector<WorkItem>> SelectUpdates(Connection& connection, int64_t user_id,
                                            int64_t link_id, int64_t now_ms, int64_t limit) {
  return QueryItems(connection,
                    "JOIN bank_transactions t ON t.id = i.bank_transaction_id WHERE "
                    "i.transfer_link_id = ? AND i.user_id = ? AND i.state = 'TRANSFERRED' AND "
                    "i.sent_status = 'PENDING' AND t.status = 'BOOKED' AND (i.next_attempt_at IS "
                    "NULL OR i.next_attempt_at <= ?) ORDER BY i.id LIMIT ?",
                    {link_id, user_id, now_ms, limit});
}

// Transfers of pending transactions the bank has since withdrawn (ingest deleted them when
// the bank's complete pending list no longer had them): their copies must leave the
// destination, or the money would count there twice once the real booking arrives. Looked at
// only when a pass has nothing else to do.
Result<std::vector<WorkItem>> SelectWithdrawn(Connection& connection, int64_t user_id,
                                              int64_t link_id, int64_t now_ms, int64_t limit) {
  return QueryItems(connection,
                    "WHERE i.transfer_link_id = ? AND i.state = 'TRANSFERRED' AND i.user_id = ? "
                    "AND i.sent_status = 'PENDING' AND (i.next_attempt_at IS NULL OR "
                    "i.next_attempt_at <= ?) AND NOT EXISTS (SELECT 1 FROM bank_transactions t "
                    "WHERE t.id = i.bank_transaction_id) ORDER BY i.id LIMIT ?",
                    {link_id, user_id, now_ms, limit});
}

// The earliest automatic retry of a failed send or update, if any.
Result<std::optional<int64_t>> NextRetryAt(Connection& connection, int64_t user_id,
                                           int64_t link_id) {
  auto rows = connection.Query(
      "SELECT MIN(next_attempt_at) FROM transfer_items WHERE transfer_link_id = ? AND user_id "
      "= ? AND next_attempt_at IS NOT NULL AND next_attempt_at < ?",
      {link_id, user_id, kNever});
  if (!rows.ok()) return rows.error();
  return rows.value()[0].OptionalInt(0);
}

Result<std::map<int64_t, domain::BankTransaction>> LoadTransactions(
    Connection& connection, int64_t user_id, const std::vector<WorkItem>& items) {
  std::map<int64_t, domain::BankTransaction> found;
  if (items.empty()) return found;
  std::vector<Value> params{user_id};
  for (const WorkItem& item : items) params.emplace_back(item.bank_transaction_id);
  auto rows = connection.Query("SELECT " + std::string(ingest::kTransactionColumns) +
                                   " FROM bank_transactions WHERE user_id = ? AND id IN (" +
                                   Placeholders(items.size()) + ")",
                               params);
  if (!rows.ok()) return rows.error();
  for (const Row& row : rows.value()) {
    domain::BankTransaction transaction = ingest::TransactionFromRow(row);
    found.emplace(transaction.id, std::move(transaction));
  }
  return found;
}

// Records the first or a later attempt on a log entry.
Status TouchLog(Connection& connection, int64_t log_id, std::string_view status,
                const std::optional<std::string>& destination_id, std::string_view message,
                int64_t now_ms) {
  return connection
      .Execute(
          "UPDATE transfer_logs SET status = ?, destination_transaction_id = "
          "COALESCE(?, destination_transaction_id), message = ?, attempts = attempts + 1, "
          "first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?, updated_at = ? "
          "WHERE id = ?",
          {std::string(status), store::OptionalText(destination_id), std::string(message), now_ms,
           now_ms, now_ms, log_id})
      .status();
}

void WriteEventTransfer(json::Writer& writer, int64_t log_id, int64_t bank_transaction_id,
                        const std::string& destination_id, std::string_view status,
                        const std::string& message) {
  writer.StartObject();
  writer.Field("transfer_log_id", log_id);
  writer.Field("bank_transaction_id", bank_transaction_id);
  writer.Field("status", status);
  if (destination_id.empty()) {
    writer.Key("destination_transaction_id").Null();
  } else {
    writer.Field("destination_transaction_id", destination_id);
  }
  if (!message.empty()) writer.Field("message", message);
  writer.EndObject();
}

}  // namespace

Error DestinationErrorForCaller(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInsufficientScope:
    case ErrorCode::kValidationFailed:
    case ErrorCode::kBadRequest:
      return Error::Of(ErrorCode::kConflict, error.detail);
    case ErrorCode::kTooManyRequests:
    case ErrorCode::kUnavailable:
    case ErrorCode::kConflict:
    case ErrorCode::kNotFound:
      return error;
    default:
      return Error::Of(ErrorCode::kUnavailable, error.detail);
  }
}

DeliveryService::DeliveryService(store::Database& database, const Clock& clock,
                                 rules::RuleService& rules, jobs::JobQueue& queue,
                                 DestinationOpeners openers)
    : database_(database),
      clock_(clock),
      rules_(rules),
      queue_(queue),
      openers_(std::move(openers)) {}

void DeliveryService::RegisterHandlers(jobs::Workers& workers) {
  workers.Register(std::string(kJobKind), [this](const jobs::Job& job) {
    rapidjson::Document payload;
    payload.Parse(job.payload.c_str());
    if (!payload.IsObject() || !payload.HasMember("transfer_link_id") ||
        !payload["transfer_link_id"].IsInt64()) {
      return jobs::JobOutcome::Failed("payload has no transfer_link_id");
    }
    return RunLink(job.user_id, payload["transfer_link_id"].GetInt64());
  });
}

bool DeliveryService::TakeWakeRequest(int64_t link_id) {
  std::lock_guard lock(wake_mutex_);
  return wake_requests_.erase(link_id) > 0;
}

Status DeliveryService::ScheduleLink(int64_t user_id, int64_t link_id) {
  {
    std::lock_guard lock(wake_mutex_);
    wake_requests_.insert(link_id);
  }
  jobs::NewJob job;
  job.kind = std::string(kJobKind);
  job.user_id = user_id;
  job.payload = "{\"transfer_link_id\":" + std::to_string(link_id) + "}";
  job.dedupe_key = LinkDedupeKey(link_id);
  job.run_at_ms = clock_.NowMilliseconds();
  job.max_attempts = kJobMaxAttempts;
  return queue_.EnqueueOrAdvance(job).status();
}

Status DeliveryService::ScheduleAccount(int64_t user_id, int64_t bank_account_id) {
  Result<std::vector<int64_t>> links = std::vector<int64_t>();
  Status read = database_.Read([&](Connection& connection) {
    links = transfer_store::ActiveLinkIdsOfAccount(connection, user_id, bank_account_id);
    return links.status();
  });
  if (!read.ok()) return read;
  for (int64_t link_id : links.value()) {
    Status scheduled = ScheduleLink(user_id, link_id);
    if (!scheduled.ok()) return scheduled;
  }
  return Status::Ok();
}

Status DeliveryService::EnsureScheduled() {
  std::vector<std::pair<int64_t, int64_t>> links;
  Status read = database_.Read([&](Connection& connection) -> Status {
    auto rows =
        connection.Query("SELECT user_id, id FROM transfer_links WHERE active = 1 ORDER BY id", {});
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) links.emplace_back(row.Int(0), row.Int(1));
    return Status::Ok();
  });
  if (!read.ok()) return read;
  for (const auto& [user_id, link_id] : links) {
    jobs::NewJob job;
    job.kind = std::string(kJobKind);
    job.user_id = user_id;
    job.payload = "{\"transfer_link_id\":" + std::to_string(link_id) + "}";
    job.dedupe_key = LinkDedupeKey(link_id);
    job.max_attempts = kJobMaxAttempts;
    // Enqueue keeps a live job as it is: a restart neither duplicates nor hurries deliveries.
    auto enqueued = queue_.Enqueue(job);
    if (!enqueued.ok()) return enqueued.error();
  }
  return Status::Ok();
}

Result<std::unique_ptr<Destination>> DeliveryService::OpenDestination(int64_t user_id,
                                                                      DestinationType type,
                                                                      int64_t destination_id) {
  auto opener = openers_.find(type);
  if (opener == openers_.end()) {
    return Error::Of(ErrorCode::kUnavailable,
                     std::string(DestinationTypeName(type)) + " destinations are not configured");
  }
  return opener->second(user_id, destination_id);
}

// ---- Transfer links ----

Result<TransferLink> DeliveryService::CreateLink(int64_t user_id, const NewTransferLink& request) {
  const int64_t now_ms = clock_.NowMilliseconds();
  domain::Date today = domain::Timestamp::FromUnixTimeMs(now_ms)->date();
  TransferLink link;
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto currency =
        transfer_store::BankAccountCurrency(connection, user_id, request.bank_account_id);
    if (!currency.ok()) return currency.status();
    auto destination = transfer_store::LoadDestination(
        connection, user_id, request.destination_type, request.destination_id);
    if (!destination.ok()) return destination.status();
    Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
    if (!currency.value()) {
      invalid.field_errors.push_back(
          {"bank_account_id",
           "no bank account with id " + std::to_string(request.bank_account_id)});
    }
    if (!destination.value()) {
      invalid.field_errors.push_back(
          {"destination_id", "no " + std::string(DestinationTypeName(request.destination_type)) +
                                 " destination with id " + std::to_string(request.destination_id)});
    }
    if (!invalid.field_errors.empty()) return invalid;
    if (request.destination_type == DestinationType::kYnab) {
      auto budget_currency = connection.Query(
          "SELECT b.currency FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = "
          "a.budget_id WHERE a.id = ? AND a.user_id = ?",
          {request.destination_id, user_id});
      if (!budget_currency.ok()) return budget_currency.status();
      const std::string budget = budget_currency.value()[0].Text(0);
      if (!budget.empty() && budget != *currency.value()) {
        return Invalid("destination_id", "the YNAB budget keeps " + budget +
                                             " but the bank account is in " + *currency.value() +
                                             "; amounts cannot be sent without conversion");
      }
    }
    auto existing = connection.Query(
        "SELECT id FROM transfer_links WHERE user_id = ? AND bank_account_id = ? AND "
        "destination_type = ? AND destination_id = ?",
        {user_id, request.bank_account_id,
         std::string(DestinationTypeName(request.destination_type)), request.destination_id});
    if (!existing.ok()) return existing.status();
    if (!existing.value().empty()) {
      return Error::Of(ErrorCode::kConflict,
                       "transfer link " + std::to_string(existing.value()[0].Int(0)) +
                           " already sends this bank account to this destination");
    }
    link.user_id = user_id;
    link.bank_account_id = request.bank_account_id;
    link.destination_type = request.destination_type;
    link.destination_id = request.destination_id;
    link.transfer_start_date = request.transfer_start_date.value_or(today);
    link.active = request.active;
    link.on_booked_change = request.on_booked_change;
    link.created_at_ms = now_ms;
    link.updated_at_ms = now_ms;
    auto inserted = connection.Query(
        "INSERT INTO transfer_links (user_id, bank_account_id, destination_type, destination_id, "
        "transfer_start_date, active, update_status, update_payee, update_description, "
        "update_amount, change_cursor, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, 0, ?, ?) RETURNING id",
        {user_id, link.bank_account_id, std::string(DestinationTypeName(link.destination_type)),
         link.destination_id, domain::FormatDate(link.transfer_start_date), int64_t{link.active},
         int64_t{link.on_booked_change.update_status}, int64_t{link.on_booked_change.update_payee},
         int64_t{link.on_booked_change.update_description},
         int64_t{link.on_booked_change.update_amount}, now_ms, now_ms});
    if (!inserted.ok()) return inserted.status();
    link.id = inserted.value()[0].Int(0);
    // Creating a transfer link switches automatic sync on for its account (REFERENCE.md).
    return connection
        .Execute("UPDATE bank_accounts SET sync_auto = 1 WHERE id = ? AND user_id = ?",
                 {link.bank_account_id, user_id})
        .status();
  });
  if (!written.ok()) return written.error();
  if (link.active) {
    Status scheduled = ScheduleLink(user_id, link.id);
    if (!scheduled.ok()) spdlog::error("cannot schedule transfer link {}", link.id);
  }
  return link;
}

Result<TransferLink> DeliveryService::GetLink(int64_t user_id, int64_t link_id) {
  Result<std::optional<TransferLink>> link = std::optional<TransferLink>();
  Status read = database_.Read([&](Connection& connection) {
    link = transfer_store::LoadLink(connection, user_id, link_id);
    return link.status();
  });
  if (!read.ok()) return read.error();
  if (!link.value()) return LinkNotFound();
  return *link.value();
}

Result<std::vector<TransferLink>> DeliveryService::ListLinks(
    int64_t user_id, std::optional<int64_t> bank_account_id,
    std::optional<DestinationType> destination_type, int64_t page_number, int64_t page_size,
    int64_t& total) {
  Result<std::vector<TransferLink>> links = std::vector<TransferLink>();
  Status read = database_.Read([&](Connection& connection) {
    links = transfer_store::ListLinks(connection, user_id, bank_account_id, destination_type,
                                      page_number, page_size, total);
    return links.status();
  });
  if (!read.ok()) return read.error();
  return links;
}

Result<TransferLink> DeliveryService::UpdateLink(int64_t user_id, int64_t link_id,
                                                 const TransferLinkPatch& patch) {
  const int64_t now_ms = clock_.NowMilliseconds();
  TransferLink link;
  bool activated = false;
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto loaded = transfer_store::LoadLink(connection, user_id, link_id);
    if (!loaded.ok()) return loaded.status();
    if (!loaded.value()) return LinkNotFound();
    link = *loaded.value();
    const bool was_active = link.active;
    const bool start_changed =
        patch.transfer_start_date && *patch.transfer_start_date != link.transfer_start_date;
    if (patch.transfer_start_date) link.transfer_start_date = *patch.transfer_start_date;
    if (patch.active) link.active = *patch.active;
    if (patch.update_status) link.on_booked_change.update_status = *patch.update_status;
    if (patch.update_payee) link.on_booked_change.update_payee = *patch.update_payee;
    if (patch.update_description) {
      link.on_booked_change.update_description = *patch.update_description;
    }
    if (patch.update_amount) link.on_booked_change.update_amount = *patch.update_amount;
    link.updated_at_ms = now_ms;
    activated = link.active && (!was_active || start_changed);
    // A new start date is looked at from the first transaction again: transactions already
    // sent keep their items and are not sent twice.
    return connection
        .Execute(
            "UPDATE transfer_links SET transfer_start_date = ?, active = ?, update_status = ?, "
            "update_payee = ?, update_description = ?, update_amount = ?, change_cursor = "
            "CASE WHEN ? = 1 THEN 0 ELSE change_cursor END, updated_at = ? WHERE id = ? AND "
            "user_id = ?",
            {domain::FormatDate(link.transfer_start_date), int64_t{link.active},
             int64_t{link.on_booked_change.update_status},
             int64_t{link.on_booked_change.update_payee},
             int64_t{link.on_booked_change.update_description},
             int64_t{link.on_booked_change.update_amount}, int64_t{start_changed}, now_ms, link_id,
             user_id})
        .status();
  });
  if (!written.ok()) return written.error();
  if (activated) {
    Status scheduled = ScheduleLink(user_id, link_id);
    if (!scheduled.ok()) spdlog::error("cannot schedule transfer link {}", link_id);
  }
  return link;
}

Status DeliveryService::DeleteLink(int64_t user_id, int64_t link_id) {
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto deleted = connection.Execute("DELETE FROM transfer_links WHERE id = ? AND user_id = ?",
                                      {link_id, user_id});
    if (!deleted.ok()) return deleted.status();
    if (deleted.value() == 0) return LinkNotFound();
    auto detached = connection.Execute(
        "DELETE FROM rule_attachments WHERE user_id = ? AND target_kind = 'TRANSFER_LINK' AND "
        "target_id = ?",
        {user_id, link_id});
    return detached.status();
  });
  if (!written.ok()) return written;
  auto cancelled = queue_.CancelByDedupeKey(user_id, LinkDedupeKey(link_id));
  if (!cancelled.ok()) spdlog::warn("cannot cancel the delivery job of link {}", link_id);
  return Status::Ok();
}

Result<std::optional<DestinationSummary>> DeliveryService::LinkDestination(
    int64_t user_id, const TransferLink& link) {
  Result<std::optional<DestinationSummary>> summary = std::optional<DestinationSummary>();
  Status read = database_.Read([&](Connection& connection) {
    summary = transfer_store::LoadDestination(connection, user_id, link.destination_type,
                                              link.destination_id);
    return summary.status();
  });
  if (!read.ok()) return read.error();
  return summary;
}

Result<std::vector<int64_t>> DeliveryService::LinkRuleIds(int64_t user_id, int64_t link_id) {
  Result<std::vector<int64_t>> ids = std::vector<int64_t>();
  Status read = database_.Read([&](Connection& connection) {
    ids = transfer_store::AttachedRuleIds(connection, user_id, link_id);
    return ids.status();
  });
  if (!read.ok()) return read.error();
  return ids;
}

// ---- Retry ----

Result<int64_t> DeliveryService::Retry(int64_t user_id, int64_t link_id,
                                       const RetryRequest& request) {
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t rescheduled = 0;
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto link = transfer_store::LoadLink(connection, user_id, link_id);
    if (!link.ok()) return link.status();
    if (!link.value()) return LinkNotFound();
    std::string only;
    std::vector<Value> id_params;
    if (request.bank_transaction_ids) {
      if (request.bank_transaction_ids->empty()) return Status::Ok();
      only = " AND bank_transaction_id IN (" + Placeholders(request.bank_transaction_ids->size()) +
             ")";
      for (int64_t id : *request.bank_transaction_ids) id_params.emplace_back(id);
    }
    auto with_ids = [&](std::vector<Value> params) {
      params.insert(params.end(), id_params.begin(), id_params.end());
      return params;
    };
    // Failed sends and failed updates: due now, with a fresh set of automatic attempts.
    auto failed = connection.Execute(
        "UPDATE transfer_items SET attempts = 0, next_attempt_at = ?, updated_at = ? WHERE "
        "transfer_link_id = ? AND user_id = ? AND (state = 'FAILED' OR (state = 'TRANSFERRED' "
        "AND next_attempt_at IS NOT NULL))" +
            only,
        with_ids({now_ms, now_ms, link_id, user_id}));
    if (!failed.ok()) return failed.status();
    rescheduled += failed.value();
    if (!request.include_undone) return Status::Ok();
    // Undone transfers start over: a new SCHEDULED log under the item's new import id.
    auto undone = connection.Query(
        "SELECT i.id, i.bank_transaction_id, i.import_id, t.bank_account_id, t.amount_minor, "
        "t.currency, t.generated_date FROM transfer_items i JOIN bank_transactions t ON t.id = "
        "i.bank_transaction_id WHERE i.transfer_link_id = ? AND i.user_id = ? AND i.state = "
        "'UNDONE'" +
            std::string(request.bank_transaction_ids ? " AND i.bank_transaction_id IN (" +
                                                           Placeholders(id_params.size()) + ")"
                                                     : ""),
        with_ids({link_id, user_id}));
    if (!undone.ok()) return undone.status();
    for (const Row& row : undone.value()) {
      TransferLog log;
      log.user_id = user_id;
      log.transfer_link_id = link_id;
      log.bank_transaction_id = row.Int(1);
      log.bank_account_id = row.Int(3);
      log.destination_type = link.value()->destination_type;
      log.status = TransferStatus::kScheduled;
      log.import_id = row.Text(2);
      log.amount_minor = row.Int(4);
      log.currency = row.Text(5);
      log.transaction_date = row.Text(6);
      log.created_at_ms = now_ms;
      log.updated_at_ms = now_ms;
      auto log_id = transfer_store::InsertLog(connection, log);
      if (!log_id.ok()) return log_id.status();
      auto updated = connection.Execute(
          "UPDATE transfer_items SET state = 'SCHEDULED', attempts = 0, next_attempt_at = NULL, "
          "last_log_id = ?, updated_at = ? WHERE id = ?",
          {log_id.value(), now_ms, row.Int(0)});
      if (!updated.ok()) return updated.status();
      ++rescheduled;
    }
    return Status::Ok();
  });
  if (!written.ok()) return written.error();
  Status scheduled = ScheduleLink(user_id, link_id);
  if (!scheduled.ok()) return scheduled.error();
  return rescheduled;
}

Result<int64_t> DeliveryService::RetryAll(int64_t user_id, const RetryRequest& request) {
  Result<std::vector<int64_t>> links = std::vector<int64_t>();
  Status read = database_.Read([&](Connection& connection) {
    links = transfer_store::ActiveLinkIds(connection, user_id);
    return links.status();
  });
  if (!read.ok()) return read.error();
  int64_t total = 0;
  for (int64_t link_id : links.value()) {
    auto retried = Retry(user_id, link_id, request);
    if (!retried.ok()) return retried.error();
    total += retried.value();
  }
  return total;
}

// ---- Logs and undo ----

Result<std::vector<TransferLog>> DeliveryService::ListLogs(int64_t user_id,
                                                           const TransferLogFilter& filter) {
  Result<std::vector<TransferLog>> logs = std::vector<TransferLog>();
  Status read = database_.Read([&](Connection& connection) {
    logs = transfer_store::ListLogs(connection, user_id, filter);
    return logs.status();
  });
  if (!read.ok()) return read.error();
  return logs;
}

Result<TransferLog> DeliveryService::GetLog(int64_t user_id, int64_t log_id) {
  Result<std::optional<TransferLog>> log = std::optional<TransferLog>();
  Status read = database_.Read([&](Connection& connection) {
    log = transfer_store::LoadLog(connection, user_id, log_id);
    return log.status();
  });
  if (!read.ok()) return read.error();
  if (!log.value()) return Error::Of(ErrorCode::kNotFound, "The transfer log was not found.");
  return *log.value();
}

Result<TransferLog> DeliveryService::Undo(int64_t user_id, int64_t log_id) {
  auto original = GetLog(user_id, log_id);
  if (!original.ok()) return original.error();
  const TransferLog& log = original.value();
  if ((log.status != TransferStatus::kTransferred && log.status != TransferStatus::kUpdated) ||
      log.undone_at_ms || !log.destination_transaction_id) {
    return Error::Of(ErrorCode::kConflict,
                     "transfer log " + std::to_string(log_id) +
                         " cannot be undone: only a TRANSFERRED or UPDATED entry that was not "
                         "undone yet can be (this one is " +
                         std::string(TransferStatusName(log.status)) +
                         (log.undone_at_ms ? ", undone" : "") + ")");
  }
  auto link = GetLink(user_id, log.transfer_link_id);
  if (!link.ok()) {
    return Error::Of(ErrorCode::kConflict, "the transfer link of transfer log " +
                                               std::to_string(log_id) + " no longer exists");
  }
  Result<std::optional<transfer_store::Item>> item = std::optional<transfer_store::Item>();
  Status read = database_.Read([&](Connection& connection) {
    item = transfer_store::LoadItem(connection, user_id, log.transfer_link_id,
                                    log.bank_transaction_id);
    return item.status();
  });
  if (!read.ok()) return read.error();
  if (!item.value() || item.value()->state != "TRANSFERRED" ||
      item.value()->destination_transaction_id != log.destination_transaction_id) {
    return Error::Of(ErrorCode::kConflict, "transfer log " + std::to_string(log_id) +
                                               " is no longer the transaction's current transfer");
  }
  auto destination =
      OpenDestination(user_id, link.value().destination_type, link.value().destination_id);
  if (!destination.ok()) {
    // The log exists: a destination that is gone or disabled is a conflict, not a 404.
    if (destination.error().code == ErrorCode::kNotFound) {
      return Error::Of(ErrorCode::kConflict, "cannot undo: " + destination.error().detail);
    }
    return DestinationErrorForCaller(destination.error());
  }
  Status deleted = destination.value()->Delete(*log.destination_transaction_id);
  if (!deleted.ok() && deleted.error().code != ErrorCode::kNotFound) {
    return DestinationErrorForCaller(deleted.error());
  }
  const int64_t now_ms = clock_.NowMilliseconds();
  TransferLog undo = log;
  Status written = database_.Write([&](Connection& connection) -> Status {
    const transfer_store::Item& current = *item.value();
    const int64_t generation = current.generation + 1;
    auto moved = connection.Execute(
        "UPDATE transfer_items SET state = 'UNDONE', generation = ?, import_id = ?, "
        "destination_transaction_id = NULL, sent_status = NULL, attempts = 0, next_attempt_at = "
        "NULL, updated_at = ? WHERE id = ? AND state = 'TRANSFERRED' AND "
        "destination_transaction_id = ?",
        {generation,
         transfer_store::ImportId(log.transfer_link_id, log.bank_transaction_id, generation),
         now_ms, current.id, *log.destination_transaction_id});
    if (!moved.ok()) return moved.status();
    if (moved.value() == 0) {
      return Error::Of(ErrorCode::kConflict, "the transfer changed while it was being undone");
    }
    auto marked = connection.Execute(
        "UPDATE transfer_logs SET undone_at = ?, updated_at = ? WHERE user_id = ? AND "
        "transfer_link_id = ? AND bank_transaction_id = ? AND status IN ('TRANSFERRED', "
        "'UPDATED') AND undone_at IS NULL",
        {now_ms, now_ms, user_id, log.transfer_link_id, log.bank_transaction_id});
    if (!marked.ok()) return marked.status();
    undo.id = 0;
    undo.status = TransferStatus::kUndone;
    undo.message = deleted.ok() ? "Deleted at the destination."
                                : "Already gone at the destination: " + deleted.error().detail;
    undo.attempts = 1;
    undo.first_attempt_at_ms = now_ms;
    undo.last_attempt_at_ms = now_ms;
    undo.undone_at_ms.reset();
    undo.undo_of_transfer_log_id = log_id;
    undo.created_at_ms = now_ms;
    undo.updated_at_ms = now_ms;
    auto inserted = transfer_store::InsertLog(connection, undo);
    if (!inserted.ok()) return inserted.status();
    undo.id = inserted.value();
    return connection
        .Execute("UPDATE transfer_items SET last_log_id = ? WHERE id = ?", {undo.id, current.id})
        .status();
  });
  if (!written.ok()) return written.error();
  return undo;
}

std::vector<UndoResult> DeliveryService::UndoMany(int64_t user_id,
                                                  const std::vector<int64_t>& log_ids) {
  std::vector<UndoResult> results;
  results.reserve(log_ids.size());
  for (int64_t log_id : log_ids) {
    UndoResult result;
    result.transfer_log_id = log_id;
    auto undone = Undo(user_id, log_id);
    if (undone.ok()) {
      result.undo_log = std::move(undone.value());
    } else {
      result.error = undone.error();
    }
    results.push_back(std::move(result));
  }
  return results;
}

// ---- Statistics ----

Result<TransferStatistics> DeliveryService::Statistics(int64_t user_id,
                                                       const TransferStatisticsRequest& request) {
  const int64_t from_ms = request.from.days_since_epoch() * kDayMs;
  const int64_t to_ms = (request.to.days_since_epoch() + 1) * kDayMs;
  TransferStatistics statistics;
  Status read = database_.Read([&](Connection& connection) -> Status {
    std::string sql =
        "SELECT transfer_link_id, status, created_at / 86400000 AS day, currency, COUNT(*), "
        "SUM(CASE WHEN undone_at IS NULL THEN amount_minor ELSE 0 END) FROM transfer_logs WHERE "
        "user_id = ? AND created_at >= ? AND created_at < ?";
    std::vector<Value> params{user_id, from_ms, to_ms};
    if (request.transfer_link_id) {
      sql += " AND transfer_link_id = ?";
      params.emplace_back(*request.transfer_link_id);
    }
    sql += " GROUP BY transfer_link_id, status, day, currency ORDER BY day";
    auto rows = connection.Query(sql, params);
    if (!rows.ok()) return rows.status();
    std::map<std::string, StatusCounts> periods;
    for (const Row& row : rows.value()) {
      auto status = ParseTransferStatus(row.Text(1));
      if (!status) continue;
      const int64_t count = row.Int(4);
      statistics.totals.counts[*status] += count;
      statistics.by_link[row.Int(0)].counts[*status] += count;
      auto day = domain::Date::FromDaysSinceEpoch(row.Int(2));
      if (day) {
        std::string period = domain::FormatDate(*day);
        if (request.by_month) period.resize(7);
        periods[period].counts[*status] += count;
      }
      if (*status == TransferStatus::kTransferred) {
        statistics.transferred_amount_count += count;
        statistics.transferred_minor_by_currency[row.Text(3)] += row.Int(5);
      }
    }
    statistics.series.assign(periods.begin(), periods.end());
    return Status::Ok();
  });
  if (!read.ok()) return read.error();
  return statistics;
}

// ---- The engine ----

Result<int64_t> DeliveryService::Discover(const TransferLink& link) {
  const int64_t now_ms = clock_.NowMilliseconds();
  int64_t scanned = 0;
  Status written = database_.Write([&](Connection& connection) -> Status {
    // The cursor and the start date as they are now: a start date changed since the pass
    // read the link must not be applied to the rows its reset cursor brings back.
    auto cursor = connection.Query(
        "SELECT change_cursor, transfer_start_date FROM transfer_links WHERE id = ? AND user_id "
        "= ?",
        {link.id, link.user_id});
    if (!cursor.ok()) return cursor.status();
    if (cursor.value().empty()) return Status::Ok();
    const int64_t after_id = cursor.value()[0].Int(0);
    const std::string start = cursor.value()[0].Text(1);
    auto rows = connection.Query(
        "SELECT t.id, t.amount_minor, t.currency, t.generated_date, EXISTS (SELECT 1 FROM "
        "transfer_items i WHERE i.transfer_link_id = ? AND i.bank_transaction_id = t.id) FROM "
        "bank_transactions t WHERE t.bank_account_id = ? AND t.user_id = ? AND t.id > ? ORDER "
        "BY t.id LIMIT ?",
        {link.id, link.bank_account_id, link.user_id, after_id, kDiscoverBatch});
    if (!rows.ok()) return rows.status();
    scanned = static_cast<int64_t>(rows.value().size());
    if (scanned == 0) return Status::Ok();
    for (const Row& row : rows.value()) {
      const std::string date = row.Text(3);
      if (date < start || row.Int(4) != 0) continue;
      const int64_t transaction_id = row.Int(0);
      TransferLog log;
      log.user_id = link.user_id;
      log.transfer_link_id = link.id;
      log.bank_transaction_id = transaction_id;
      log.bank_account_id = link.bank_account_id;
      log.destination_type = link.destination_type;
      log.status = TransferStatus::kScheduled;
      log.import_id = transfer_store::ImportId(link.id, transaction_id, 0);
      log.amount_minor = row.Int(1);
      log.currency = row.Text(2);
      log.transaction_date = date;
      log.created_at_ms = now_ms;
      log.updated_at_ms = now_ms;
      auto log_id = transfer_store::InsertLog(connection, log);
      if (!log_id.ok()) return log_id.status();
      auto inserted = connection.Execute(
          "INSERT INTO transfer_items (user_id, transfer_link_id, bank_transaction_id, "
          "generation, import_id, state, attempts, last_log_id, created_at, updated_at) VALUES "
          "(?, ?, ?, 0, ?, 'SCHEDULED', 0, ?, ?, ?)",
          {link.user_id, link.id, transaction_id, *log.import_id, log_id.value(), now_ms, now_ms});
      if (!inserted.ok()) return inserted.status();
    }
    return connection
        .Execute("UPDATE transfer_links SET change_cursor = ? WHERE id = ?",
                 {rows.value().back().Int(0), link.id})
        .status();
  });
  if (!written.ok()) return written.error();
  return scanned;
}

namespace {

// Removes at the destination the copies of pending transactions the bank withdrew (see
// SelectWithdrawn), each logged UNDONE with the reason.
Status Retract(store::Database& database_, const Clock& clock_, const TransferLink& link,
               Destination& destination, const std::vector<WorkItem>& items) {
  for (const WorkItem& item : items) {
    Status deleted = destination.Delete(item.destination_transaction_id);
    const bool gone = deleted.ok() || deleted.error().code == ErrorCode::kNotFound;
    const int64_t now_ms = clock_.NowMilliseconds();
    Status written = database_.Write([&](Connection& connection) -> Status {
      if (!gone) {
        const int64_t attempts = item.attempts + 1;
        const bool again = deleted.error().code == ErrorCode::kUnavailable ||
                           deleted.error().code == ErrorCode::kTooManyRequests;
        return connection
            .Execute(
                "UPDATE transfer_items SET attempts = ?, next_attempt_at = ?, updated_at = ? "
                "WHERE id = ? AND user_id = ? AND state = 'TRANSFERRED'",
                {attempts,
                 again && attempts < DeliveryService::kAutomaticAttemptsMax
                     ? now_ms + BackoffMs(attempts)
                     : kNever,
                 now_ms, item.item_id, link.user_id})
            .status();
      }
      auto moved = connection.Execute(
          "UPDATE transfer_items SET state = 'UNDONE', generation = generation + 1, "
          "destination_transaction_id = NULL, sent_status = NULL, attempts = 0, "
          "next_attempt_at = NULL, updated_at = ? WHERE id = ? AND user_id = ? AND state = "
          "'TRANSFERRED' AND destination_transaction_id = ?",
          {now_ms, item.item_id, link.user_id, item.destination_transaction_id});
      if (!moved.ok()) return moved.status();
      if (moved.value() == 0) return Status::Ok();
      std::optional<TransferLog> original;
      if (item.last_log_id) {
        auto loaded = transfer_store::LoadLog(connection, link.user_id, *item.last_log_id);
        if (!loaded.ok()) return loaded.status();
        original = loaded.value();
      }
      auto marked = connection.Execute(
          "UPDATE transfer_logs SET undone_at = ?, updated_at = ? WHERE user_id = ? AND "
          "transfer_link_id = ? AND bank_transaction_id = ? AND status IN ('TRANSFERRED', "
          "'UPDATED') AND undone_at IS NULL",
          {now_ms, now_ms, link.user_id, link.id, item.bank_transaction_id});
      if (!marked.ok()) return marked.status();
      TransferLog log;
      log.user_id = link.user_id;
      log.transfer_link_id = link.id;
      log.bank_transaction_id = item.bank_transaction_id;
      log.bank_account_id = link.bank_account_id;
      log.destination_type = link.destination_type;
      log.status = TransferStatus::kUndone;
      log.destination_transaction_id = item.destination_transaction_id;
      log.import_id = item.import_id;
      log.message =
          "The bank withdrew this pending transaction; its copy was removed at the destination.";
      if (original) {
        log.amount_minor = original->amount_minor;
        log.currency = original->currency;
        log.transaction_date = original->transaction_date;
      }
      log.attempts = 1;
      log.first_attempt_at_ms = now_ms;
      log.last_attempt_at_ms = now_ms;
      log.undo_of_transfer_log_id = item.last_log_id;
      log.created_at_ms = now_ms;
      log.updated_at_ms = now_ms;
      auto inserted = transfer_store::InsertLog(connection, log);
      if (!inserted.ok()) return inserted.status();
      return connection
          .Execute("UPDATE transfer_items SET last_log_id = ? WHERE id = ? AND user_id = ?",
                   {inserted.value(), item.item_id, link.user_id})
          .status();
    });
    if (!written.ok()) return written;
  }
  return Status::Ok();
}

}  // namespace

jobs::JobOutcome DeliveryService::RunLink(int64_t user_id, int64_t link_id) {
  const int64_t deadline_ms = clock_.NowMilliseconds() + kRunBudgetMs;
  TakeWakeRequest(link_id);  // This run reads everything as it is now.
  for (;;) {
    int64_t wait_until_ms = 0;
    std::optional<int64_t> next_retry_at_ms;
    PassResult result = RunPass(user_id, link_id, wait_until_ms, next_retry_at_ms);
    const int64_t now_ms = clock_.NowMilliseconds();
    if (result != PassResult::kMore && wait_until_ms == 0 && now_ms < deadline_ms &&
        TakeWakeRequest(link_id)) {
      continue;  // Asked to run again while this pass ran: look once more.
    }
    if (result == PassResult::kGone) return jobs::JobOutcome::Succeeded();
    if (wait_until_ms > 0) return jobs::JobOutcome::RescheduleAt(wait_until_ms);
    if (result == PassResult::kIdle) {
      int64_t next = now_ms + kSweepIntervalMs;
      if (next_retry_at_ms) next = std::min(next, std::max(*next_retry_at_ms, now_ms));
      return jobs::JobOutcome::RescheduleAt(next);
    }
    if (now_ms >= deadline_ms) return jobs::JobOutcome::RescheduleAt(now_ms);
  }
}

DeliveryService::PassResult DeliveryService::RunPass(int64_t user_id, int64_t link_id,
                                                     int64_t& wait_until_ms,
                                                     std::optional<int64_t>& next_retry_at_ms) {
  auto loaded = GetLink(user_id, link_id);
  if (!loaded.ok()) {
    if (loaded.error().code == ErrorCode::kNotFound) return PassResult::kGone;
    wait_until_ms = clock_.NowMilliseconds() + 30'000;
    return PassResult::kIdle;
  }
  const TransferLink link = loaded.value();
  // An inactive link keeps its (idle) job: a reactivation in another process is then seen by
  // the next sweep. Only a deleted link ends it.
  if (!link.active) return PassResult::kIdle;
  auto store_failure = [&](const Error& error) {
    spdlog::error("delivery of transfer link {}: {}", link_id, error.detail);
    wait_until_ms = clock_.NowMilliseconds() + 30'000;
    return PassResult::kIdle;
  };
  auto discovered = Discover(link);
  if (!discovered.ok()) return store_failure(discovered.error());
  if (discovered.value() == kDiscoverBatch) return PassResult::kMore;

  auto destination = OpenDestination(user_id, link.destination_type, link.destination_id);
  const int64_t batch =
      destination.ok() ? static_cast<int64_t>(std::max<size_t>(1, destination.value()->batch_max()))
                       : 100;
  const int64_t now_ms = clock_.NowMilliseconds();
  std::vector<WorkItem> creates;
  std::vector<WorkItem> updates;
  std::vector<WorkItem> withdrawn;
  std::map<int64_t, domain::BankTransaction> transactions;
  Status read = database_.Read([&](Connection& connection) -> Status {
    auto selected = SelectCreates(connection, user_id, link_id, now_ms, batch);
    if (!selected.ok()) return selected.status();
    creates = std::move(selected.value());
    if (static_cast<int64_t>(creates.size()) < batch) {
      auto due = SelectUpdates(connection, user_id, link_id, now_ms,
                               batch - static_cast<int64_t>(creates.size()));
      if (!due.ok()) return due.status();
      updates = std::move(due.value());
    }
    std::vector<WorkItem> all = creates;
    all.insert(all.end(), updates.begin(), updates.end());
    auto loaded_transactions = LoadTransactions(connection, user_id, all);
    if (!loaded_transactions.ok()) return loaded_transactions.status();
    transactions = std::move(loaded_transactions.value());
    if (creates.empty() && updates.empty()) {
      auto gone = SelectWithdrawn(connection, user_id, link_id, now_ms, batch);
      if (!gone.ok()) return gone.status();
      withdrawn = std::move(gone.value());
      auto next = NextRetryAt(connection, user_id, link_id);
      if (!next.ok()) return next.status();
      next_retry_at_ms = next.value();
    }
    return Status::Ok();
  });
  if (!read.ok()) return store_failure(read.error());
  if (!withdrawn.empty()) {
    if (!destination.ok()) return PassResult::kIdle;  // Tried again at the next sweep.
    Status retracted = Retract(database_, clock_, link, *destination.value(), withdrawn);
    if (!retracted.ok()) return store_failure(retracted.error());
    return PassResult::kMore;
  }
  if (creates.empty() && updates.empty()) return PassResult::kIdle;

  // The outgoing copies, shaped by the link's rules and then the destination's.
  auto account = rules_.LoadAccount(user_id, link.bank_account_id);
  if (!account.ok()) return store_failure(account.error());
  if (!account.value()) return PassResult::kGone;
  const rules::RuleType rule_type = rules::RuleTypeOf(RulesDestination(link.destination_type));
  std::vector<rules::SharedRuleSet> rule_sets;
  auto link_rules =
      rules_.TargetRules(user_id, rules::TargetKind::kTransferLink, link.id, rule_type);
  if (!link_rules.ok()) return store_failure(link_rules.error());
  rule_sets.push_back(link_rules.value());
  auto destination_rules = rules_.TargetRules(user_id, TargetKindOf(link.destination_type),
                                              link.destination_id, rule_type);
  if (!destination_rules.ok()) return store_failure(destination_rules.error());
  rule_sets.push_back(destination_rules.value());

  // Items whose bank transaction is gone (retention, deletion) fail for good.
  struct Outcome {
    WorkItem item;
    bool update = false;
    bool skipped = false;
    ItemOutcome result;
  };
  std::vector<Outcome> outcomes;
  std::vector<domain::BankTransaction> batch_transactions;
  std::vector<WorkItem> batch_items;
  std::vector<bool> batch_is_update;
  auto collect = [&](const std::vector<WorkItem>& items, bool update) {
    for (const WorkItem& item : items) {
      auto found = transactions.find(item.bank_transaction_id);
      if (found == transactions.end()) {
        outcomes.push_back(
            {item, update, false,
             ItemOutcome::Rejected("the bank transaction no longer exists in finsync")});
        continue;
      }
      batch_transactions.push_back(found->second);
      batch_items.push_back(item);
      batch_is_update.push_back(update);
    }
  };
  collect(creates, false);
  collect(updates, true);
  std::vector<rules::OutgoingTransaction> copies;
  copies.reserve(batch_transactions.size());
  for (const domain::BankTransaction& transaction : batch_transactions) {
    copies.push_back(
        rules::MakeOutgoingTransaction(transaction, RulesDestination(link.destination_type)));
  }
  std::vector<rules::RuleLogEntry> rule_log;
  rules::RuleService::RunDestinationRules(*account.value(), rule_sets, batch_transactions, copies,
                                          rule_log);

  std::vector<OutboundItem> to_create;
  std::vector<OutboundItem> to_update;
  std::vector<size_t> create_index;
  std::vector<size_t> update_index;
  const OnBookedChange& change = link.on_booked_change;
  const bool sends_updates = change.update_status || change.update_payee ||
                             change.update_description || change.update_amount;
  for (size_t index = 0; index < batch_items.size(); ++index) {
    if (copies[index].skip_transfer && !batch_is_update[index]) {
      outcomes.push_back({batch_items[index], false, true, ItemOutcome::Delivered("")});
      continue;
    }
    if (batch_is_update[index] && !sends_updates) {
      outcomes.push_back({batch_items[index], true, false,
                          ItemOutcome::Delivered(batch_items[index].destination_transaction_id)});
      continue;
    }
    OutboundItem outbound;
    outbound.item_id = batch_items[index].item_id;
    outbound.import_id = batch_items[index].import_id;
    outbound.destination_transaction_id = batch_items[index].destination_transaction_id;
    outbound.copy = copies[index];
    outbound.transaction = &batch_transactions[index];
    if (batch_is_update[index]) {
      to_update.push_back(std::move(outbound));
      update_index.push_back(index);
    } else {
      to_create.push_back(std::move(outbound));
      create_index.push_back(index);
    }
  }
  auto send = [&](std::vector<OutboundItem>& outbound, const std::vector<size_t>& indices,
                  bool update) {
    if (outbound.empty()) return;
    if (!destination.ok()) {
      for (size_t index : indices) {
        // The destination cannot be opened now (disabled, ignored, its token unreadable, the
        // store busy): retried with backoff, since the user can repair it.
        outcomes.push_back(
            {batch_items[index], update, false, ItemOutcome::Retry(destination.error().detail)});
      }
      return;
    }
    Result<std::vector<ItemOutcome>> answered =
        update ? destination.value()->Update(
                     outbound, UpdateFields{change.update_status, change.update_payee,
                                            change.update_description, change.update_amount})
               : destination.value()->Create(outbound);
    if (!answered.ok() && answered.error().code == ErrorCode::kTooManyRequests) {
      // Not a failure of these transactions: come back when the destination allows it.
      const int64_t wait_ms = std::max<int64_t>(1, answered.error().retry_after_seconds) * 1000;
      wait_until_ms = std::max(wait_until_ms, clock_.NowMilliseconds() + wait_ms);
      return;
    }
    for (size_t position = 0; position < indices.size(); ++position) {
      ItemOutcome result =
          !answered.ok()
              ? ItemOutcome::Retry(answered.error().detail)
              : (position < answered.value().size()
                     ? answered.value()[position]
                     : ItemOutcome::Retry("the destination did not answer for this transaction"));
      outcomes.push_back({batch_items[indices[position]], update, false, std::move(result)});
    }
  };
  send(to_create, create_index, false);
  send(to_update, update_index, true);
  if (outcomes.empty()) return PassResult::kIdle;  // Only rate-limited work: wait_until is set.

  // Record everything in one Write.
  const int64_t recorded_ms = clock_.NowMilliseconds();
  std::vector<bool> record_rules(batch_transactions.size(), false);
  std::map<int64_t, size_t> index_of_item;
  for (size_t index = 0; index < batch_items.size(); ++index) {
    index_of_item[batch_items[index].item_id] = index;
  }
  Status written = database_.Write([&](Connection& connection) -> Status {
    json::Writer succeeded;
    json::Writer failed;
    succeeded.StartArray();
    failed.StartArray();
    int64_t succeeded_count = 0;
    int64_t failed_count = 0;
    for (const Outcome& outcome : outcomes) {
      const WorkItem& item = outcome.item;
      auto position = index_of_item.find(item.item_id);
      const domain::BankTransaction* transaction =
          position == index_of_item.end() ? nullptr : &batch_transactions[position->second];
      const std::string sent_status = transaction && !transaction->booked() ? "PENDING" : "BOOKED";
      const ItemOutcome& result = outcome.result;
      if (outcome.skipped) {
        auto moved = connection.Execute(
            "UPDATE transfer_items SET state = 'SKIPPED', updated_at = ? WHERE id = ? AND state "
            "IN ('SCHEDULED', 'FAILED')",
            {recorded_ms, item.item_id});
        if (!moved.ok()) return moved.status();
        if (moved.value() == 0) continue;
        if (item.last_log_id) {
          Status touched = TouchLog(connection, *item.last_log_id, "SKIPPED", std::nullopt,
                                    "A SKIP_TRANSFER rule matched.", recorded_ms);
          if (!touched.ok()) return touched;
        }
        if (position != index_of_item.end()) record_rules[position->second] = true;
        continue;
      }
      if (!outcome.update) {
        const int64_t attempts = item.attempts + 1;
        if (result.delivered) {
          auto moved = connection.Execute(
              "UPDATE transfer_items SET state = 'TRANSFERRED', destination_transaction_id = ?, "
              "sent_status = ?, attempts = 0, next_attempt_at = NULL, updated_at = ? WHERE id = "
              "? AND state IN ('SCHEDULED', 'FAILED')",
              {result.destination_transaction_id, sent_status, recorded_ms, item.item_id});
          if (!moved.ok()) return moved.status();
          if (moved.value() == 0) continue;
          if (item.last_log_id) {
            Status touched = TouchLog(connection, *item.last_log_id, "TRANSFERRED",
                                      result.destination_transaction_id, "", recorded_ms);
            if (!touched.ok()) return touched;
            WriteEventTransfer(succeeded, *item.last_log_id, item.bank_transaction_id,
                               result.destination_transaction_id, "TRANSFERRED", "");
            ++succeeded_count;
          }
          if (position != index_of_item.end()) record_rules[position->second] = true;
        } else {
          const bool again = result.retryable && attempts < kAutomaticAttemptsMax;
          auto moved = connection.Execute(
              "UPDATE transfer_items SET state = 'FAILED', attempts = ?, next_attempt_at = ?, "
              "updated_at = ? WHERE id = ? AND state IN ('SCHEDULED', 'FAILED')",
              {attempts, again ? Value(recorded_ms + BackoffMs(attempts)) : store::Null(),
               recorded_ms, item.item_id});
          if (!moved.ok()) return moved.status();
          if (moved.value() == 0) continue;
          if (item.last_log_id) {
            Status touched = TouchLog(connection, *item.last_log_id, "FAILED", std::nullopt,
                                      result.message, recorded_ms);
            if (!touched.ok()) return touched;
            WriteEventTransfer(failed, *item.last_log_id, item.bank_transaction_id, "", "FAILED",
                               result.message);
            ++failed_count;
          }
        }
        continue;
      }
      // A booked change sent as an update. The item must still be the transfer the update was
      // for (an undo or a resend may have replaced it while the update was in flight); this
      // check and the writes below are one transaction.
      auto still = connection.Query(
          "SELECT 1 FROM transfer_items WHERE id = ? AND user_id = ? AND state = 'TRANSFERRED' "
          "AND destination_transaction_id = ? AND sent_status = 'PENDING'",
          {item.item_id, user_id, item.destination_transaction_id});
      if (!still.ok()) return still.status();
      if (still.value().empty()) continue;
      if (result.delivered) {
        TransferLog log;
        if (transaction) {
          log.amount_minor = transaction->amount_minor;
          log.currency = transaction->currency;
          if (transaction->generated.date) {
            log.transaction_date = domain::FormatDate(*transaction->generated.date);
          }
        }
        log.user_id = link.user_id;
        log.transfer_link_id = link.id;
        log.bank_transaction_id = item.bank_transaction_id;
        log.bank_account_id = link.bank_account_id;
        log.destination_type = link.destination_type;
        log.status = TransferStatus::kUpdated;
        log.destination_transaction_id = item.destination_transaction_id;
        log.import_id = item.import_id;
        log.message = sends_updates ? "" : "Booked; on_booked_change sends no update.";
        log.attempts = item.attempts + 1;
        log.first_attempt_at_ms = recorded_ms;
        log.last_attempt_at_ms = recorded_ms;
        log.created_at_ms = recorded_ms;
        log.updated_at_ms = recorded_ms;
        auto log_id = transfer_store::InsertLog(connection, log);
        if (!log_id.ok()) return log_id.status();
        auto moved = connection.Execute(
            "UPDATE transfer_items SET sent_status = 'BOOKED', attempts = 0, next_attempt_at = "
            "NULL, last_log_id = ?, updated_at = ? WHERE id = ? AND state = 'TRANSFERRED'",
            {log_id.value(), recorded_ms, item.item_id});
        if (!moved.ok()) return moved.status();
        WriteEventTransfer(succeeded, log_id.value(), item.bank_transaction_id,
                           item.destination_transaction_id, "UPDATED", "");
        ++succeeded_count;
        if (position != index_of_item.end()) record_rules[position->second] = true;
      } else {
        const int64_t attempts = item.attempts + 1;
        const bool again = result.retryable && attempts < kAutomaticAttemptsMax;
        int64_t log_id = 0;
        const std::string message = "Update failed: " + result.message;
        if (item.attempts == 0 || !item.last_log_id) {
          TransferLog log;
          log.user_id = link.user_id;
          log.transfer_link_id = link.id;
          log.bank_transaction_id = item.bank_transaction_id;
          log.bank_account_id = link.bank_account_id;
          log.destination_type = link.destination_type;
          log.status = TransferStatus::kFailed;
          log.destination_transaction_id = item.destination_transaction_id;
          log.import_id = item.import_id;
          log.message = message;
          if (transaction) {
            log.amount_minor = transaction->amount_minor;
            log.currency = transaction->currency;
          }
          log.attempts = 1;
          log.first_attempt_at_ms = recorded_ms;
          log.last_attempt_at_ms = recorded_ms;
          log.created_at_ms = recorded_ms;
          log.updated_at_ms = recorded_ms;
          auto inserted = transfer_store::InsertLog(connection, log);
          if (!inserted.ok()) return inserted.status();
          log_id = inserted.value();
        } else {
          log_id = *item.last_log_id;
          Status touched =
              TouchLog(connection, log_id, "FAILED", std::nullopt, message, recorded_ms);
          if (!touched.ok()) return touched;
        }
        auto moved = connection.Execute(
            "UPDATE transfer_items SET attempts = ?, next_attempt_at = ?, last_log_id = ?, "
            "updated_at = ? WHERE id = ? AND state = 'TRANSFERRED'",
            {attempts, again ? recorded_ms + BackoffMs(attempts) : kNever, log_id, recorded_ms,
             item.item_id});
        if (!moved.ok()) return moved.status();
        WriteEventTransfer(failed, log_id, item.bank_transaction_id, "", "FAILED", message);
        ++failed_count;
      }
    }
    succeeded.EndArray();
    failed.EndArray();
    auto logged = rules_.RecordRuleLogs(connection, user_id, link.bank_account_id,
                                        batch_transactions, rule_log, record_rules);
    if (!logged.ok()) return logged.status();
    if (publisher_ == nullptr) return Status::Ok();
    auto publish = [&](std::string_view type, const json::Writer& list, int64_t count) {
      if (count == 0) return Status::Ok();
      json::Writer data;
      data.StartObject();
      data.Field("transfer_link_id", link.id);
      data.Field("bank_account_id", link.bank_account_id);
      data.Field("destination_type", DestinationTypeName(link.destination_type));
      data.Field("destination_id", link.destination_id);
      data.Field("count", count);
      data.Key("transfers").Raw(list.str());
      data.EndObject();
      return publisher_->Publish(
          connection, events::Event{user_id, std::string(type), link.bank_account_id, data.str()});
    };
    Status published = publish("transfer.succeeded", succeeded, succeeded_count);
    if (!published.ok()) return published;
    return publish("transfer.failed", failed, failed_count);
  });
  if (!written.ok()) return store_failure(written.error());
  return wait_until_ms > 0 ? PassResult::kIdle : PassResult::kMore;
}

}  // namespace finsync::delivery
