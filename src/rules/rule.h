// The rule model: plain structs holding exactly what the API stores and what users write.
// Nothing here is checked; compiler.h validates a Rule and turns it into something that runs.
// Enum names travel through the API as the exact strings of seed 001 ("EQUALS", "SET_FIELD").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace finsync::rules {

// Where a rule runs. BANK rules run in ingest and change the stored transaction; the other
// types run at transfer time and change only the copy sent to that kind of destination.
enum class RuleType : uint8_t { kBank, kYnab, kLunchMoney, kWebhook };

// The API's "operator". NOT_EQUALS, NOT_CONTAINS and IS_NOT_EMPTY are always the exact
// negation of EQUALS, CONTAINS and IS_EMPTY, so a missing date is NOT_EQUALS every date.
enum class Operator : uint8_t {
  kEquals,
  kNotEquals,
  kContains,
  kNotContains,
  kStartsWith,
  kEndsWith,
  kGreaterThan,
  kGreaterThanOrEqual,
  kLessThan,
  kLessThanOrEqual,
  kMatchesRegex,
  kIsEmpty,
  kIsNotEmpty,
  kIn,
};

// The API's "action_type".
enum class ActionType : uint8_t { kSetField, kSetYnabField, kSetLunchMoneyField, kSkipTransfer };

// Bounds on what one rule may hold. Plan limits (5 conditions, 5 actions by default) are the
// API's business and are far lower; these only keep a hostile request from costing unbounded
// memory or time when it is compiled.
inline constexpr size_t kConditionsPerRuleMax = 100;
inline constexpr size_t kActionsPerRuleMax = 100;
inline constexpr size_t kRuleNameLengthMax = 255;          // Bytes.
inline constexpr size_t kRuleDescriptionLengthMax = 2000;  // Bytes.
inline constexpr size_t kConditionValueLengthMax = 1000;   // Bytes, regexes and IN lists too.
inline constexpr size_t kInListItemsMax = 100;
inline constexpr size_t kTemplateLengthMax = 2000;       // Bytes of template source.
inline constexpr size_t kRenderedLengthMax = 64 * 1024;  // Bytes of one rendered value.

struct Condition {
  int64_t id = 0;
  std::string field_name;  // A field path: "amount", "creditor.name", "bank_account.iban".
  Operator operation = Operator::kEquals;  // The API's "operator" (a C++ keyword).
  // Text compared with the field. Money is decimal text in major units ("-42.50"), dates are
  // "YYYY-MM-DD", booleans "true"/"false", MATCHES_REGEX takes RE2 syntax, IN takes a list
  // (see compiler.h), IS_EMPTY and IS_NOT_EMPTY ignore it.
  std::string value;
  // Only text comparisons and regexes look at this; money, dates and booleans compare exactly.
  // Defaults to false because bank texts arrive in any case ("SPOTIFY", "Spotify AB").
  bool case_sensitive = false;
};

struct Action {
  int64_t id = 0;
  ActionType type = ActionType::kSetField;  // The API's "action_type".
  std::string field_name;  // The field set; which names exist depends on the rule type.
  std::string value;       // A template (template.h). SKIP_TRANSFER ignores field and value.
};

struct Rule {
  int64_t id = 0;
  std::string name;
  std::string description;
  bool enabled = true;
  RuleType type = RuleType::kBank;
  bool trigger_on_any_condition = false;
  bool skip_other_rules_when_triggered = false;
  std::vector<Condition> conditions;
  std::vector<Action> actions;  // Run in this order.
};

// Exact API names. The Parse functions accept only these spellings (case-sensitive), because
// the API enumerates them in its OpenAPI document.
std::string_view RuleTypeName(RuleType type);
std::string_view OperatorName(Operator operation);
std::string_view ActionTypeName(ActionType type);
std::optional<RuleType> ParseRuleType(std::string_view name);
std::optional<Operator> ParseOperator(std::string_view name);
std::optional<ActionType> ParseActionType(std::string_view name);

// Every value of each enum, in declaration order, for OpenAPI enums and error messages.
std::span<const RuleType> AllRuleTypes();
std::span<const Operator> AllOperators();
std::span<const ActionType> AllActionTypes();

}  // namespace finsync::rules
