#include "delivery/transfer_store.h"

#include <string_view>

namespace finsync::delivery::transfer_store {

namespace {

using store::Row;
using store::Value;

constexpr std::string_view kLinkColumns =
    "id, user_id, bank_account_id, destination_type, destination_id, transfer_start_date, "
    "active, update_status, update_payee, update_description, update_amount, created_at, "
    "updated_at";

TransferLink LinkFromRow(const Row& row) {
  TransferLink link;
  link.id = row.Int(0);
  link.user_id = row.Int(1);
  link.bank_account_id = row.Int(2);
  link.destination_type = ParseDestinationType(row.Text(3)).value_or(DestinationType::kWebhook);
  link.destination_id = row.Int(4);
  auto date = domain::ParseDate(row.Text(5));
  if (date.ok()) link.transfer_start_date = date.date;
  link.active = row.Int(6) != 0;
  link.on_booked_change.update_status = row.Int(7) != 0;
  link.on_booked_change.update_payee = row.Int(8) != 0;
  link.on_booked_change.update_description = row.Int(9) != 0;
  link.on_booked_change.update_amount = row.Int(10) != 0;
  link.created_at_ms = row.Int(11);
  link.updated_at_ms = row.Int(12);
  return link;
}

constexpr std::string_view kLogColumns =
    "id, user_id, transfer_link_id, bank_transaction_id, bank_account_id, destination_type, "
    "status, destination_transaction_id, import_id, message, amount_minor, currency, "
    "transaction_date, attempts, first_attempt_at, last_attempt_at, undone_at, "
    "undo_of_transfer_log_id, created_at, updated_at";

TransferLog LogFromRow(const Row& row) {
  TransferLog log;
  log.id = row.Int(0);
  log.user_id = row.Int(1);
  log.transfer_link_id = row.Int(2);
  log.bank_transaction_id = row.Int(3);
  log.bank_account_id = row.Int(4);
  log.destination_type = ParseDestinationType(row.Text(5)).value_or(DestinationType::kWebhook);
  log.status = ParseTransferStatus(row.Text(6)).value_or(TransferStatus::kFailed);
  log.destination_transaction_id = row.OptionalText(7);
  log.import_id = row.OptionalText(8);
  log.message = row.Text(9);
  log.amount_minor = row.Int(10);
  log.currency = row.Text(11);
  log.transaction_date = row.OptionalText(12);
  log.attempts = row.Int(13);
  log.first_attempt_at_ms = row.OptionalInt(14);
  log.last_attempt_at_ms = row.OptionalInt(15);
  log.undone_at_ms = row.OptionalInt(16);
  log.undo_of_transfer_log_id = row.OptionalInt(17);
  log.created_at_ms = row.Int(18);
  log.updated_at_ms = row.Int(19);
  return log;
}

Result<std::vector<int64_t>> Ids(Connection& connection, std::string_view sql,
                                 std::initializer_list<Value> params) {
  auto rows = connection.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<int64_t> ids;
  ids.reserve(rows.value().size());
  for (const Row& row : rows.value()) ids.push_back(row.Int(0));
  return ids;
}

}  // namespace

std::string ImportId(int64_t link_id, int64_t bank_transaction_id, int64_t generation) {
  std::string id = "fs:" + std::to_string(link_id) + ":" + std::to_string(bank_transaction_id);
  if (generation > 0) id += ":" + std::to_string(generation);
  return id;
}

Result<std::optional<TransferLink>> LoadLink(Connection& connection, int64_t user_id,
                                             int64_t link_id) {
  auto rows = connection.Query(
      "SELECT " + std::string(kLinkColumns) + " FROM transfer_links WHERE id = ? AND user_id = ?",
      {link_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<TransferLink>();
  return std::optional<TransferLink>(LinkFromRow(rows.value()[0]));
}

Result<std::vector<TransferLink>> ListLinks(Connection& connection, int64_t user_id,
                                            std::optional<int64_t> bank_account_id,
                                            std::optional<DestinationType> destination_type,
                                            int64_t page_number, int64_t page_size,
                                            int64_t& total) {
  std::string where = " FROM transfer_links WHERE user_id = ?";
  std::vector<Value> params{user_id};
  if (bank_account_id) {
    where += " AND bank_account_id = ?";
    params.emplace_back(*bank_account_id);
  }
  if (destination_type) {
    where += " AND destination_type = ?";
    params.emplace_back(std::string(DestinationTypeName(*destination_type)));
  }
  auto counted = connection.Query("SELECT COUNT(*)" + where, params);
  if (!counted.ok()) return counted.error();
  total = counted.value()[0].Int(0);
  params.emplace_back(page_size);
  params.emplace_back((page_number - 1) * page_size);
  auto rows = connection.Query(
      "SELECT " + std::string(kLinkColumns) + where + " ORDER BY id LIMIT ? OFFSET ?", params);
  if (!rows.ok()) return rows.error();
  std::vector<TransferLink> links;
  for (const Row& row : rows.value()) links.push_back(LinkFromRow(row));
  return links;
}

Result<std::vector<int64_t>> ActiveLinkIdsOfAccount(Connection& connection, int64_t user_id,
                                                    int64_t bank_account_id) {
  return Ids(connection,
             "SELECT id FROM transfer_links WHERE user_id = ? AND bank_account_id = ? AND "
             "active = 1 ORDER BY id",
             {user_id, bank_account_id});
}

Result<std::vector<int64_t>> ActiveLinkIds(Connection& connection, int64_t user_id) {
  return Ids(connection,
             "SELECT id FROM transfer_links WHERE user_id = ? AND active = 1 ORDER BY id",
             {user_id});
}

Result<std::vector<int64_t>> AttachedRuleIds(Connection& connection, int64_t user_id,
                                             int64_t link_id) {
  return Ids(connection,
             "SELECT rule_id FROM rule_attachments WHERE user_id = ? AND target_kind = "
             "'TRANSFER_LINK' AND target_id = ? ORDER BY position, rule_id",
             {user_id, link_id});
}

Result<std::optional<DestinationSummary>> LoadDestination(Connection& connection, int64_t user_id,
                                                          DestinationType type,
                                                          int64_t destination_id) {
  std::string_view sql;
  switch (type) {
    case DestinationType::kYnab:
      sql =
          "SELECT a.name, b.name FROM ynab_budget_accounts a JOIN ynab_budgets b ON b.id = "
          "a.budget_id WHERE a.id = ? AND a.user_id = ? AND a.ignored = 0 AND b.ignored = 0";
      break;
    case DestinationType::kLunchMoney:
      sql = "SELECT name, currency FROM lunch_money_assets WHERE id = ? AND user_id = ?";
      break;
    case DestinationType::kWebhook:
      sql = "SELECT name, url FROM webhook_destinations WHERE id = ? AND user_id = ?";
      break;
  }
  auto rows = connection.Query(sql, {destination_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<DestinationSummary>();
  DestinationSummary summary;
  summary.id = destination_id;
  summary.type = type;
  summary.name = rows.value()[0].Text(0);
  summary.detail = rows.value()[0].Text(1);
  return std::optional<DestinationSummary>(std::move(summary));
}

Result<std::optional<std::string>> BankAccountCurrency(Connection& connection, int64_t user_id,
                                                       int64_t bank_account_id) {
  auto rows = connection.Query("SELECT currency FROM bank_accounts WHERE id = ? AND user_id = ?",
                               {bank_account_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.value()[0].Text(0));
}

Result<std::optional<Item>> LoadItem(Connection& connection, int64_t user_id, int64_t link_id,
                                     int64_t bank_transaction_id) {
  auto rows = connection.Query(
      "SELECT id, bank_transaction_id, generation, import_id, destination_transaction_id, state, "
      "sent_status, attempts, last_log_id FROM transfer_items WHERE user_id = ? AND "
      "transfer_link_id = ? AND bank_transaction_id = ?",
      {user_id, link_id, bank_transaction_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<Item>();
  const Row& row = rows.value()[0];
  Item item;
  item.id = row.Int(0);
  item.bank_transaction_id = row.Int(1);
  item.generation = row.Int(2);
  item.import_id = row.Text(3);
  item.destination_transaction_id = row.OptionalText(4);
  item.state = row.Text(5);
  item.sent_status = row.OptionalText(6);
  item.attempts = row.Int(7);
  item.last_log_id = row.OptionalInt(8);
  return std::optional<Item>(std::move(item));
}

Result<std::vector<TransferLog>> ListLogs(Connection& connection, int64_t user_id,
                                          const TransferLogFilter& filter) {
  std::string sql = "SELECT " + std::string(kLogColumns) + " FROM transfer_logs WHERE user_id = ?";
  std::vector<Value> params{user_id};
  if (filter.transfer_link_id) {
    sql += " AND transfer_link_id = ?";
    params.emplace_back(*filter.transfer_link_id);
  }
  if (filter.bank_transaction_id) {
    sql += " AND bank_transaction_id = ?";
    params.emplace_back(*filter.bank_transaction_id);
  }
  if (filter.bank_account_id) {
    sql += " AND bank_account_id = ?";
    params.emplace_back(*filter.bank_account_id);
  }
  if (filter.status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(TransferStatusName(*filter.status)));
  }
  if (filter.before_id) {
    sql += " AND id < ?";
    params.emplace_back(*filter.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(filter.limit);
  auto rows = connection.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<TransferLog> logs;
  logs.reserve(rows.value().size());
  for (const Row& row : rows.value()) logs.push_back(LogFromRow(row));
  return logs;
}

Result<std::optional<TransferLog>> LoadLog(Connection& connection, int64_t user_id,
                                           int64_t log_id) {
  auto rows = connection.Query(
      "SELECT " + std::string(kLogColumns) + " FROM transfer_logs WHERE id = ? AND user_id = ?",
      {log_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<TransferLog>();
  return std::optional<TransferLog>(LogFromRow(rows.value()[0]));
}

Result<int64_t> InsertLog(Connection& connection, const TransferLog& log) {
  auto rows = connection.Query(
      "INSERT INTO transfer_logs (user_id, transfer_link_id, bank_transaction_id, "
      "bank_account_id, destination_type, status, destination_transaction_id, import_id, "
      "message, amount_minor, currency, transaction_date, attempts, first_attempt_at, "
      "last_attempt_at, undone_at, undo_of_transfer_log_id, created_at, updated_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {log.user_id, log.transfer_link_id, log.bank_transaction_id, log.bank_account_id,
       std::string(DestinationTypeName(log.destination_type)),
       std::string(TransferStatusName(log.status)),
       store::OptionalText(log.destination_transaction_id), store::OptionalText(log.import_id),
       log.message, log.amount_minor, log.currency, store::OptionalText(log.transaction_date),
       log.attempts, store::OptionalInt(log.first_attempt_at_ms),
       store::OptionalInt(log.last_attempt_at_ms), store::OptionalInt(log.undone_at_ms),
       store::OptionalInt(log.undo_of_transfer_log_id), log.created_at_ms, log.updated_at_ms});
  if (!rows.ok()) return rows.error();
  return rows.value()[0].Int(0);
}

}  // namespace finsync::delivery::transfer_store
