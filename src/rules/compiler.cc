#include "rules/compiler.h"

#include <algorithm>
#include <utility>

#include "domain/currency.h"
#include "domain/transaction.h"
#include "rules/text.h"

namespace finsync::rules {
namespace {

using FieldErrors = std::vector<FieldError>;

std::string Key(std::string_view list, size_t index, std::string_view field) {
  return std::string(list) + "." + std::to_string(index) + "." + std::string(field);
}

void CheckRuleFields(const Rule& rule, FieldErrors& errors) {
  if (text::TrimAsciiWhitespace(rule.name).empty()) {
    errors.push_back({"name", "is required"});
  } else if (rule.name.size() > kRuleNameLengthMax) {
    errors.push_back({"name", "is longer than " + std::to_string(kRuleNameLengthMax) + " bytes"});
  }
  if (rule.description.size() > kRuleDescriptionLengthMax) {
    errors.push_back(
        {"description", "is longer than " + std::to_string(kRuleDescriptionLengthMax) + " bytes"});
  }
  if (rule.conditions.size() > kConditionsPerRuleMax) {
    errors.push_back({"conditions",
                      "at most " + std::to_string(kConditionsPerRuleMax) + " conditions per rule"});
  }
  if (rule.actions.empty()) {
    errors.push_back({"actions", "a rule needs at least one action"});
  } else if (rule.actions.size() > kActionsPerRuleMax) {
    errors.push_back(
        {"actions", "at most " + std::to_string(kActionsPerRuleMax) + " actions per rule"});
  }
}

// The exponent of the currency an all-conditions rule is limited to, or -1 when it is not.
int32_t PinnedExponent(const Rule& rule, std::string& currency_code) {
  if (rule.trigger_on_any_condition) return -1;
  for (const Condition& condition : rule.conditions) {
    const bool currency_field =
        condition.field_name == "currency" || condition.field_name == "bank_account.currency";
    if (!currency_field || condition.operation != Operator::kEquals) continue;
    currency_code = domain::NormalizeCurrencyCode(text::TrimAsciiWhitespace(condition.value));
    const int32_t exponent = CurrencyExponent(currency_code);
    if (exponent >= 0) return exponent;
  }
  return -1;
}

void CompileConditions(const Rule& rule, CompiledRule& compiled, FieldErrors& errors) {
  std::vector<size_t> positions;  // Where each compiled condition was written in the rule.
  for (size_t index = 0; index < rule.conditions.size(); ++index) {
    Result<CompiledCondition> condition = CompiledCondition::Compile(rule.conditions[index]);
    if (!condition.ok()) {
      for (const FieldError& error : condition.error().field_errors) {
        errors.push_back({Key("conditions", index, error.field), error.message});
      }
      continue;
    }
    compiled.conditions.push_back(std::move(condition.value()));
    positions.push_back(index);
  }
  std::string currency_code;
  const int32_t exponent = PinnedExponent(rule, currency_code);
  for (size_t index = 0; index < compiled.conditions.size(); ++index) {
    std::string problem = compiled.conditions[index].CheckAmountsExactFor(exponent, currency_code);
    if (!problem.empty()) {
      errors.push_back({Key("conditions", positions[index], "value"), std::move(problem)});
    }
  }
  std::stable_sort(compiled.conditions.begin(), compiled.conditions.end(),
                   [](const CompiledCondition& left, const CompiledCondition& right) {
                     return left.cost() < right.cost();
                   });
}

// A template without fields renders the same for every transaction, so its value can be
// checked now against the field it sets.
std::string CheckConstantValue(RuleType rule_type, TargetField target, const Template& value) {
  const domain::BankTransaction nothing;
  Result<std::string> rendered = value.Render(nothing, AccountContext{});
  if (!rendered.ok()) return rendered.error().detail;
  return CheckConstantTargetValue(rule_type, target, rendered.value());
}

std::optional<CompiledAction> CompileAction(RuleType rule_type, const Action& action, size_t index,
                                            FieldErrors& errors) {
  if (!ActionAllowed(rule_type, action.type)) {
    errors.push_back({Key("actions", index, "action_type"),
                      std::string(ActionTypeName(action.type)) + " is not allowed in a " +
                          std::string(RuleTypeName(rule_type)) + " rule; use " +
                          AllowedActionList(rule_type)});
    return std::nullopt;
  }
  CompiledAction compiled;
  compiled.id = action.id;
  compiled.type = action.type;
  if (action.type == ActionType::kSkipTransfer) {
    compiled.field_name = "skip_transfer";
    return compiled;
  }
  const std::optional<TargetInfo> target = FindTargetField(rule_type, action.field_name);
  if (!target) {
    errors.push_back({Key("actions", index, "field_name"),
                      "unknown field '" + action.field_name + "' for " +
                          std::string(ActionTypeName(action.type)) + " in a " +
                          std::string(RuleTypeName(rule_type)) + " rule; use one of " +
                          TargetFieldList(rule_type)});
  }
  Result<Template> value = Template::Compile(action.value);
  if (!value.ok()) {
    errors.push_back({Key("actions", index, "value"), value.error().detail});
    return std::nullopt;
  }
  if (!target) return std::nullopt;
  if (value.value().is_constant()) {
    std::string problem = CheckConstantValue(rule_type, target->field, value.value());
    if (!problem.empty()) {
      errors.push_back({Key("actions", index, "value"), std::move(problem)});
      return std::nullopt;
    }
  }
  compiled.target = target->field;
  compiled.field_name = target->name;
  compiled.value = std::move(value.value());
  return compiled;
}

Error InvalidRule(FieldErrors errors) {
  Error error =
      Error::Of(ErrorCode::kValidationFailed, "The rule is invalid: " + errors.front().field + " " +
                                                  errors.front().message + ".");
  error.field_errors = std::move(errors);
  return error;
}

}  // namespace

Result<CompiledRule> CompileRule(const Rule& rule) {
  FieldErrors errors;
  CheckRuleFields(rule, errors);
  CompiledRule compiled;
  compiled.id = rule.id;
  compiled.trigger_on_any_condition = rule.trigger_on_any_condition;
  compiled.skip_other_rules_when_triggered = rule.skip_other_rules_when_triggered;
  if (rule.conditions.size() <= kConditionsPerRuleMax) CompileConditions(rule, compiled, errors);
  if (rule.actions.size() <= kActionsPerRuleMax) {
    for (size_t index = 0; index < rule.actions.size(); ++index) {
      std::optional<CompiledAction> action =
          CompileAction(rule.type, rule.actions[index], index, errors);
      if (action) compiled.actions.push_back(std::move(*action));
    }
  }
  if (!errors.empty()) return InvalidRule(std::move(errors));
  return compiled;
}

Status ValidateRule(const Rule& rule) { return CompileRule(rule).status(); }

Result<CompiledRuleSet> Compile(const std::vector<Rule>& ordered_rules) {
  CompiledRuleSet set;
  FieldErrors errors;
  for (size_t index = 0; index < ordered_rules.size(); ++index) {
    const Rule& rule = ordered_rules[index];
    const std::string prefix = "rules." + std::to_string(index) + ".";
    if (set.type_ && *set.type_ != rule.type) {
      errors.push_back({prefix + "type", "a " + std::string(RuleTypeName(rule.type)) +
                                             " rule cannot share a rule set with " +
                                             std::string(RuleTypeName(*set.type_)) + " rules"});
      continue;
    }
    set.type_ = rule.type;
    Result<CompiledRule> compiled = CompileRule(rule);
    if (!compiled.ok()) {
      for (const FieldError& error : compiled.error().field_errors) {
        errors.push_back({prefix + error.field, error.message});
      }
      continue;
    }
    if (!rule.enabled) continue;
    for (const CompiledCondition& condition : compiled.value().conditions) {
      if (condition.type() == FieldType::kMoney) set.reads_amount_ = true;
    }
    set.rules_.push_back(std::move(compiled.value()));
  }
  if (!errors.empty()) return InvalidRule(std::move(errors));
  return set;
}

}  // namespace finsync::rules
