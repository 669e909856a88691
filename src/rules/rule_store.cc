#include "rules/rule_store.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

#include "domain/date.h"
#include "ingest/ingest.h"

namespace finsync::rules {

namespace {

using store::Connection;

constexpr std::array<std::pair<TargetKind, std::string_view>, 5> kTargetKindNames = {{
    {TargetKind::kBankAccount, "BANK_ACCOUNT"},
    {TargetKind::kTransferLink, "TRANSFER_LINK"},
    {TargetKind::kYnab, "YNAB"},
    {TargetKind::kLunchMoney, "LUNCH_MONEY"},
    {TargetKind::kWebhook, "WEBHOOK"},
}};

int64_t Flag(bool value) { return value ? 1 : 0; }

Error Corrupt(std::string what) {
  return Error::Of(ErrorCode::kInternal, "stored rule data is invalid: " + std::move(what));
}

constexpr std::string_view kRuleColumns =
    "id, user_id, type, name, description, enabled, trigger_on_any_condition, "
    "skip_other_rules_when_triggered, created_at, updated_at";

Result<StoredRule> RuleFromRow(const store::Row& row) {
  StoredRule stored;
  stored.rule.id = row.Int(0);
  stored.user_id = row.Int(1);
  std::optional<RuleType> type = ParseRuleType(row.Text(2));
  if (!type) return Corrupt("rule type " + row.Text(2));
  stored.rule.type = *type;
  stored.rule.name = row.Text(3);
  stored.rule.description = row.Text(4);
  stored.rule.enabled = row.Int(5) != 0;
  stored.rule.trigger_on_any_condition = row.Int(6) != 0;
  stored.rule.skip_other_rules_when_triggered = row.Int(7) != 0;
  stored.created_at_ms = row.Int(8);
  stored.updated_at_ms = row.Int(9);
  return stored;
}

Status LoadConditions(Connection& connection, StoredRule& stored) {
  auto rows = connection.Query(
      "SELECT id, field_name, operator, value, case_sensitive, position, created_at, updated_at "
      "FROM rule_conditions WHERE rule_id = ? AND user_id = ? ORDER BY position, id",
      {stored.rule.id, stored.user_id});
  if (!rows.ok()) return rows.status();
  for (const store::Row& row : rows.value()) {
    Condition condition;
    condition.id = row.Int(0);
    condition.field_name = row.Text(1);
    std::optional<Operator> operation = ParseOperator(row.Text(2));
    if (!operation) return Corrupt("operator " + row.Text(2));
    condition.operation = *operation;
    condition.value = row.Text(3);
    condition.case_sensitive = row.Int(4) != 0;
    stored.rule.conditions.push_back(std::move(condition));
    stored.conditions.push_back({row.Int(5), row.Int(6), row.Int(7)});
  }
  return Status::Ok();
}

Status LoadActions(Connection& connection, StoredRule& stored) {
  auto rows = connection.Query(
      "SELECT id, action_type, field_name, value, action_order, created_at, updated_at "
      "FROM rule_actions WHERE rule_id = ? AND user_id = ? ORDER BY action_order, id",
      {stored.rule.id, stored.user_id});
  if (!rows.ok()) return rows.status();
  for (const store::Row& row : rows.value()) {
    Action action;
    action.id = row.Int(0);
    std::optional<ActionType> type = ParseActionType(row.Text(1));
    if (!type) return Corrupt("action type " + row.Text(1));
    action.type = *type;
    action.field_name = row.Text(2);
    action.value = row.Text(3);
    stored.rule.actions.push_back(std::move(action));
    stored.actions.push_back({row.Int(4), row.Int(5), row.Int(6)});
  }
  return Status::Ok();
}

// Attachments to bank accounts that were deleted are left out; other kinds have no table yet.
Status LoadAttachments(Connection& connection, StoredRule& stored) {
  auto rows = connection.Query(
      "SELECT t.target_kind, t.target_id, t.position FROM rule_attachments t "
      "WHERE t.rule_id = ? AND t.user_id = ? AND (t.target_kind <> 'BANK_ACCOUNT' OR EXISTS "
      "(SELECT 1 FROM bank_accounts a WHERE a.id = t.target_id AND a.user_id = t.user_id)) "
      "ORDER BY t.target_kind, t.target_id",
      {stored.rule.id, stored.user_id});
  if (!rows.ok()) return rows.status();
  for (const store::Row& row : rows.value()) {
    std::optional<TargetKind> kind = ParseTargetKind(row.Text(0));
    if (!kind) return Corrupt("attachment kind " + row.Text(0));
    stored.attachments.push_back({*kind, row.Int(1), row.Int(2)});
  }
  return Status::Ok();
}

Status LoadParts(Connection& connection, StoredRule& stored) {
  Status status = LoadConditions(connection, stored);
  if (status.ok()) status = LoadActions(connection, stored);
  if (status.ok()) status = LoadAttachments(connection, stored);
  return status;
}

RuleLog LogFromRow(const store::Row& row) {
  RuleLog log;
  log.id = row.Int(0);
  log.user_id = row.Int(1);
  log.rule_id = row.Int(2);
  log.action_id = row.Int(3);
  log.bank_transaction_id = row.Int(4);
  log.bank_account_id = row.Int(5);
  log.field = row.Text(6);
  log.previous_value = row.Text(7);
  log.new_value = row.Text(8);
  log.success = row.Int(9) != 0;
  log.message = row.Text(10);
  log.executed_at_ms = row.Int(11);
  log.undone_at_ms = row.OptionalInt(12);
  log.undo_of_log_id = row.OptionalInt(13);
  return log;
}

constexpr std::string_view kLogColumns =
    "id, user_id, rule_id, rule_action_id, bank_transaction_id, bank_account_id, field, "
    "previous_value, new_value, success, message, executed_at, undone_at, undo_of_rule_log_id";

AccountRecord AccountFromRow(const store::Row& row) {
  AccountRecord account;
  account.id = row.Int(0);
  account.bank_connection_id = row.Int(1);
  std::optional<std::string> display_name = row.OptionalText(2);
  account.name = display_name && !display_name->empty() ? *display_name : row.Text(3);
  account.iban = row.Text(4);
  account.currency = row.Text(5);
  return account;
}

constexpr std::string_view kAccountColumns =
    "id, bank_connection_id, display_name, name, iban, currency";

}  // namespace

std::string_view TargetKindName(TargetKind kind) {
  for (const auto& [value, name] : kTargetKindNames) {
    if (value == kind) return name;
  }
  return "";
}

std::optional<TargetKind> ParseTargetKind(std::string_view name) {
  for (const auto& [value, spelling] : kTargetKindNames) {
    if (spelling == name) return value;
  }
  return std::nullopt;
}

std::optional<TargetKind> ParseDestinationKind(std::string_view type) {
  std::optional<TargetKind> kind = ParseTargetKind(type);
  if (!kind || *kind == TargetKind::kBankAccount || *kind == TargetKind::kTransferLink) {
    return std::nullopt;
  }
  return kind;
}

namespace rule_store {

Result<int64_t> InsertRule(Connection& connection, int64_t user_id, const Rule& rule,
                           std::span<const int64_t> action_orders, int64_t now_ms) {
  auto inserted = connection.Query(
      "INSERT INTO rules (user_id, type, name, description, enabled, trigger_on_any_condition, "
      "skip_other_rules_when_triggered, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
      "?) RETURNING id",
      {user_id, std::string(RuleTypeName(rule.type)), rule.name, rule.description,
       Flag(rule.enabled), Flag(rule.trigger_on_any_condition),
       Flag(rule.skip_other_rules_when_triggered), now_ms, now_ms});
  if (!inserted.ok()) return inserted.error();
  const int64_t rule_id = inserted.value().at(0).Int(0);
  Status status = ReplaceConditions(connection, user_id, rule_id, rule.conditions, now_ms);
  if (status.ok()) {
    status = ReplaceActions(connection, user_id, rule_id, rule.actions, action_orders, now_ms);
  }
  if (!status.ok()) return status.error();
  return rule_id;
}

Status UpdateRuleFields(Connection& connection, int64_t user_id, const Rule& rule, int64_t now_ms) {
  return connection
      .Execute(
          "UPDATE rules SET name = ?, description = ?, enabled = ?, trigger_on_any_condition = ?, "
          "skip_other_rules_when_triggered = ?, updated_at = ? WHERE id = ? AND user_id = ?",
          {rule.name, rule.description, Flag(rule.enabled), Flag(rule.trigger_on_any_condition),
           Flag(rule.skip_other_rules_when_triggered), now_ms, rule.id, user_id})
      .status();
}

Status ReplaceConditions(Connection& connection, int64_t user_id, int64_t rule_id,
                         const std::vector<Condition>& conditions, int64_t now_ms) {
  auto deleted = connection.Execute("DELETE FROM rule_conditions WHERE rule_id = ? AND user_id = ?",
                                    {rule_id, user_id});
  if (!deleted.ok()) return deleted.status();
  for (size_t index = 0; index < conditions.size(); ++index) {
    auto inserted = InsertCondition(connection, user_id, rule_id, conditions[index],
                                    static_cast<int64_t>(index), now_ms);
    if (!inserted.ok()) return inserted.status();
  }
  return Status::Ok();
}

Status ReplaceActions(Connection& connection, int64_t user_id, int64_t rule_id,
                      const std::vector<Action>& actions, std::span<const int64_t> action_orders,
                      int64_t now_ms) {
  assert(actions.size() == action_orders.size());
  auto deleted = connection.Execute("DELETE FROM rule_actions WHERE rule_id = ? AND user_id = ?",
                                    {rule_id, user_id});
  if (!deleted.ok()) return deleted.status();
  for (size_t index = 0; index < actions.size(); ++index) {
    auto inserted =
        InsertAction(connection, user_id, rule_id, actions[index], action_orders[index], now_ms);
    if (!inserted.ok()) return inserted.status();
  }
  return Status::Ok();
}

Result<std::optional<StoredRule>> LoadRule(Connection& connection, int64_t user_id,
                                           int64_t rule_id) {
  auto rows = connection.Query(
      "SELECT " + std::string(kRuleColumns) + " FROM rules WHERE id = ? AND user_id = ?",
      {rule_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<StoredRule>();
  Result<StoredRule> stored = RuleFromRow(rows.value()[0]);
  if (!stored.ok()) return stored.error();
  Status parts = LoadParts(connection, stored.value());
  if (!parts.ok()) return parts.error();
  return std::optional<StoredRule>(std::move(stored.value()));
}

Result<std::vector<StoredRule>> ListRules(Connection& connection, int64_t user_id,
                                          const RuleFilter& filter, int64_t& total) {
  std::string where = " FROM rules r WHERE r.user_id = ?";
  std::vector<store::Value> params{user_id};
  if (filter.type) {
    where += " AND r.type = ?";
    params.emplace_back(std::string(RuleTypeName(*filter.type)));
  }
  if (filter.enabled) {
    where += " AND r.enabled = ?";
    params.emplace_back(Flag(*filter.enabled));
  }
  if (filter.bank_account_id) {
    where +=
        " AND EXISTS (SELECT 1 FROM rule_attachments t WHERE t.rule_id = r.id AND "
        "t.target_kind = 'BANK_ACCOUNT' AND t.target_id = ?)";
    params.emplace_back(*filter.bank_account_id);
  }
  auto count = connection.Query("SELECT COUNT(*)" + where, params);
  if (!count.ok()) return count.error();
  total = count.value().at(0).Int(0);
  params.emplace_back(filter.page_size);
  params.emplace_back((filter.page_number - 1) * filter.page_size);
  auto rows = connection.Query("SELECT r.id" + where + " ORDER BY r.id LIMIT ? OFFSET ?", params);
  if (!rows.ok()) return rows.error();
  std::vector<StoredRule> rules;
  for (const store::Row& row : rows.value()) {
    auto rule = LoadRule(connection, user_id, row.Int(0));
    if (!rule.ok()) return rule.error();
    if (rule.value()) rules.push_back(std::move(*rule.value()));
  }
  return rules;
}

Result<bool> DeleteRule(Connection& connection, int64_t user_id, int64_t rule_id, int64_t now_ms) {
  // Attachments, conditions and actions go by ON DELETE CASCADE. Positions of the targets the
  // rule was attached to are closed up so they stay dense.
  auto targets = connection.Query(
      "SELECT target_kind, target_id FROM rule_attachments WHERE rule_id = ? AND user_id = ?",
      {rule_id, user_id});
  if (!targets.ok()) return targets.error();
  auto deleted =
      connection.Execute("DELETE FROM rules WHERE id = ? AND user_id = ?", {rule_id, user_id});
  if (!deleted.ok()) return deleted.error();
  for (const store::Row& row : targets.value()) {
    std::optional<TargetKind> kind = ParseTargetKind(row.Text(0));
    if (!kind) return Corrupt("attachment kind " + row.Text(0));
    auto remaining = TargetRuleIds(connection, user_id, *kind, row.Int(1));
    if (!remaining.ok()) return remaining.error();
    Status rewritten =
        SetTargetRuleIds(connection, user_id, *kind, row.Int(1), remaining.value(), now_ms);
    if (!rewritten.ok()) return rewritten.error();
  }
  return deleted.value() > 0;
}

Result<std::optional<int64_t>> FindConditionRule(Connection& connection, int64_t user_id,
                                                 int64_t condition_id) {
  auto rows = connection.Query("SELECT rule_id FROM rule_conditions WHERE id = ? AND user_id = ?",
                               {condition_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.value()[0].Int(0));
}

Result<std::optional<int64_t>> FindActionRule(Connection& connection, int64_t user_id,
                                              int64_t action_id) {
  auto rows = connection.Query("SELECT rule_id FROM rule_actions WHERE id = ? AND user_id = ?",
                               {action_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.value()[0].Int(0));
}

Result<int64_t> InsertCondition(Connection& connection, int64_t user_id, int64_t rule_id,
                                const Condition& condition, int64_t position, int64_t now_ms) {
  auto inserted = connection.Query(
      "INSERT INTO rule_conditions (user_id, rule_id, position, field_name, operator, value, "
      "case_sensitive, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {user_id, rule_id, position, condition.field_name,
       std::string(OperatorName(condition.operation)), condition.value,
       Flag(condition.case_sensitive), now_ms, now_ms});
  if (!inserted.ok()) return inserted.error();
  return inserted.value().at(0).Int(0);
}

Status UpdateCondition(Connection& connection, int64_t user_id, const Condition& condition,
                       int64_t now_ms) {
  return connection
      .Execute(
          "UPDATE rule_conditions SET field_name = ?, operator = ?, value = ?, case_sensitive = ?, "
          "updated_at = ? WHERE id = ? AND user_id = ?",
          {condition.field_name, std::string(OperatorName(condition.operation)), condition.value,
           Flag(condition.case_sensitive), now_ms, condition.id, user_id})
      .status();
}

Status DeleteCondition(Connection& connection, int64_t user_id, int64_t condition_id) {
  return connection
      .Execute("DELETE FROM rule_conditions WHERE id = ? AND user_id = ?", {condition_id, user_id})
      .status();
}

Result<int64_t> InsertAction(Connection& connection, int64_t user_id, int64_t rule_id,
                             const Action& action, int64_t order, int64_t now_ms) {
  auto inserted = connection.Query(
      "INSERT INTO rule_actions (user_id, rule_id, action_order, action_type, field_name, value, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {user_id, rule_id, order, std::string(ActionTypeName(action.type)), action.field_name,
       action.value, now_ms, now_ms});
  if (!inserted.ok()) return inserted.error();
  return inserted.value().at(0).Int(0);
}

Status UpdateAction(Connection& connection, int64_t user_id, const Action& action, int64_t order,
                    int64_t now_ms) {
  return connection
      .Execute(
          "UPDATE rule_actions SET action_order = ?, action_type = ?, field_name = ?, value = ?, "
          "updated_at = ? WHERE id = ? AND user_id = ?",
          {order, std::string(ActionTypeName(action.type)), action.field_name, action.value, now_ms,
           action.id, user_id})
      .status();
}

Status DeleteAction(Connection& connection, int64_t user_id, int64_t action_id) {
  return connection
      .Execute("DELETE FROM rule_actions WHERE id = ? AND user_id = ?", {action_id, user_id})
      .status();
}

namespace {

Result<std::vector<int64_t>> ListIds(Connection& connection, std::string_view table,
                                     int64_t user_id, std::optional<int64_t> rule_id, int64_t limit,
                                     int64_t offset) {
  std::string sql = "SELECT id FROM " + std::string(table) + " WHERE user_id = ?";
  std::vector<store::Value> params{user_id};
  if (rule_id) {
    sql += " AND rule_id = ?";
    params.emplace_back(*rule_id);
  }
  sql += " ORDER BY id LIMIT ? OFFSET ?";
  params.emplace_back(limit);
  params.emplace_back(offset);
  auto rows = connection.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<int64_t> ids;
  for (const store::Row& row : rows.value()) ids.push_back(row.Int(0));
  return ids;
}

}  // namespace

Result<std::vector<int64_t>> ListConditionIds(Connection& connection, int64_t user_id,
                                              std::optional<int64_t> rule_id, int64_t limit,
                                              int64_t offset) {
  return ListIds(connection, "rule_conditions", user_id, rule_id, limit, offset);
}

Result<std::vector<int64_t>> ListActionIds(Connection& connection, int64_t user_id,
                                           std::optional<int64_t> rule_id, int64_t limit,
                                           int64_t offset) {
  return ListIds(connection, "rule_actions", user_id, rule_id, limit, offset);
}

Status TouchRule(Connection& connection, int64_t user_id, int64_t rule_id, int64_t now_ms) {
  return connection
      .Execute("UPDATE rules SET updated_at = ? WHERE id = ? AND user_id = ?",
               {now_ms, rule_id, user_id})
      .status();
}

Result<std::vector<int64_t>> TargetRuleIds(Connection& connection, int64_t user_id, TargetKind kind,
                                           int64_t target_id) {
  auto rows = connection.Query(
      "SELECT rule_id FROM rule_attachments WHERE user_id = ? AND target_kind = ? AND "
      "target_id = ? ORDER BY position, rule_id",
      {user_id, std::string(TargetKindName(kind)), target_id});
  if (!rows.ok()) return rows.error();
  std::vector<int64_t> ids;
  for (const store::Row& row : rows.value()) ids.push_back(row.Int(0));
  return ids;
}

Status SetTargetRuleIds(Connection& connection, int64_t user_id, TargetKind kind, int64_t target_id,
                        std::span<const int64_t> rule_ids, int64_t now_ms) {
  const std::string kind_name(TargetKindName(kind));
  auto deleted = connection.Execute(
      "DELETE FROM rule_attachments WHERE user_id = ? AND target_kind = ? AND target_id = ?",
      {user_id, kind_name, target_id});
  if (!deleted.ok()) return deleted.status();
  for (size_t position = 0; position < rule_ids.size(); ++position) {
    auto inserted = connection.Execute(
        "INSERT INTO rule_attachments (user_id, rule_id, target_kind, target_id, position, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        {user_id, rule_ids[position], kind_name, target_id, static_cast<int64_t>(position),
         now_ms});
    if (!inserted.ok()) return inserted.status();
  }
  return Status::Ok();
}

Result<std::optional<AccountRecord>> LoadAccount(Connection& connection, int64_t user_id,
                                                 int64_t account_id) {
  auto rows = connection.Query(
      "SELECT " + std::string(kAccountColumns) + " FROM bank_accounts WHERE id = ? AND user_id = ?",
      {account_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(AccountFromRow(rows.value()[0]));
}

Result<std::vector<AccountRecord>> LoadAccounts(Connection& connection, int64_t user_id) {
  auto rows = connection.Query("SELECT " + std::string(kAccountColumns) +
                                   " FROM bank_accounts WHERE user_id = ? ORDER BY id",
                               {user_id});
  if (!rows.ok()) return rows.error();
  std::vector<AccountRecord> accounts;
  for (const store::Row& row : rows.value()) accounts.push_back(AccountFromRow(row));
  return accounts;
}

Result<std::optional<std::vector<int64_t>>> ConnectionAccountIds(Connection& connection,
                                                                 int64_t user_id,
                                                                 int64_t connection_id) {
  using Ids = std::optional<std::vector<int64_t>>;
  auto found = connection.Query("SELECT 1 FROM bank_connections WHERE id = ? AND user_id = ?",
                                {connection_id, user_id});
  if (!found.ok()) return found.error();
  if (found.value().empty()) return Ids();
  auto rows = connection.Query(
      "SELECT id FROM bank_accounts WHERE bank_connection_id = ? AND user_id = ? ORDER BY id",
      {connection_id, user_id});
  if (!rows.ok()) return rows.error();
  std::vector<int64_t> ids;
  for (const store::Row& row : rows.value()) ids.push_back(row.Int(0));
  return Ids(std::move(ids));
}

Result<std::vector<domain::BankTransaction>> LoadTransactions(Connection& connection,
                                                              int64_t user_id, int64_t account_id,
                                                              int64_t after_id, int64_t limit) {
  auto rows = connection.Query("SELECT " + std::string(ingest::kTransactionColumns) +
                                   " FROM bank_transactions WHERE user_id = ? AND "
                                   "bank_account_id = ? AND id > ? ORDER BY id LIMIT ?",
                               {user_id, account_id, after_id, limit});
  if (!rows.ok()) return rows.error();
  std::vector<domain::BankTransaction> transactions;
  transactions.reserve(rows.value().size());
  for (const store::Row& row : rows.value()) {
    transactions.push_back(ingest::TransactionFromRow(row));
  }
  return transactions;
}

Result<std::optional<domain::BankTransaction>> LoadTransaction(Connection& connection,
                                                               int64_t user_id,
                                                               int64_t transaction_id) {
  using Found = std::optional<domain::BankTransaction>;
  auto rows = connection.Query("SELECT " + std::string(ingest::kTransactionColumns) +
                                   " FROM bank_transactions WHERE id = ? AND user_id = ?",
                               {transaction_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return Found();
  return Found(ingest::TransactionFromRow(rows.value()[0]));
}

Status StoreGeneratedFields(Connection& connection, const domain::BankTransaction& transaction,
                            int64_t now_ms) {
  // generated_date is NOT NULL: a transaction without a generated date keeps the stored one.
  store::Value date = transaction.generated.date
                          ? store::Value(domain::FormatDate(*transaction.generated.date))
                          : store::Null();
  auto updated = connection.Execute(
      "UPDATE bank_transactions SET generated_payee = ?, generated_description = ?, "
      "generated_date = COALESCE(?, generated_date), updated_at = ? WHERE id = ? AND user_id = ?",
      {transaction.generated.payee, transaction.generated.description, date, now_ms, transaction.id,
       transaction.user_id});
  if (!updated.ok()) return updated.status();
  return connection
      .Execute(
          "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, kind, "
          "created_at) VALUES (?, ?, ?, 'modified', ?)",
          {transaction.user_id, transaction.id, transaction.bank_account_id, now_ms})
      .status();
}

Result<int64_t> InsertLog(Connection& connection, const RuleLog& log) {
  auto inserted = connection.Query(
      "INSERT INTO rule_logs (user_id, rule_id, rule_action_id, bank_transaction_id, "
      "bank_account_id, field, previous_value, new_value, success, message, executed_at, "
      "undone_at, undo_of_rule_log_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "RETURNING id",
      {log.user_id, log.rule_id, log.action_id, log.bank_transaction_id, log.bank_account_id,
       log.field, log.previous_value, log.new_value, Flag(log.success), log.message,
       log.executed_at_ms, store::OptionalInt(log.undone_at_ms),
       store::OptionalInt(log.undo_of_log_id)});
  if (!inserted.ok()) return inserted.error();
  return inserted.value().at(0).Int(0);
}

Result<std::optional<RuleLog>> LoadLog(Connection& connection, int64_t user_id, int64_t log_id) {
  auto rows = connection.Query(
      "SELECT " + std::string(kLogColumns) + " FROM rule_logs WHERE id = ? AND user_id = ?",
      {log_id, user_id});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<RuleLog>();
  return std::optional<RuleLog>(LogFromRow(rows.value()[0]));
}

Result<std::vector<RuleLog>> ListLogs(Connection& connection, int64_t user_id,
                                      const RuleLogFilter& filter) {
  std::string sql = "SELECT " + std::string(kLogColumns) + " FROM rule_logs WHERE user_id = ?";
  std::vector<store::Value> params{user_id};
  if (filter.rule_id) {
    sql += " AND rule_id = ?";
    params.emplace_back(*filter.rule_id);
  }
  if (filter.bank_transaction_id) {
    sql += " AND bank_transaction_id = ?";
    params.emplace_back(*filter.bank_transaction_id);
  }
  if (filter.success) {
    sql += " AND success = ?";
    params.emplace_back(Flag(*filter.success));
  }
  if (filter.before_id) {
    sql += " AND id < ?";
    params.emplace_back(*filter.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(filter.limit);
  auto rows = connection.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<RuleLog> logs;
  for (const store::Row& row : rows.value()) logs.push_back(LogFromRow(row));
  return logs;
}

Status MarkLogUndone(Connection& connection, int64_t user_id, int64_t log_id, int64_t now_ms) {
  return connection
      .Execute("UPDATE rule_logs SET undone_at = ? WHERE id = ? AND user_id = ?",
               {now_ms, log_id, user_id})
      .status();
}

}  // namespace rule_store
}  // namespace finsync::rules
