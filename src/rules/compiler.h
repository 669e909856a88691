// Validation and compilation of rules. The API calls ValidateRule when a rule is created or
// updated, so every invalid field path, operator, value, regex and template is refused with a
// 422 then, and never discovered while transactions flow. Compile turns an ordered list of
// rules (the order of one attachment target) into a CompiledRuleSet, once per change.
//
// Error keys name the offending element as the API reports it: "name", "description",
// "conditions", "actions", "conditions.N.field_name", "conditions.N.operator",
// "conditions.N.value", "actions.N.action_type", "actions.N.field_name", "actions.N.value"
// (N counts from 0 in the order given). Compile prefixes them with "rules.M." for the M-th rule.
// Every problem found is reported, not only the first.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rules/condition.h"
#include "rules/rule.h"
#include "rules/target_field.h"
#include "rules/template.h"

namespace finsync::rules {

struct CompiledAction {
  int64_t id = 0;
  ActionType type = ActionType::kSetField;
  TargetField target = TargetField::kPayee;  // Unused by SKIP_TRANSFER.
  std::string_view field_name;               // Static storage (target_field.cc), for rule logs.
  std::optional<Template> value;             // nullopt for SKIP_TRANSFER.
};

struct CompiledRule {
  int64_t id = 0;
  bool trigger_on_any_condition = false;
  bool skip_other_rules_when_triggered = false;
  std::vector<CompiledCondition> conditions;  // Cheapest first; the outcome is the same.
  std::vector<CompiledAction> actions;        // In the rule's order.
};

// An ordered, immutable rule set of one rule type. Disabled rules are validated but left out.
// Safe to evaluate from several threads at once (RE2 matching is thread-safe).
class CompiledRuleSet {
 public:
  CompiledRuleSet(CompiledRuleSet&&) noexcept = default;
  CompiledRuleSet& operator=(CompiledRuleSet&&) noexcept = default;

  // The rules' type; nullopt for a set compiled from no rules, which any caller may run.
  std::optional<RuleType> type() const { return type_; }
  // The enabled rules in evaluation order.
  std::span<const CompiledRule> rules() const { return rules_; }
  // Whether any condition compares the amount (then the evaluator looks up the currency).
  bool reads_amount() const { return reads_amount_; }

 private:
  friend Result<CompiledRuleSet> Compile(const std::vector<Rule>& ordered_rules);
  CompiledRuleSet() = default;

  std::optional<RuleType> type_;
  std::vector<CompiledRule> rules_;
  bool reads_amount_ = false;
};

// Checks one rule: name (1..255 bytes), description (at most 2000 bytes), at least one and at
// most kActionsPerRuleMax actions, at most kConditionsPerRuleMax conditions, each condition
// (condition.h), each action's type against the rule type, its field against the rule type's
// fields (target_field.h) and its value as a template (template.h); a template that uses no
// field is rendered and checked as the destination field's value. In a rule whose conditions
// must all hold, "currency EQUALS X" (or bank_account.currency) pins the currency, and amount
// values with more decimals than X allows are refused.
Status ValidateRule(const Rule& rule);

// Compiles one rule; the same checks and errors as ValidateRule.
Result<CompiledRule> CompileRule(const Rule& rule);

// Compiles rules in evaluation order. All rules must have the same type.
Result<CompiledRuleSet> Compile(const std::vector<Rule>& ordered_rules);

}  // namespace finsync::rules
