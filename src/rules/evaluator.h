// Runs a compiled rule set over transactions, in memory, with no I/O.
//
// Semantics: rules run in the set's order; a rule fires when all its conditions hold, or any
// of them with trigger_on_any_condition, and always when it has none. A firing rule runs its
// actions in order; a failed action is logged and the next action still runs. A firing rule
// with skip_other_rules_when_triggered stops the rules after it for that transaction. BANK
// rules change the transaction in place, so later conditions see earlier rules' changes.
// Destination rules read the bank transaction and change only the outgoing copy.
//
// Cost: a rule whose conditions do not hold reads fields in place and allocates nothing;
// memory is allocated only for the log entries and values of actions that run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/transaction.h"
#include "rules/compiler.h"
#include "rules/field_path.h"
#include "rules/target_field.h"

namespace finsync::rules {

// One per action attempted. The caller adds executed_at and stores it.
struct RuleLogEntry {
  int64_t rule_id = 0;
  int64_t action_id = 0;
  size_t transaction_index = 0;  // Position in the evaluated batch.
  int64_t transaction_id = 0;    // BankTransaction::id; 0 while not yet stored (ingest).
  // The action's field_name, or "skip_transfer". Always static storage (the names in
  // target_field.cc), so it never dangles, and logging an action copies no field name.
  std::string_view field;
  std::string previous_value;  // As target_field.h's ReadTarget shows it.
  // On success the value now stored (normalised, as ReadTarget shows it); on failure the value
  // that was refused, or "" when the template itself failed.
  std::string new_value;
  bool success = false;
  std::string message;  // Why the action failed; "" on success.
};

struct EvaluationSummary {
  uint64_t rules_fired = 0;
  uint64_t actions_succeeded = 0;
  uint64_t actions_failed = 0;
};

// BANK rules over a batch of one account's transactions, changed in place. Requires a set of
// BANK rules (or an empty set). Appends to `log`.
EvaluationSummary ApplyBankRules(const CompiledRuleSet& rules, const AccountContext& account,
                                 std::span<domain::BankTransaction> transactions,
                                 std::vector<RuleLogEntry>& log);

// Destination rules over a batch: outgoing[i] is the copy of transactions[i] (see
// MakeOutgoingTransaction) and is the only thing changed. Requires equal sizes and a set whose
// type matches every outgoing copy's destination (or an empty set). Appends to `log`.
EvaluationSummary ApplyDestinationRules(const CompiledRuleSet& rules, const AccountContext& account,
                                        std::span<const domain::BankTransaction> transactions,
                                        std::span<OutgoingTransaction> outgoing,
                                        std::vector<RuleLogEntry>& log);

// Undoes one successful BANK rule change: restores previous_value when the field still holds
// new_value. kConflict when the field has changed since (the message shows both values), when
// the entry records a failure, or when it is not a BANK field. The caller logs the undo.
Status UndoBankRuleChange(const RuleLogEntry& entry, domain::BankTransaction& transaction);

}  // namespace finsync::rules
