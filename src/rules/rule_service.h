// The rules' business functions, with no HTTP: create, read, update and delete rules and their
// conditions and actions (every change is validated by compiling the whole rule before it is
// stored), attach rules to targets in order, plan limits, rule logs and undo, preview and apply
// over stored transactions; and BankRuleStage, which runs the BANK rules attached to a bank
// account inside ingest.
//
// Errors: kNotFound (no such object for this user), kValidationFailed with field errors keyed
// like the request body ("conditions.0.field_name", "bank_accounts.0.id"), kPlanLimitReached
// (a limit of RuleLimits, named in the message), kConflict (an undo that cannot be made).
// Thread-safe: state lives in the store; the compiled-rule cache is guarded by a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "ingest/ingest.h"
#include "rules/compiler.h"
#include "rules/evaluator.h"
#include "rules/rule.h"
#include "rules/rule_store.h"
#include "store/database.h"

namespace finsync::rules {

// Per-user plan limits. The engine's own bounds (rule.h) are far higher.
struct RuleLimits {
  int64_t conditions_per_rule_max = 5;
  int64_t actions_per_rule_max = 5;
  int64_t rules_per_target_max = 10;
};

// One entry of a body's bank_accounts, transfer_links, destinations or banks list. For banks
// `id` is a bank connection: the rule is attached to each of its accounts.
struct TargetRequest {
  TargetKind kind = TargetKind::kBankAccount;
  int64_t id = 0;
  std::optional<int64_t> order;  // Position in the target's list; default: last.
};

// nullopt: leave that kind of attachment as it is (update) or attach nothing (create).
struct AttachmentRequests {
  std::optional<std::vector<TargetRequest>> bank_accounts;
  std::optional<std::vector<TargetRequest>> transfer_links;
  std::optional<std::vector<TargetRequest>> destinations;
  std::optional<std::vector<TargetRequest>> banks;
};

struct NewRule {
  Rule rule;                           // Conditions and actions in request order.
  std::vector<int64_t> action_orders;  // Parallel to rule.actions.
  AttachmentRequests attachments;
};

struct RuleUpdate {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<bool> enabled;
  std::optional<bool> trigger_on_any_condition;
  std::optional<bool> skip_other_rules_when_triggered;
  std::optional<RuleType> type;  // Must equal the stored type: a type never changes.
  std::optional<std::vector<Condition>> conditions;  // Replaces all conditions.
  std::optional<std::vector<Action>> actions;        // Replaces all actions.
  std::vector<int64_t> action_orders;                // Parallel to *actions.
  AttachmentRequests attachments;
};

struct ConditionPatch {
  std::optional<std::string> field_name;
  std::optional<Operator> operation;
  std::optional<std::string> value;
  std::optional<bool> case_sensitive;
};

struct ActionPatch {
  std::optional<ActionType> type;
  std::optional<std::string> field_name;
  std::optional<std::string> value;
  std::optional<int64_t> order;
};

struct ConditionResource {
  Condition condition;
  int64_t rule_id = 0;
  RuleType rule_type = RuleType::kBank;
  ItemRecord record;
};

struct ActionResource {
  Action action;
  int64_t rule_id = 0;
  RuleType rule_type = RuleType::kBank;
  ItemRecord record;
};

struct Page {
  int64_t number = 1;
  int64_t size = 25;
};

// What a rule would change on stored transactions: entries shaped like rule logs (id 0).
struct Preview {
  std::vector<RuleLog> changes;
  int64_t transactions_scanned = 0;
  bool truncated = false;  // The limit of changes or of scanned transactions was reached.
};

struct ApplyReport {
  int64_t transactions_scanned = 0;
  int64_t transactions_changed = 0;
  int64_t logs_written = 0;
};

// The compiled BANK rules of one bank account, shared by concurrent evaluations.
using SharedRuleSet = std::shared_ptr<const CompiledRuleSet>;

class RuleService {
 public:
  // Batches of stored transactions for apply and preview: one Write (or Read) each.
  static constexpr int64_t kBatchSize = 1000;
  static constexpr int64_t kPreviewLimitMax = 1000;
  static constexpr int64_t kPreviewScanMax = 100'000;  // Transactions, over all accounts.

  RuleService(store::Database& database, const Clock& clock, RuleLimits limits);

  Result<StoredRule> CreateRule(int64_t user_id, const NewRule& request);
  Result<StoredRule> GetRule(int64_t user_id, int64_t rule_id);
  Result<std::vector<StoredRule>> ListRules(int64_t user_id, const RuleFilter& filter,
                                            int64_t& total);
  Result<StoredRule> UpdateRule(int64_t user_id, int64_t rule_id, const RuleUpdate& update);
  Status DeleteRule(int64_t user_id, int64_t rule_id);

  // Conditions and actions as resources; each change validates the whole rule. Field errors
  // of the changed item are keyed by its own fields ("value"), others as in ValidateRule.
  Result<ConditionResource> CreateCondition(int64_t user_id, int64_t rule_id,
                                            const ConditionPatch& fields);
  Result<ConditionResource> GetCondition(int64_t user_id, int64_t condition_id);
  Result<std::vector<ConditionResource>> ListConditions(int64_t user_id,
                                                        std::optional<int64_t> rule_id, Page page);
  Result<ConditionResource> UpdateCondition(int64_t user_id, int64_t condition_id,
                                            const ConditionPatch& patch);
  Status DeleteCondition(int64_t user_id, int64_t condition_id);
  Result<ActionResource> CreateAction(int64_t user_id, int64_t rule_id, const ActionPatch& fields);
  Result<ActionResource> GetAction(int64_t user_id, int64_t action_id);
  Result<std::vector<ActionResource>> ListActions(int64_t user_id, std::optional<int64_t> rule_id,
                                                  Page page);
  Result<ActionResource> UpdateAction(int64_t user_id, int64_t action_id, const ActionPatch& patch);
  Status DeleteAction(int64_t user_id, int64_t action_id);

  // Attachments; each answers the target's rule ids in evaluation order. Attach moves an
  // attached rule to `order` when given. Reorder takes exactly the attached set.
  Result<std::vector<int64_t>> Attach(int64_t user_id, TargetKind kind, int64_t target_id,
                                      int64_t rule_id, std::optional<int64_t> order);
  Result<std::vector<int64_t>> Detach(int64_t user_id, TargetKind kind, int64_t target_id,
                                      int64_t rule_id);
  Result<std::vector<int64_t>> Reorder(int64_t user_id, TargetKind kind, int64_t target_id,
                                       const std::vector<int64_t>& rule_ids);
  // rules.attachToBank / detachFromBank: every account of the bank connection.
  Result<StoredRule> AttachToBank(int64_t user_id, int64_t rule_id, int64_t connection_id);
  Result<StoredRule> DetachFromBank(int64_t user_id, int64_t rule_id, int64_t connection_id);

  Result<std::vector<RuleLog>> ListLogs(int64_t user_id, const RuleLogFilter& filter);
  Result<RuleLog> GetLog(int64_t user_id, int64_t log_id);
  // Restores the previous value when the field still holds the log's new value; the undo is
  // logged as its own entry (returned) and the original is marked undone. kConflict when the
  // field changed since, the entry was undone already, records a failure or an undo.
  Result<RuleLog> Undo(int64_t user_id, int64_t log_id);

  // What the rule would change (enabled or not) on the stored transactions of one account,
  // else of the accounts it is attached to, else of all the user's accounts. Writes nothing.
  Result<Preview> PreviewRule(int64_t user_id, int64_t rule_id,
                              std::optional<int64_t> bank_account_id, int64_t limit);
  // Runs the account's attached BANK rules over its stored transactions now, one Write per
  // batch: changed transactions are stored with a "modified" change-feed row, and a rule log
  // is written for every action that changed a value or failed.
  Result<ApplyReport> ApplyAccountRules(int64_t user_id, int64_t account_id);

  // The compiled BANK rules attached to the account (cached until any rule changes) and the
  // account's current name, IBAN and currency.
  Result<SharedRuleSet> AccountRules(int64_t user_id, int64_t account_id);
  // The compiled rules of `type` attached to a transfer link or a destination (cached like
  // AccountRules). Rules of another type attached there are left out.
  Result<SharedRuleSet> TargetRules(int64_t user_id, TargetKind kind, int64_t target_id,
                                    RuleType type);
  // Delivery: runs `rule_sets` in order over the outgoing copies of `transactions` (one bank
  // account's), appending one entry per action attempted to `log`.
  static void RunDestinationRules(const AccountRecord& account,
                                  std::span<const SharedRuleSet> rule_sets,
                                  std::span<const domain::BankTransaction> transactions,
                                  std::span<OutgoingTransaction> outgoing,
                                  std::vector<RuleLogEntry>& log);
  // Writes a rule log, with `connection` (inside the caller's Write), for every entry of `log`
  // that changed a value or failed and whose transaction index has record[index] set. Returns
  // the number written.
  Result<int64_t> RecordRuleLogs(store::Connection& connection, int64_t user_id, int64_t account_id,
                                 std::span<const domain::BankTransaction> transactions,
                                 std::span<const RuleLogEntry> log,
                                 const std::vector<bool>& record);
  Result<std::optional<AccountRecord>> LoadAccount(int64_t user_id, int64_t account_id);

  const RuleLimits& limits() const { return limits_; }

 private:
  Result<StoredRule> LoadExisting(store::Connection& connection, int64_t user_id, int64_t rule_id);
  Status ApplyBatch(store::Connection& connection, int64_t user_id, const CompiledRuleSet& rules,
                    const AccountRecord& account, int64_t& after_id, ApplyReport& report,
                    bool& done);
  void Invalidate();

  store::Database& database_;
  const Clock& clock_;
  RuleLimits limits_;

  std::mutex cache_mutex_;
  // By (user id, target kind, target id, rule type). Guarded.
  std::map<std::tuple<int64_t, int, int64_t, int>, SharedRuleSet> cache_;
  uint64_t cache_generation_ = 0;  // Bumped by every change. Guarded.
};

// Runs the BANK rules attached to each bank account over the transactions ingest is about to
// store, and writes one rule log per action attempted in the same database transaction.
class BankRuleStage final : public ingest::RuleStage {
 public:
  explicit BankRuleStage(RuleService& service, const Clock& clock)
      : service_(service), clock_(clock) {}

  void Apply(const ingest::AccountConfig& account,
             std::span<domain::BankTransaction*> changed) override;
  Status Record(store::Connection& connection,
                std::span<domain::BankTransaction* const> stored) override;

 private:
  struct PendingLog {
    domain::BankTransaction* transaction = nullptr;  // Its id is known once stored.
    RuleLogEntry entry;
  };

  RuleService& service_;
  const Clock& clock_;
  // Apply and Record of one ingest run on the same thread inside one Write; entries wait here
  // between the two, keyed by that thread so concurrent writers never mix them up.
  std::mutex pending_mutex_;
  std::map<std::thread::id, std::vector<PendingLog>> pending_;  // Guarded.
};

// ApplyBankRules plus one guard: the stored generated date may not become empty, so a rule
// that clears it is undone on the spot and its log entry turned into a failure.
void RunBankRules(const CompiledRuleSet& rules, const AccountContext& account,
                  std::span<domain::BankTransaction> transactions, std::vector<RuleLogEntry>& log);

}  // namespace finsync::rules
