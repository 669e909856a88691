#include "rules/rule.h"

#include <array>

namespace finsync::rules {
namespace {

template <typename Enum>
struct NamedValue {
  Enum value;
  std::string_view name;
};

// Each table lists every enumerator in declaration order, so value N sits at index N.
constexpr std::array<NamedValue<RuleType>, 4> kRuleTypes = {{
    {RuleType::kBank, "BANK"},
    {RuleType::kYnab, "YNAB"},
    {RuleType::kLunchMoney, "LUNCH_MONEY"},
    {RuleType::kWebhook, "WEBHOOK"},
}};

constexpr std::array<NamedValue<Operator>, 14> kOperators = {{
    {Operator::kEquals, "EQUALS"},
    {Operator::kNotEquals, "NOT_EQUALS"},
    {Operator::kContains, "CONTAINS"},
    {Operator::kNotContains, "NOT_CONTAINS"},
    {Operator::kStartsWith, "STARTS_WITH"},
    {Operator::kEndsWith, "ENDS_WITH"},
    {Operator::kGreaterThan, "GREATER_THAN"},
    {Operator::kGreaterThanOrEqual, "GREATER_THAN_OR_EQUAL"},
    {Operator::kLessThan, "LESS_THAN"},
    {Operator::kLessThanOrEqual, "LESS_THAN_OR_EQUAL"},
    {Operator::kMatchesRegex, "MATCHES_REGEX"},
    {Operator::kIsEmpty, "IS_EMPTY"},
    {Operator::kIsNotEmpty, "IS_NOT_EMPTY"},
    {Operator::kIn, "IN"},
}};

constexpr std::array<NamedValue<ActionType>, 4> kActionTypes = {{
    {ActionType::kSetField, "SET_FIELD"},
    {ActionType::kSetYnabField, "SET_YNAB_FIELD"},
    {ActionType::kSetLunchMoneyField, "SET_LUNCH_MONEY_FIELD"},
    {ActionType::kSkipTransfer, "SKIP_TRANSFER"},
}};

template <typename Enum, size_t kCount>
constexpr bool InDeclarationOrder(const std::array<NamedValue<Enum>, kCount>& table) {
  for (size_t index = 0; index < kCount; ++index) {
    if (static_cast<size_t>(table[index].value) != index) return false;
  }
  return true;
}

static_assert(InDeclarationOrder(kRuleTypes));
static_assert(InDeclarationOrder(kOperators));
static_assert(InDeclarationOrder(kActionTypes));

template <typename Enum, size_t kCount>
std::string_view NameOf(const std::array<NamedValue<Enum>, kCount>& table, Enum value) {
  return table[static_cast<size_t>(value)].name;
}

template <typename Enum, size_t kCount>
std::optional<Enum> ValueOf(const std::array<NamedValue<Enum>, kCount>& table,
                            std::string_view name) {
  for (const NamedValue<Enum>& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <typename Enum, size_t kCount>
constexpr std::array<Enum, kCount> ValuesOf(const std::array<NamedValue<Enum>, kCount>& table) {
  std::array<Enum, kCount> values{};
  for (size_t index = 0; index < kCount; ++index) values[index] = table[index].value;
  return values;
}

constexpr auto kAllRuleTypes = ValuesOf(kRuleTypes);
constexpr auto kAllOperators = ValuesOf(kOperators);
constexpr auto kAllActionTypes = ValuesOf(kActionTypes);

}  // namespace

std::string_view RuleTypeName(RuleType type) { return NameOf(kRuleTypes, type); }
std::string_view OperatorName(Operator operation) { return NameOf(kOperators, operation); }
std::string_view ActionTypeName(ActionType type) { return NameOf(kActionTypes, type); }

std::optional<RuleType> ParseRuleType(std::string_view name) { return ValueOf(kRuleTypes, name); }
std::optional<Operator> ParseOperator(std::string_view name) { return ValueOf(kOperators, name); }
std::optional<ActionType> ParseActionType(std::string_view name) {
  return ValueOf(kActionTypes, name);
}

std::span<const RuleType> AllRuleTypes() { return kAllRuleTypes; }
std::span<const Operator> AllOperators() { return kAllOperators; }
std::span<const ActionType> AllActionTypes() { return kAllActionTypes; }

}  // namespace finsync::rules
