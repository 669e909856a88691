// SQL persistence of rules: rules with their conditions and actions, attachments to targets
// (bank accounts, transfer links, destinations) with dense positions, and rule logs. Plain
// functions over a store::Connection, so the service composes several of them inside one Read
// or Write and everything it changes commits together. Every query filters by user_id.
// No validation here: rule_service.h validates before anything is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/transaction.h"
#include "rules/rule.h"
#include "store/database.h"

namespace finsync::rules {

// What a rule can be attached to. Destinations carry their type in the kind, so one
// (kind, target_id) names one target.
enum class TargetKind : uint8_t { kBankAccount, kTransferLink, kYnab, kLunchMoney, kWebhook };

// Stored spellings: "BANK_ACCOUNT", "TRANSFER_LINK", "YNAB", "LUNCH_MONEY", "WEBHOOK".
std::string_view TargetKindName(TargetKind kind);
std::optional<TargetKind> ParseTargetKind(std::string_view name);
// The destination kind named by the API's destination "type" (YNAB, LUNCH_MONEY, WEBHOOK).
std::optional<TargetKind> ParseDestinationKind(std::string_view type);

struct Attachment {
  TargetKind kind = TargetKind::kBankAccount;
  int64_t target_id = 0;
  int64_t position = 0;  // 0-based, dense per target: the evaluation order.
};

// Bookkeeping of one condition or action beside the engine's model.
struct ItemRecord {
  int64_t order = 0;  // Actions: the user's "order"; conditions: their position.
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct StoredRule {
  Rule rule;  // Conditions by position; actions by (order, id), the order they run in.
  int64_t user_id = 0;
  std::vector<ItemRecord> conditions;   // Parallel to rule.conditions.
  std::vector<ItemRecord> actions;      // Parallel to rule.actions.
  std::vector<Attachment> attachments;  // Targets that still exist, by kind and target id.
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct RuleFilter {
  std::optional<RuleType> type;
  std::optional<bool> enabled;
  std::optional<int64_t> bank_account_id;  // Rules attached to this bank account.
  int64_t page_number = 1;                 // 1-based.
  int64_t page_size = 25;
};

struct RuleLog {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t rule_id = 0;
  int64_t action_id = 0;
  int64_t bank_transaction_id = 0;
  int64_t bank_account_id = 0;
  std::string field;
  std::string previous_value;
  std::string new_value;
  bool success = false;
  std::string message;
  int64_t executed_at_ms = 0;
  std::optional<int64_t> undone_at_ms;
  std::optional<int64_t> undo_of_log_id;  // Set on the entry that records an undo.
};

struct RuleLogFilter {
  std::optional<int64_t> rule_id;
  std::optional<int64_t> bank_transaction_id;
  std::optional<bool> success;
  std::optional<int64_t> before_id;  // Keyset cursor: newest first, ids below this one.
  int64_t limit = 50;
};

// What rules need to know about a bank account (AccountContext's owner) and its connection.
struct AccountRecord {
  int64_t id = 0;
  int64_t bank_connection_id = 0;
  std::string name;  // The user's display name when set, else the bank's name.
  std::string iban;
  std::string currency;
};

namespace rule_store {

using store::Connection;

// Rules. InsertRule stores the rule with its conditions (positions 0..n-1) and actions
// (action_orders[i] is the order of rule.actions[i]); returns the new id.
Result<int64_t> InsertRule(Connection& connection, int64_t user_id, const Rule& rule,
                           std::span<const int64_t> action_orders, int64_t now_ms);
Status UpdateRuleFields(Connection& connection, int64_t user_id, const Rule& rule, int64_t now_ms);
Status ReplaceConditions(Connection& connection, int64_t user_id, int64_t rule_id,
                         const std::vector<Condition>& conditions, int64_t now_ms);
Status ReplaceActions(Connection& connection, int64_t user_id, int64_t rule_id,
                      const std::vector<Action>& actions, std::span<const int64_t> action_orders,
                      int64_t now_ms);
Result<std::optional<StoredRule>> LoadRule(Connection& connection, int64_t user_id,
                                           int64_t rule_id);
// One page of rules by id, and the number of rules matching the filter.
Result<std::vector<StoredRule>> ListRules(Connection& connection, int64_t user_id,
                                          const RuleFilter& filter, int64_t& total);
// Deletes the rule with its conditions, actions and attachments; false when there is none.
// Rule logs stay: they are the history of what happened to transactions.
Result<bool> DeleteRule(Connection& connection, int64_t user_id, int64_t rule_id, int64_t now_ms);

// Single conditions and actions, for their own routes. Load* answer the owning rule's id.
Result<std::optional<int64_t>> FindConditionRule(Connection& connection, int64_t user_id,
                                                 int64_t condition_id);
Result<std::optional<int64_t>> FindActionRule(Connection& connection, int64_t user_id,
                                              int64_t action_id);
Result<int64_t> InsertCondition(Connection& connection, int64_t user_id, int64_t rule_id,
                                const Condition& condition, int64_t position, int64_t now_ms);
Status UpdateCondition(Connection& connection, int64_t user_id, const Condition& condition,
                       int64_t now_ms);
Status DeleteCondition(Connection& connection, int64_t user_id, int64_t condition_id);
Result<int64_t> InsertAction(Connection& connection, int64_t user_id, int64_t rule_id,
                             const Action& action, int64_t order, int64_t now_ms);
Status UpdateAction(Connection& connection, int64_t user_id, const Action& action, int64_t order,
                    int64_t now_ms);
Status DeleteAction(Connection& connection, int64_t user_id, int64_t action_id);
// Ids of the user's conditions or actions (optionally of one rule), by id, one page.
Result<std::vector<int64_t>> ListConditionIds(Connection& connection, int64_t user_id,
                                              std::optional<int64_t> rule_id, int64_t limit,
                                              int64_t offset);
Result<std::vector<int64_t>> ListActionIds(Connection& connection, int64_t user_id,
                                           std::optional<int64_t> rule_id, int64_t limit,
                                           int64_t offset);
// Marks the rule as changed now (its conditions or actions changed).
Status TouchRule(Connection& connection, int64_t user_id, int64_t rule_id, int64_t now_ms);

// Attachments. The rule ids attached to one target in evaluation order.
Result<std::vector<int64_t>> TargetRuleIds(Connection& connection, int64_t user_id, TargetKind kind,
                                           int64_t target_id);
// Replaces the target's attachments with `rule_ids` at positions 0..n-1.
Status SetTargetRuleIds(Connection& connection, int64_t user_id, TargetKind kind, int64_t target_id,
                        std::span<const int64_t> rule_ids, int64_t now_ms);

// Bank accounts and connections, read for attachment checks and rule evaluation.
Result<std::optional<AccountRecord>> LoadAccount(Connection& connection, int64_t user_id,
                                                 int64_t account_id);
Result<std::vector<AccountRecord>> LoadAccounts(Connection& connection, int64_t user_id);
// The connection's account ids; nullopt when the user has no such connection.
Result<std::optional<std::vector<int64_t>>> ConnectionAccountIds(Connection& connection,
                                                                 int64_t user_id,
                                                                 int64_t connection_id);

// Stored transactions of one account with id > after_id, by id, at most `limit`.
Result<std::vector<domain::BankTransaction>> LoadTransactions(Connection& connection,
                                                              int64_t user_id, int64_t account_id,
                                                              int64_t after_id, int64_t limit);
Result<std::optional<domain::BankTransaction>> LoadTransaction(Connection& connection,
                                                               int64_t user_id,
                                                               int64_t transaction_id);
// Writes the generated fields rules change and a "modified" change-feed row.
Status StoreGeneratedFields(Connection& connection, const domain::BankTransaction& transaction,
                            int64_t now_ms);

// Rule logs.
Result<int64_t> InsertLog(Connection& connection, const RuleLog& log);
Result<std::optional<RuleLog>> LoadLog(Connection& connection, int64_t user_id, int64_t log_id);
Result<std::vector<RuleLog>> ListLogs(Connection& connection, int64_t user_id,
                                      const RuleLogFilter& filter);
Status MarkLogUndone(Connection& connection, int64_t user_id, int64_t log_id, int64_t now_ms);

}  // namespace rule_store
}  // namespace finsync::rules
