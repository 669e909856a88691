#include "rules/condition.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <re2/re2.h>

#include <cassert>
#include <limits>

#include "domain/money.h"
#include "rules/text.h"

namespace finsync::rules {
namespace {

using enum Operator;

// RE2 compiles into a bounded program; 1 MiB holds any reasonable bank-text pattern and keeps
// fifty regexes per rule set well inside memory.
constexpr int64_t kRegexMemoryMaxBytes = 1 << 20;

Error FieldError(std::string_view key, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The condition is invalid.");
  error.field_errors.push_back({std::string(key), std::move(message)});
  return error;
}

std::string OperatorList(FieldType type) {
  std::string list;
  for (Operator operation : AllOperators()) {
    if (!OperatorAllowed(type, operation)) continue;
    if (!list.empty()) list += ", ";
    list += OperatorName(operation);
  }
  return list;
}

bool NeedsValue(Operator operation) {
  return operation == kContains || operation == kNotContains || operation == kStartsWith ||
         operation == kEndsWith || operation == kMatchesRegex;
}

// True when case-insensitive comparison with this needle is exactly byte comparison: an ASCII
// needle without letters can only match the same bytes, because letters fold to letters and
// bytes above 0x7F fold to bytes above 0x7F.
bool FoldingIrrelevant(std::string_view needle) {
  for (char byte : needle) {
    const auto value = static_cast<uint8_t>(byte);
    if (value >= 0x80 || (value >= 'A' && value <= 'Z') || (value >= 'a' && value <= 'z')) {
      return false;
    }
  }
  return true;
}

// A pattern without any RE2 metacharacter, in ASCII: it matches exactly where it occurs as a
// substring, so a substring search gives RE2's answer at a fraction of the cost of a call.
bool IsPlainLiteral(std::string_view pattern) {
  for (char byte : pattern) {
    if (static_cast<uint8_t>(byte) >= 0x80) return false;
    if (std::string_view("\\.^$|?*+()[]{}").find(byte) != std::string_view::npos) return false;
  }
  return true;
}

// RE2 folds case by Unicode orbits. For ASCII letters these are the two ASCII cases, except
// k/K (also U+212A KELVIN SIGN) and s/S (also U+017F LONG S); a literal with those letters
// keeps using RE2, so a case-insensitive literal never answers differently from RE2.
bool FoldsLikeRe2(std::string_view literal) {
  return literal.find_first_of("kKsS") == std::string_view::npos;
}

std::string Quoted(std::string_view value) { return "'" + std::string(value) + "'"; }

Result<std::vector<std::string>> ParseJsonList(std::string_view value) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseNumbersAsStringsFlag>(value.data(), value.size());
  if (document.HasParseError()) {
    return Error::Of(ErrorCode::kValidationFailed,
                     std::string("a list starting with '[' must be a JSON array: ") +
                         rapidjson::GetParseError_En(document.GetParseError()) + " at offset " +
                         std::to_string(document.GetErrorOffset()));
  }
  if (!document.IsArray()) {
    return Error::Of(ErrorCode::kValidationFailed, "a list starting with '[' must be an array");
  }
  std::vector<std::string> items;
  for (rapidjson::SizeType index = 0; index < document.Size(); ++index) {
    const rapidjson::Value& item = document[index];
    if (!item.IsString()) {
      return Error::Of(ErrorCode::kValidationFailed,
                       "item " + std::to_string(index) + " must be a string or a number");
    }
    items.emplace_back(item.GetString(), item.GetStringLength());
  }
  return items;
}

Result<std::vector<std::string>> ParseCommaList(std::string_view value) {
  std::vector<std::string> items;
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view item = text::TrimAsciiWhitespace(value.substr(0, comma));
    if (item.empty()) {
      return Error::Of(ErrorCode::kValidationFailed,
                       "item " + std::to_string(items.size()) +
                           " is empty; write items separated by commas, or a JSON array");
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    value.remove_prefix(comma + 1);
  }
}

// Where value = coefficient / 10^scale lies at `exponent`, with floor rounding.
CompiledCondition::ScaledAmount ScaleAmount(int64_t coefficient, int32_t scale, int32_t exponent) {
  using Wide = __int128;
  Wide power = 1;
  for (int32_t step = 0; step < (exponent > scale ? exponent - scale : scale - exponent); ++step) {
    power *= 10;
  }
  Wide floor_minor = 0;
  int8_t position = 0;
  if (exponent >= scale) {
    floor_minor = static_cast<Wide>(coefficient) * power;
  } else {
    floor_minor = coefficient / power;
    if (coefficient % power != 0) {
      position = 1;
      if (coefficient < 0) floor_minor -= 1;
    }
  }
  if (floor_minor > std::numeric_limits<int64_t>::max()) return {0, 2};
  if (floor_minor < std::numeric_limits<int64_t>::min()) return {0, -2};
  return {static_cast<int64_t>(floor_minor), position};
}

// -1, 0 or 1 as the amount is below, equal to or above the scaled value.
inline int32_t CompareAmount(int64_t amount_minor, CompiledCondition::ScaledAmount value) {
  switch (value.position) {
    case 2:
      return -1;
    case -2:
      return 1;
    case 1:
      return amount_minor > value.floor_minor ? 1 : -1;
    default:
      break;
  }
  if (amount_minor < value.floor_minor) return -1;
  return amount_minor > value.floor_minor ? 1 : 0;
}

inline bool OrderingHolds(Operator operation, int32_t order) {
  switch (operation) {
    case kEquals:
      return order == 0;
    case kNotEquals:
      return order != 0;
    case kGreaterThan:
      return order > 0;
    case kGreaterThanOrEqual:
      return order >= 0;
    case kLessThan:
      return order < 0;
    case kLessThanOrEqual:
      return order <= 0;
    default:
      break;
  }
  assert(false && "not an ordering operator");
  return false;
}

}  // namespace

bool OperatorAllowed(FieldType type, Operator operation) {
  switch (type) {
    case FieldType::kText:
      return operation != kGreaterThan && operation != kGreaterThanOrEqual &&
             operation != kLessThan && operation != kLessThanOrEqual;
    case FieldType::kMoney:
      return operation == kEquals || operation == kNotEquals || operation == kGreaterThan ||
             operation == kGreaterThanOrEqual || operation == kLessThan ||
             operation == kLessThanOrEqual || operation == kIn;
    case FieldType::kDate:
      return OperatorAllowed(FieldType::kMoney, operation) || operation == kIsEmpty ||
             operation == kIsNotEmpty;
    case FieldType::kBoolean:
      return operation == kEquals || operation == kNotEquals;
  }
  return false;
}

Result<std::vector<std::string>> ParseInList(std::string_view value) {
  const std::string_view trimmed = text::TrimAsciiWhitespace(value);
  if (trimmed.empty()) return Error::Of(ErrorCode::kValidationFailed, "IN needs a list of items");
  Result<std::vector<std::string>> items =
      trimmed.front() == '[' ? ParseJsonList(trimmed) : ParseCommaList(trimmed);
  if (!items.ok()) return items;
  if (items.value().empty()) {
    return Error::Of(ErrorCode::kValidationFailed, "IN needs at least one item");
  }
  if (items.value().size() > kInListItemsMax) {
    return Error::Of(ErrorCode::kValidationFailed,
                     "IN takes at most " + std::to_string(kInListItemsMax) + " items");
  }
  return items;
}

CompiledCondition::CompiledCondition(CompiledCondition&&) noexcept = default;
CompiledCondition& CompiledCondition::operator=(CompiledCondition&&) noexcept = default;
CompiledCondition::~CompiledCondition() = default;

Result<CompiledCondition> CompiledCondition::Compile(const Condition& condition) {
  const std::optional<FieldInfo> field = FindField(condition.field_name);
  if (!field) {
    return FieldError("field_name", "unknown field " + Quoted(condition.field_name) +
                                        "; fields are " + FieldPathList());
  }
  if (!OperatorAllowed(field->type, condition.operation)) {
    return FieldError("operator", std::string(OperatorName(condition.operation)) +
                                      " does not apply to " + std::string(field->path) + ", a " +
                                      std::string(FieldTypeName(field->type)) +
                                      " field; use one of " + OperatorList(field->type));
  }
  if (condition.value.size() > kConditionValueLengthMax) {
    return FieldError("value",
                      "longer than " + std::to_string(kConditionValueLengthMax) + " bytes");
  }
  CompiledCondition compiled;
  compiled.field_ = field->id;
  compiled.type_ = field->type;
  compiled.operation_ = condition.operation;
  compiled.case_sensitive_ = condition.case_sensitive;
  std::string problem = compiled.ParseValue(condition.value);
  if (!problem.empty()) return FieldError("value", std::move(problem));
  return compiled;
}

std::string CompiledCondition::ParseValue(std::string_view value) {
  switch (type_) {
    case FieldType::kText:
      return ParseTextValue(value);
    case FieldType::kMoney:
      return ParseAmountValue(value);
    case FieldType::kDate:
      return ParseDateValue(value);
    case FieldType::kBoolean:
      return ParseBooleanValue(value);
  }
  return "unknown field type";
}

std::string CompiledCondition::ParseTextValue(std::string_view value) {
  if (operation_ == kIsEmpty || operation_ == kIsNotEmpty) return "";
  if (NeedsValue(operation_) && value.empty()) {
    return std::string(OperatorName(operation_)) +
           " needs a value; an empty one would decide the same for every transaction";
  }
  if (operation_ == kMatchesRegex) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(case_sensitive_);
    options.set_max_mem(kRegexMemoryMaxBytes);
    regex_ = std::make_unique<RE2>(re2::StringPiece(value.data(), value.size()), options);
    if (!regex_->ok()) return "invalid regular expression: " + regex_->error();
    if (IsPlainLiteral(value) && (case_sensitive_ || FoldsLikeRe2(value))) {
      literal_regex_ = true;
      needle_ = case_sensitive_ ? std::string(value) : text::FoldCase(value);
    }
    return "";
  }
  if (operation_ == kIn) {
    Result<std::vector<std::string>> items = ParseInList(value);
    if (!items.ok()) return items.error().detail;
    items_ = std::move(items.value());
    bool irrelevant = true;
    for (const std::string& item : items_) irrelevant = irrelevant && FoldingIrrelevant(item);
    if (irrelevant) case_sensitive_ = true;
    if (!case_sensitive_) {
      for (std::string& item : items_) item = text::FoldCase(item);
    }
    return "";
  }
  if (FoldingIrrelevant(value)) case_sensitive_ = true;
  needle_ = case_sensitive_ ? std::string(value) : text::FoldCase(value);
  return "";
}

std::string CompiledCondition::ParseAmountValue(std::string_view value) {
  std::vector<std::string> texts;
  if (operation_ == kIn) {
    Result<std::vector<std::string>> items = ParseInList(value);
    if (!items.ok()) return items.error().detail;
    texts = std::move(items.value());
  } else {
    texts.emplace_back(text::TrimAsciiWhitespace(value));
  }
  const int32_t scale = CurrencyExponentMax();
  exponent_slots_ = static_cast<size_t>(scale) + 1;
  for (size_t index = 0; index < texts.size(); ++index) {
    const std::string_view item = text::TrimAsciiWhitespace(texts[index]);
    const domain::AmountParseResult parsed = domain::ParseDecimalAmount(item, scale);
    if (!parsed.ok()) {
      const std::string which = operation_ == kIn ? "item " + std::to_string(index) + " " : "";
      return which + Quoted(item) + " is not an amount: " + parsed.message +
             " (decimal text in major units, at most " + std::to_string(scale) +
             " decimals, such as -42.50)";
    }
    for (int32_t exponent = 0; exponent <= scale; ++exponent) {
      amounts_.push_back(ScaleAmount(parsed.amount_minor, scale, exponent));
    }
    amount_texts_.emplace_back(item);
  }
  return "";
}

std::string CompiledCondition::ParseDateValue(std::string_view value) {
  if (operation_ == kIsEmpty || operation_ == kIsNotEmpty) return "";
  std::vector<std::string> texts;
  if (operation_ == kIn) {
    Result<std::vector<std::string>> items = ParseInList(value);
    if (!items.ok()) return items.error().detail;
    texts = std::move(items.value());
  } else {
    texts.emplace_back(value);
  }
  for (size_t index = 0; index < texts.size(); ++index) {
    const std::string_view item = text::TrimAsciiWhitespace(texts[index]);
    const domain::DateParseResult parsed = domain::ParseDate(item);
    if (!parsed.ok()) {
      const std::string which = operation_ == kIn ? "item " + std::to_string(index) + " " : "";
      return which + Quoted(item) + " is not a date (YYYY-MM-DD): " +
             std::string(domain::DescribeDateTimeError(parsed.error));
    }
    dates_.push_back(parsed.date);
  }
  return "";
}

std::string CompiledCondition::ParseBooleanValue(std::string_view value) {
  const std::string folded = text::FoldCase(text::TrimAsciiWhitespace(value));
  if (folded != "true" && folded != "false") return Quoted(value) + " must be true or false";
  boolean_ = folded == "true";
  return "";
}

// Inlined into Matches, which runs for every condition of every transaction.
[[gnu::always_inline]] inline bool CompiledCondition::TextEquals(std::string_view value,
                                                                 std::string_view needle) const {
  return case_sensitive_ ? value == needle : text::EqualsFolded(value, needle);
}

// Inlined into Matches, which runs for every condition of every transaction.
[[gnu::always_inline]] inline bool CompiledCondition::MatchText(std::string_view value) const {
  switch (operation_) {
    case kEquals:
      return TextEquals(value, needle_);
    case kNotEquals:
      return !TextEquals(value, needle_);
    case kContains:
    case kNotContains: {
      const bool found = case_sensitive_ ? value.find(needle_) != std::string_view::npos
                                         : text::ContainsFolded(value, needle_);
      return found == (operation_ == kContains);
    }
    case kStartsWith:
      return case_sensitive_ ? value.starts_with(needle_) : text::StartsWithFolded(value, needle_);
    case kEndsWith:
      return case_sensitive_ ? value.ends_with(needle_) : text::EndsWithFolded(value, needle_);
    case kMatchesRegex:
      if (literal_regex_) {
        return case_sensitive_ ? value.find(needle_) != std::string_view::npos
                               : text::ContainsFolded(value, needle_);
      }
      return RE2::PartialMatch(re2::StringPiece(value.data(), value.size()), *regex_);
    case kIsEmpty:
      return value.empty();
    case kIsNotEmpty:
      return !value.empty();
    case kIn:
      for (const std::string& item : items_) {
        if (TextEquals(value, item)) return true;
      }
      return false;
    default:
      break;
  }
  assert(false && "operator not allowed on text");
  return false;
}

// Inlined into Matches, which runs for every condition of every transaction.
[[gnu::always_inline]] inline bool CompiledCondition::MatchAmount(int64_t amount_minor,
                                                                  int32_t exponent) const {
  const auto slot = static_cast<size_t>(exponent);
  assert(slot < exponent_slots_);
  if (operation_ != kIn)
    return OrderingHolds(operation_, CompareAmount(amount_minor, amounts_[slot]));
  for (size_t start = 0; start < amounts_.size(); start += exponent_slots_) {
    if (CompareAmount(amount_minor, amounts_[start + slot]) == 0) return true;
  }
  return false;
}

// Inlined into Matches, which runs for every condition of every transaction.
[[gnu::always_inline]] inline bool CompiledCondition::MatchDate(
    const std::optional<domain::Date>& date) const {
  if (operation_ == kIsEmpty) return !date;
  if (operation_ == kIsNotEmpty) return date.has_value();
  if (!date) return operation_ == kNotEquals;
  if (operation_ == kIn) {
    for (const domain::Date& item : dates_) {
      if (*date == item) return true;
    }
    return false;
  }
  const int32_t order = *date < dates_[0] ? -1 : (dates_[0] < *date ? 1 : 0);
  return OrderingHolds(operation_, order);
}

bool CompiledCondition::Matches(const domain::BankTransaction& transaction,
                                const AccountContext& account, int32_t currency_exponent) const {
  switch (type_) {
    case FieldType::kText:
      return MatchText(ReadText(field_, transaction, account));
    case FieldType::kMoney:
      return currency_exponent >= 0 && MatchAmount(transaction.amount_minor, currency_exponent);
    case FieldType::kDate:
      return MatchDate(ReadDate(field_, transaction));
    case FieldType::kBoolean:
      return (ReadBoolean(field_, transaction) == boolean_) == (operation_ == kEquals);
  }
  return false;
}

uint32_t CompiledCondition::cost() const {
  if (type_ != FieldType::kText) return operation_ == kIn ? 2 : 1;
  switch (operation_) {
    case kIsEmpty:
    case kIsNotEmpty:
      return 1;
    case kEquals:
    case kNotEquals:
    case kStartsWith:
    case kEndsWith:
      return 2;
    case kIn:
      return 3;
    case kContains:
    case kNotContains:
      return 4;
    case kMatchesRegex:
      return literal_regex_ ? 4 : 8;
    default:
      break;
  }
  return 8;
}

std::string CompiledCondition::CheckAmountsExactFor(int32_t exponent,
                                                    std::string_view currency_code) const {
  if (type_ != FieldType::kMoney || exponent < 0) return "";
  const auto slot = static_cast<size_t>(exponent);
  for (size_t index = 0; index < amount_texts_.size(); ++index) {
    if (amounts_[index * exponent_slots_ + slot].position != 1) continue;
    return Quoted(amount_texts_[index]) + " has more decimals than " + std::string(currency_code) +
           " allows (" + std::to_string(exponent) + "); the rule only matches " +
           std::string(currency_code) + " transactions";
  }
  return "";
}

}  // namespace finsync::rules
