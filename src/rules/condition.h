// One condition compiled for evaluation: the field path resolved to a FieldId, the operator
// checked against the field's type, the value parsed once (amounts into every currency
// exponent, dates, booleans, IN lists), regexes compiled once with RE2, and needles folded once
// for case-insensitive matching. Matching then reads the field in place and allocates nothing.
//
// Operators per field type (anything else is refused when the rule is saved):
//   text:    EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS, STARTS_WITH, ENDS_WITH, MATCHES_REGEX,
//            IS_EMPTY, IS_NOT_EMPTY, IN
//   money:   EQUALS, NOT_EQUALS, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN,
//            LESS_THAN_OR_EQUAL, IN
//   date:    the money operators plus IS_EMPTY and IS_NOT_EMPTY
//   boolean: EQUALS, NOT_EQUALS
//
// Values: text compares exactly as written (no trimming); IS_EMPTY means zero bytes. CONTAINS,
// NOT_CONTAINS, STARTS_WITH, ENDS_WITH and MATCHES_REGEX refuse an empty value, which would
// match everything or nothing. Money, date and boolean values are trimmed of ASCII whitespace.
// Money is decimal text in major units and compares exactly with the amount in the
// transaction's own currency: "10" equals 1000 cents in EUR and 10 yen in JPY, "0.005" equals
// no EUR amount and lies between 0.00 and 0.01. A value with more decimals than any currency
// has (4) is refused. A transaction whose currency is not a known ISO 4217 code matches no
// money condition, whatever the operator. A missing date matches IS_EMPTY and NOT_EQUALS only.
// Booleans are "true" or "false" in any case.
//
// IN takes a list in one of two forms: a JSON array of strings or numbers
// (["Spotify", "Netflix, Inc."], [-9.99, 10]) when the value starts with '[', otherwise
// comma-separated items with surrounding whitespace trimmed ("EUR, NOK"). Use the JSON form
// for items that contain commas or significant spaces. At most kInListItemsMax items, none
// empty in the comma form.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/date.h"
#include "domain/transaction.h"
#include "rules/field_path.h"
#include "rules/rule.h"

namespace re2 {
class RE2;
}

namespace finsync::rules {

// Whether `operation` applies to a field of `type`.
bool OperatorAllowed(FieldType type, Operator operation);

// The parsed items of an IN value (see above), or a message saying what is wrong.
Result<std::vector<std::string>> ParseInList(std::string_view value);

class CompiledCondition {
 public:
  // Errors are kValidationFailed with one field error keyed "field_name", "operator" or
  // "value", relative to the condition; the rule compiler prefixes "conditions.N.".
  static Result<CompiledCondition> Compile(const Condition& condition);

  CompiledCondition(CompiledCondition&&) noexcept;
  CompiledCondition& operator=(CompiledCondition&&) noexcept;
  ~CompiledCondition();

  // `currency_exponent` is CurrencyExponent(transaction.currency), computed once per
  // transaction by the caller; only money conditions read it. Allocates nothing.
  bool Matches(const domain::BankTransaction& transaction, const AccountContext& account,
               int32_t currency_exponent) const;

  FieldId field() const { return field_; }
  FieldType type() const { return type_; }
  Operator operation() const { return operation_; }

  // A relative cost (1 cheapest), so a rule can test cheap conditions before costly ones;
  // conditions have no side effects, so their order never changes a rule's outcome.
  uint32_t cost() const;

  // For money conditions: "" when every amount in the value is exact in a currency with this
  // exponent, otherwise a message naming the first that is not. Used when a rule pins the
  // currency with another condition, so "amount > 1.5" next to "currency = JPY" is refused.
  std::string CheckAmountsExactFor(int32_t exponent, std::string_view currency_code) const;

  // An amount at one exponent: floor(value * 10^exponent), and where the value lies relative
  // to it. Public only so the implementation's helpers can name it.
  struct ScaledAmount {
    int64_t floor_minor = 0;
    int8_t position = 0;  // 0 exact, 1 between floor and floor + 1, +2 / -2 beyond any int64.
  };

 private:
  CompiledCondition() = default;

  // Each returns "" or the problem with the value, for the "value" field error.
  std::string ParseValue(std::string_view value);
  std::string ParseTextValue(std::string_view value);
  std::string ParseAmountValue(std::string_view value);
  std::string ParseDateValue(std::string_view value);
  std::string ParseBooleanValue(std::string_view value);

  bool MatchText(std::string_view value) const;
  bool MatchAmount(int64_t amount_minor, int32_t exponent) const;
  bool MatchDate(const std::optional<domain::Date>& date) const;
  bool TextEquals(std::string_view value, std::string_view needle) const;

  FieldId field_ = FieldId::kAmount;
  FieldType type_ = FieldType::kText;
  Operator operation_ = Operator::kEquals;
  bool case_sensitive_ = false;  // Also set when folding cannot change any outcome.
  bool boolean_ = false;
  std::string needle_;                     // Folded unless case-sensitive.
  std::vector<std::string> items_;         // IN on text; folded unless case-sensitive.
  std::vector<std::string> amount_texts_;  // Money values as written, for messages.
  std::vector<ScaledAmount> amounts_;      // Item i at exponent e is [i * exponent_slots_ + e].
  size_t exponent_slots_ = 0;
  std::vector<domain::Date> dates_;
  std::unique_ptr<re2::RE2> regex_;
  bool literal_regex_ = false;  // The regex is a plain literal, searched as needle_ instead.
};

}  // namespace finsync::rules
