#include "rules/target_field.h"

#include <array>
#include <cassert>
#include <utility>

#include "domain/money.h"
#include "rules/field_path.h"
#include "rules/text.h"

namespace finsync::rules {
namespace {

using enum TargetField;

constexpr std::array<TargetInfo, 3> kBankTargets = {{
    {kPayee, "generated.payee"},
    {kDescription, "generated.description"},
    {kDate, "generated.date"},
}};

constexpr std::array<TargetInfo, 9> kYnabTargets = {{
    {kPayee, "payee_name"},
    {kDescription, "memo"},
    {kDate, "date"},
    {kAmount, "amount"},
    {kCategoryId, "category_id"},
    {kCategoryName, "category_name"},
    {kFlagColor, "flag_color"},
    {kCleared, "cleared"},
    {kApproved, "approved"},
}};

constexpr std::array<TargetInfo, 8> kLunchMoneyTargets = {{
    {kPayee, "payee"},
    {kDescription, "notes"},
    {kDate, "date"},
    {kAmount, "amount"},
    {kCategoryId, "category_id"},
    {kCleared, "status"},
    {kTags, "tags"},
    {kExternalId, "external_id"},
}};

constexpr std::array<std::string_view, 7> kFlagColors = {"",      "red",  "orange", "yellow",
                                                         "green", "blue", "purple"};
constexpr std::array<std::string_view, 3> kYnabClearedValues = {"cleared", "uncleared",
                                                                "reconciled"};
constexpr std::array<std::string_view, 2> kLunchMoneyStatusValues = {"cleared", "uncleared"};

constexpr size_t kExternalIdLengthMax = 75;  // Lunch Money's limit; truncating an id breaks it.
constexpr size_t kTagsMax = 100;
constexpr size_t kLunchMoneyCategoryIdDigitsMax = 18;  // Fits in int64.

template <size_t kCount>
bool OneOf(std::string_view value, const std::array<std::string_view, kCount>& allowed) {
  for (std::string_view candidate : allowed) {
    if (candidate == value) return true;
  }
  return false;
}

template <size_t kCount>
std::string MustBeOneOf(std::string_view what,
                        const std::array<std::string_view, kCount>& allowed) {
  std::string message = std::string(what) + " must be one of:";
  for (std::string_view candidate : allowed) {
    message += candidate.empty() ? std::string(" \"\" (none)") : " " + std::string(candidate);
  }
  return message;
}

bool IsHexDigit(char byte) {
  return (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f') ||
         (byte >= 'A' && byte <= 'F');
}

// YNAB category ids are UUIDs: 8-4-4-4-12 hexadecimal digits.
bool IsUuid(std::string_view value) {
  if (value.size() != 36) return false;
  for (size_t index = 0; index < value.size(); ++index) {
    const bool dash_position = index == 8 || index == 13 || index == 18 || index == 23;
    if (dash_position ? value[index] != '-' : !IsHexDigit(value[index])) return false;
  }
  return true;
}

bool IsPositiveNumber(std::string_view value) {
  if (value.empty() || value.size() > kLunchMoneyCategoryIdDigitsMax || value[0] == '0') {
    return false;
  }
  for (char byte : value) {
    if (byte < '0' || byte > '9') return false;
  }
  return true;
}

std::vector<std::string> SplitTags(std::string_view value) {
  std::vector<std::string> tags;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view tag = text::TrimAsciiWhitespace(value.substr(0, comma));
    if (!tag.empty()) tags.emplace_back(tag);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return tags;
}

std::string JoinTags(const std::vector<std::string>& tags) {
  std::string joined;
  for (const std::string& tag : tags) {
    if (!joined.empty()) joined += ',';
    joined += tag;
  }
  return joined;
}

std::string CheckDate(std::string_view value) {
  if (value.empty()) return "";
  const domain::DateParseResult parsed = domain::ParseDate(value);
  if (parsed.ok()) return "";
  return "'" + std::string(value) +
         "' is not a date (YYYY-MM-DD): " + std::string(DescribeDateTimeError(parsed.error));
}

std::string CheckAmount(std::string_view value, int32_t exponent) {
  const domain::AmountParseResult parsed = domain::ParseDecimalAmount(value, exponent);
  if (parsed.ok()) return "";
  return "'" + std::string(value) + "' is not an amount: " + parsed.message;
}

// Every check that depends only on the destination, the field and the value.
std::string CheckValue(Destination destination, TargetField field, std::string_view value) {
  switch (field) {
    case kPayee:
    case kDescription:
    case kCategoryName:
    case kAmount:
      return "";
    case kDate:
      // YNAB and Lunch Money refuse a transaction without a date; a webhook copy may lack one.
      if (value.empty() && destination != Destination::kWebhook) {
        return "date must not be empty: the destination needs one";
      }
      return CheckDate(value);
    case kCategoryId:
      if (value.empty()) return "";
      if (destination == Destination::kYnab) {
        return IsUuid(value) ? "" : "category_id must be a YNAB category UUID or empty";
      }
      return IsPositiveNumber(value) ? "" : "category_id must be a Lunch Money category number";
    case kFlagColor:
      return OneOf(value, kFlagColors) ? "" : MustBeOneOf("flag_color", kFlagColors);
    case kCleared:
      if (destination == Destination::kYnab) {
        return OneOf(value, kYnabClearedValues) ? "" : MustBeOneOf("cleared", kYnabClearedValues);
      }
      return OneOf(value, kLunchMoneyStatusValues) ? ""
                                                   : MustBeOneOf("status", kLunchMoneyStatusValues);
    case kApproved:
      return (value == "true" || value == "false") ? "" : "approved must be true or false";
    case kTags:
      return SplitTags(value).size() <= kTagsMax ? "" : "at most 100 tags";
    case kExternalId:
      return value.size() <= kExternalIdLengthMax ? "" : "external_id is longer than 75 bytes";
  }
  return "unknown field";
}

bool IsStructured(TargetField field) {
  return field != kPayee && field != kDescription && field != kCategoryName;
}

std::string_view Prepare(TargetField field, std::string_view value) {
  return IsStructured(field) ? text::TrimAsciiWhitespace(value) : value;
}

std::string FormatOptionalDate(const std::optional<domain::Date>& date) {
  return date ? domain::FormatDate(*date) : std::string();
}

std::optional<domain::Date> DateOrNothing(std::string_view value) {
  if (value.empty()) return std::nullopt;
  return domain::ParseDate(value).date;
}

// The text fields that are stored exactly as given, so a write can swap strings.
std::string* ExactTextField(TargetField field, domain::BankTransaction& transaction) {
  if (field == kPayee) return &transaction.generated.payee;
  if (field == kDescription) return &transaction.generated.description;
  return nullptr;
}

std::string* ExactTextField(TargetField field, OutgoingTransaction& outgoing) {
  if (field == kPayee) return &outgoing.payee;
  if (field == kDescription) return &outgoing.description;
  if (field == kCategoryName) return &outgoing.category_name;
  return nullptr;
}

template <typename Target>
std::string ReplaceIn(TargetField field, std::string&& value, Target& target,
                      std::string& previous_value) {
  if (std::string* slot = ExactTextField(field, target)) {
    previous_value = std::exchange(*slot, std::move(value));
    return "";
  }
  previous_value = ReadTarget(field, target);
  return WriteTarget(field, value, target);
}

}  // namespace

RuleType RuleTypeOf(Destination destination) {
  switch (destination) {
    case Destination::kYnab:
      return RuleType::kYnab;
    case Destination::kLunchMoney:
      return RuleType::kLunchMoney;
    case Destination::kWebhook:
      return RuleType::kWebhook;
  }
  return RuleType::kWebhook;
}

std::optional<Destination> DestinationOf(RuleType type) {
  switch (type) {
    case RuleType::kBank:
      return std::nullopt;
    case RuleType::kYnab:
      return Destination::kYnab;
    case RuleType::kLunchMoney:
      return Destination::kLunchMoney;
    case RuleType::kWebhook:
      return Destination::kWebhook;
  }
  return std::nullopt;
}

OutgoingTransaction MakeOutgoingTransaction(const domain::BankTransaction& transaction,
                                            Destination destination) {
  OutgoingTransaction outgoing;
  outgoing.destination = destination;
  outgoing.payee = transaction.generated.payee;
  outgoing.description = transaction.generated.description;
  outgoing.date = transaction.generated.date ? transaction.generated.date
                  : transaction.booking_date ? transaction.booking_date
                                             : transaction.value_date;
  outgoing.amount_minor = transaction.amount_minor;
  outgoing.currency = transaction.currency;
  outgoing.cleared = transaction.booked() ? "cleared" : "uncleared";
  return outgoing;
}

bool ActionAllowed(RuleType rule_type, ActionType action_type) {
  switch (rule_type) {
    case RuleType::kBank:
      return action_type == ActionType::kSetField;
    case RuleType::kYnab:
      return action_type == ActionType::kSetYnabField || action_type == ActionType::kSkipTransfer;
    case RuleType::kLunchMoney:
      return action_type == ActionType::kSetLunchMoneyField ||
             action_type == ActionType::kSkipTransfer;
    case RuleType::kWebhook:
      return action_type == ActionType::kSetField || action_type == ActionType::kSkipTransfer;
  }
  return false;
}

std::string AllowedActionList(RuleType rule_type) {
  std::string list;
  for (ActionType action_type : AllActionTypes()) {
    if (!ActionAllowed(rule_type, action_type)) continue;
    if (!list.empty()) list += ", ";
    list += ActionTypeName(action_type);
  }
  return list;
}

std::span<const TargetInfo> TargetFieldsFor(RuleType rule_type) {
  switch (rule_type) {
    case RuleType::kBank:
    case RuleType::kWebhook:
      return kBankTargets;
    case RuleType::kYnab:
      return kYnabTargets;
    case RuleType::kLunchMoney:
      return kLunchMoneyTargets;
  }
  return {};
}

std::optional<TargetInfo> FindTargetField(RuleType rule_type, std::string_view name) {
  for (const TargetInfo& target : TargetFieldsFor(rule_type)) {
    if (target.name == name) return target;
  }
  return std::nullopt;
}

std::string TargetFieldList(RuleType rule_type) {
  std::string list;
  for (const TargetInfo& target : TargetFieldsFor(rule_type)) {
    if (!list.empty()) list += ", ";
    list += target.name;
  }
  return list;
}

std::string ReadTarget(TargetField field, const domain::BankTransaction& transaction) {
  switch (field) {
    case kPayee:
      return transaction.generated.payee;
    case kDescription:
      return transaction.generated.description;
    case kDate:
      return FormatOptionalDate(transaction.generated.date);
    default:
      break;
  }
  assert(false && "a BANK rule sets only generated fields");
  return "";
}

std::string ReadTarget(TargetField field, const OutgoingTransaction& outgoing) {
  switch (field) {
    case kPayee:
      return outgoing.payee;
    case kDescription:
      return outgoing.description;
    case kDate:
      return FormatOptionalDate(outgoing.date);
    case kAmount: {
      const int32_t exponent = CurrencyExponent(outgoing.currency);
      if (exponent < 0) return std::to_string(outgoing.amount_minor);
      return domain::FormatDecimalAmount(outgoing.amount_minor, exponent);
    }
    case kCategoryId:
      return outgoing.category_id;
    case kCategoryName:
      return outgoing.category_name;
    case kFlagColor:
      return outgoing.flag_color;
    case kCleared:
      return outgoing.cleared;
    case kApproved:
      return outgoing.approved ? (*outgoing.approved ? "true" : "false") : "";
    case kTags:
      return JoinTags(outgoing.tags);
    case kExternalId:
      return outgoing.external_id;
  }
  return "";
}

std::string WriteTarget(TargetField field, std::string_view value,
                        domain::BankTransaction& transaction) {
  value = Prepare(field, value);
  switch (field) {
    case kPayee:
      transaction.generated.payee = value;
      return "";
    case kDescription:
      transaction.generated.description = value;
      return "";
    case kDate: {
      std::string problem = CheckDate(value);
      if (problem.empty()) transaction.generated.date = DateOrNothing(value);
      return problem;
    }
    default:
      break;
  }
  assert(false && "a BANK rule sets only generated fields");
  return "field not settable on a bank transaction";
}

std::string WriteTarget(TargetField field, std::string_view value, OutgoingTransaction& outgoing) {
  value = Prepare(field, value);
  if (field == kAmount) {
    const int32_t exponent = CurrencyExponent(outgoing.currency);
    if (exponent < 0) return "currency '" + outgoing.currency + "' is not a known currency";
    const domain::AmountParseResult parsed = domain::ParseDecimalAmount(value, exponent);
    if (!parsed.ok()) return CheckAmount(value, exponent) + " (" + outgoing.currency + ")";
    outgoing.amount_minor = parsed.amount_minor;
    return "";
  }
  std::string problem = CheckValue(outgoing.destination, field, value);
  if (!problem.empty()) return problem;
  switch (field) {
    case kPayee:
      outgoing.payee = value;
      break;
    case kDescription:
      outgoing.description = value;
      break;
    case kDate:
      outgoing.date = DateOrNothing(value);
      break;
    case kCategoryId:
      outgoing.category_id = value;
      break;
    case kCategoryName:
      outgoing.category_name = value;
      break;
    case kFlagColor:
      outgoing.flag_color = value;
      break;
    case kCleared:
      outgoing.cleared = value;
      break;
    case kApproved:
      outgoing.approved = value == "true";
      break;
    case kTags:
      outgoing.tags = SplitTags(value);
      break;
    case kExternalId:
      outgoing.external_id = value;
      break;
    case kAmount:
      break;
  }
  return "";
}

std::string ReplaceTarget(TargetField field, std::string&& value,
                          domain::BankTransaction& transaction, std::string& previous_value) {
  return ReplaceIn(field, std::move(value), transaction, previous_value);
}

std::string ReplaceTarget(TargetField field, std::string&& value, OutgoingTransaction& outgoing,
                          std::string& previous_value) {
  return ReplaceIn(field, std::move(value), outgoing, previous_value);
}

std::string CheckConstantTargetValue(RuleType rule_type, TargetField field,
                                     std::string_view value) {
  value = Prepare(field, value);
  if (field == kAmount) return CheckAmount(value, CurrencyExponentMax());
  const std::optional<Destination> destination = DestinationOf(rule_type);
  // BANK rules share the generated fields' checks with webhooks.
  return CheckValue(destination.value_or(Destination::kWebhook), field, value);
}

}  // namespace finsync::rules
