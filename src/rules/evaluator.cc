#include "rules/evaluator.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace finsync::rules {
namespace {

// Aborts on a caller's programming error, in every build, with the broken contract named.
void Require(bool condition, const char* contract) {
  if (condition) return;
  std::fprintf(stderr, "rules evaluator contract violated: %s\n", contract);
  std::abort();
}

bool RuleFires(const CompiledRule& rule, const domain::BankTransaction& transaction,
               const AccountContext& account, int32_t exponent) {
  if (rule.conditions.empty()) return true;
  if (rule.trigger_on_any_condition) {
    for (const CompiledCondition& condition : rule.conditions) {
      if (condition.Matches(transaction, account, exponent)) return true;
    }
    return false;
  }
  for (const CompiledCondition& condition : rule.conditions) {
    if (!condition.Matches(transaction, account, exponent)) return false;
  }
  return true;
}

// Builds the entry in place at the end of the log: entries are large, and moving one in would
// copy every short string it holds.
RuleLogEntry& StartEntry(const CompiledRule& rule, const CompiledAction& action, size_t index,
                         const domain::BankTransaction& transaction,
                         std::vector<RuleLogEntry>& log) {
  RuleLogEntry& entry = log.emplace_back();
  entry.rule_id = rule.id;
  entry.action_id = action.id;
  entry.transaction_index = index;
  entry.transaction_id = transaction.id;
  entry.field = action.field_name;
  return entry;
}

// Renders the action's value and stores it in `target` (the transaction for BANK rules, the
// outgoing copy otherwise), logging the attempt either way.
template <typename Target>
void RunSetAction(const CompiledAction& action, const domain::BankTransaction& subject,
                  const AccountContext& account, Target& target, RuleLogEntry& entry) {
  Result<std::string> rendered = action.value->Render(subject, account);
  if (!rendered.ok()) {
    entry.previous_value = ReadTarget(action.target, target);
    entry.message = rendered.error().detail;
    return;
  }
  entry.message =
      ReplaceTarget(action.target, std::move(rendered.value()), target, entry.previous_value);
  entry.success = entry.message.empty();
  if (entry.success) {
    entry.new_value = ReadTarget(action.target, target);
  } else {
    entry.new_value = std::move(rendered.value());
  }
}

void RunSkipAction(OutgoingTransaction& outgoing, RuleLogEntry& entry) {
  entry.previous_value = outgoing.skip_transfer ? "true" : "false";
  outgoing.skip_transfer = true;
  entry.new_value = "true";
  entry.success = true;
}

// Runs every rule over one transaction; `target` is where set-actions write.
template <typename Target>
void EvaluateOne(const CompiledRuleSet& rules, const AccountContext& account,
                 const domain::BankTransaction& subject, Target& target, size_t index,
                 int32_t exponent, EvaluationSummary& summary, std::vector<RuleLogEntry>& log) {
  for (const CompiledRule& rule : rules.rules()) {
    if (!RuleFires(rule, subject, account, exponent)) continue;
    ++summary.rules_fired;
    for (const CompiledAction& action : rule.actions) {
      RuleLogEntry& entry = StartEntry(rule, action, index, subject, log);
      bool skip = false;
      if constexpr (std::is_same_v<Target, OutgoingTransaction>) {
        skip = action.type == ActionType::kSkipTransfer;
        if (skip) RunSkipAction(target, entry);
      }
      if (!skip) RunSetAction(action, subject, account, target, entry);
      ++(entry.success ? summary.actions_succeeded : summary.actions_failed);
    }
    if (rule.skip_other_rules_when_triggered) break;
  }
}

}  // namespace

EvaluationSummary ApplyBankRules(const CompiledRuleSet& rules, const AccountContext& account,
                                 std::span<domain::BankTransaction> transactions,
                                 std::vector<RuleLogEntry>& log) {
  Require(!rules.type() || *rules.type() == RuleType::kBank, "bank rules need a BANK rule set");
  EvaluationSummary summary;
  if (rules.rules().empty()) return summary;
  for (size_t index = 0; index < transactions.size(); ++index) {
    domain::BankTransaction& transaction = transactions[index];
    const int32_t exponent = rules.reads_amount() ? CurrencyExponent(transaction.currency) : -1;
    EvaluateOne(rules, account, transaction, transaction, index, exponent, summary, log);
  }
  return summary;
}

EvaluationSummary ApplyDestinationRules(const CompiledRuleSet& rules, const AccountContext& account,
                                        std::span<const domain::BankTransaction> transactions,
                                        std::span<OutgoingTransaction> outgoing,
                                        std::vector<RuleLogEntry>& log) {
  Require(transactions.size() == outgoing.size(), "one outgoing copy per transaction");
  EvaluationSummary summary;
  for (size_t index = 0; index < transactions.size(); ++index) {
    Require(!rules.type() || *rules.type() == RuleTypeOf(outgoing[index].destination),
            "the rule set's type matches the outgoing copy's destination");
    const domain::BankTransaction& transaction = transactions[index];
    const int32_t exponent = rules.reads_amount() ? CurrencyExponent(transaction.currency) : -1;
    EvaluateOne(rules, account, transaction, outgoing[index], index, exponent, summary, log);
  }
  return summary;
}

Status UndoBankRuleChange(const RuleLogEntry& entry, domain::BankTransaction& transaction) {
  const std::optional<TargetInfo> target = FindTargetField(RuleType::kBank, entry.field);
  if (!target) {
    return Error::Of(
        ErrorCode::kConflict,
        "'" + std::string(entry.field) + "' is not a bank transaction field a rule can change");
  }
  if (!entry.success) {
    return Error::Of(ErrorCode::kConflict, "the action failed, so there is nothing to undo");
  }
  const std::string current = ReadTarget(target->field, transaction);
  if (current != entry.new_value) {
    return Error::Of(ErrorCode::kConflict,
                     std::string(entry.field) + " has changed since the rule ran: it is '" +
                         current + "', the rule set '" + entry.new_value + "'");
  }
  const std::string problem = WriteTarget(target->field, entry.previous_value, transaction);
  Require(problem.empty(), "a previous value read from the field can be written back");
  return Status::Ok();
}

}  // namespace finsync::rules
