// Fuzzes condition compilation and evaluation. Input layout: byte 0 picks the field, byte 1
// holds flags (bit 0: case-sensitive; the rest picks an operator and the transaction's
// currency), the rest is "operator name\nvalue\nfield text", where an operator name that does
// not parse falls back to the one the flags pick, and the field text fills every text field
// and, when it parses, the amount and the dates.
//
// Invariants checked, with checks that stay on in release builds:
// - Compile never crashes; a refusal is one field error keyed "operator" or "value" with a
//   message, and "operator" exactly when the operator does not apply to the field's type.
// - NOT_EQUALS, NOT_CONTAINS and IS_NOT_EMPTY are the exact negation of their partners.
// - For money (known currency) and present dates exactly one of <, =, > holds, and <=, >=
//   agree with them.
// - A case-sensitive text match implies the case-insensitive one.
// - MATCHES_REGEX answers exactly as RE2::PartialMatch does, including when a plain literal
//   is searched without RE2.
// - Case-insensitive CONTAINS agrees with a naive search over folded windows.

#include <re2/re2.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "domain/date.h"
#include "domain/money.h"
#include "domain/transaction.h"
#include "rules/condition.h"
#include "rules/field_path.h"
#include "rules/rule.h"
#include "rules/text.h"

namespace {

using finsync::Result;
using finsync::rules::AccountContext;
using finsync::rules::CompiledCondition;
using finsync::rules::Condition;
using finsync::rules::FieldInfo;
using finsync::rules::FieldType;
using finsync::rules::Operator;

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "rule_condition_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

constexpr const char* kCurrencies[] = {"EUR", "JPY", "KWD", "XXX"};

struct Input {
  FieldInfo field;
  Operator operation;
  bool case_sensitive;
  std::string value;
  std::string text;
  const char* currency;
};

std::string_view NextLine(std::string_view& rest) {
  const size_t end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

Input ReadInput(const uint8_t* data, size_t size) {
  const auto fields = finsync::rules::AllFields();
  const auto operators = finsync::rules::AllOperators();
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::string_view operator_name = NextLine(rest);
  Input input{fields[data[0] % fields.size()],
              operators[(data[1] >> 1) % operators.size()],
              (data[1] & 1) != 0,
              std::string(NextLine(rest)),
              std::string(rest),
              kCurrencies[(data[1] >> 5) % 4]};
  if (const auto parsed = finsync::rules::ParseOperator(operator_name)) input.operation = *parsed;
  return input;
}

finsync::domain::BankTransaction Subject(const Input& input) {
  finsync::domain::BankTransaction transaction;
  transaction.currency = input.currency;
  const int32_t exponent = finsync::rules::CurrencyExponent(input.currency);
  const auto amount = finsync::domain::ParseDecimalAmount(input.text, exponent < 0 ? 2 : exponent);
  transaction.amount_minor = amount.ok() ? amount.amount_minor : -4250;
  const auto date = finsync::domain::ParseDate(input.text);
  if (date.ok()) transaction.booking_date = transaction.value_date = date.date;
  transaction.status = input.text.empty() ? finsync::domain::BookingStatus::kPending
                                          : finsync::domain::BookingStatus::kBooked;
  for (std::string* text :
       {&transaction.creditor.name, &transaction.debtor.name,
        &transaction.remittance_information_unstructured, &transaction.generated.payee,
        &transaction.transaction_id, &transaction.merchant_category_code, &transaction.source}) {
    *text = input.text;
  }
  return transaction;
}

std::optional<CompiledCondition> CompileWith(const Input& input, Operator operation,
                                             bool case_sensitive) {
  Condition condition;
  condition.field_name = std::string(input.field.path);
  condition.operation = operation;
  condition.value = input.value;
  condition.case_sensitive = case_sensitive;
  Result<CompiledCondition> compiled = CompiledCondition::Compile(condition);
  if (!compiled.ok()) return std::nullopt;
  return std::move(compiled.value());
}

const AccountContext kAccount{"Everyday", "NO9386011117947", "EUR"};

struct Evaluation {
  const finsync::domain::BankTransaction& transaction;
  int32_t exponent;
};

// Compiles `operation` on the same value and evaluates it; nullopt when it does not compile.
std::optional<bool> Holds(const Input& input, Operator operation, bool case_sensitive,
                          const Evaluation& evaluation) {
  const std::optional<CompiledCondition> compiled = CompileWith(input, operation, case_sensitive);
  if (!compiled) return std::nullopt;
  return compiled->Matches(evaluation.transaction, kAccount, evaluation.exponent);
}

void CheckRefusal(const Input& input, const Result<CompiledCondition>& compiled) {
  const auto& errors = compiled.error().field_errors;
  Check(errors.size() == 1, "exactly one field error");
  Check(!errors[0].message.empty(), "the field error has a message");
  const bool allowed = finsync::rules::OperatorAllowed(input.field.type, input.operation);
  Check((errors[0].field == "operator") == !allowed, "operator refused exactly when invalid");
  Check(errors[0].field == "operator" || errors[0].field == "value", "keyed operator or value");
}

void CheckNegation(const Input& input, Operator positive, Operator negative,
                   const Evaluation& evaluation) {
  const std::optional<bool> yes = Holds(input, positive, input.case_sensitive, evaluation);
  const std::optional<bool> no = Holds(input, negative, input.case_sensitive, evaluation);
  Check(yes.has_value() == no.has_value(), "a pair of negations compiles alike");
  if (yes) Check(*yes != *no, "negation is exact");
}

void CheckOrdering(const Input& input, const Evaluation& evaluation) {
  using enum Operator;
  const auto less = Holds(input, kLessThan, false, evaluation);
  const auto equal = Holds(input, kEquals, false, evaluation);
  const auto greater = Holds(input, kGreaterThan, false, evaluation);
  const auto at_most = Holds(input, kLessThanOrEqual, false, evaluation);
  const auto at_least = Holds(input, kGreaterThanOrEqual, false, evaluation);
  if (!less || !equal || !greater || !at_most || !at_least) return;
  Check(*less + *equal + *greater == 1, "exactly one of <, =, >");
  Check(*at_most == (*less || *equal), "<= is < or =");
  Check(*at_least == (*greater || *equal), ">= is > or =");
}

bool NaiveContainsFolded(std::string_view haystack, std::string_view needle) {
  const std::string folded_needle = finsync::rules::text::FoldCase(needle);
  if (needle.size() > haystack.size()) return false;
  for (size_t start = 0; start + needle.size() <= haystack.size(); ++start) {
    if (finsync::rules::text::FoldCase(haystack.substr(start, needle.size())) == folded_needle) {
      return true;
    }
  }
  return false;
}

void CheckText(const Input& input, const Evaluation& evaluation) {
  using enum Operator;
  const std::string_view text =
      finsync::rules::ReadText(input.field.id, evaluation.transaction, kAccount);
  for (Operator operation : {kEquals, kContains, kStartsWith, kEndsWith, kIn}) {
    const auto sensitive = Holds(input, operation, true, evaluation);
    const auto insensitive = Holds(input, operation, false, evaluation);
    if (sensitive && insensitive && *sensitive) Check(*insensitive, "folding only adds matches");
  }
  const auto contains = Holds(input, kContains, false, evaluation);
  if (contains) Check(*contains == NaiveContainsFolded(text, input.value), "contains is right");
  for (bool case_sensitive : {false, true}) {
    const auto matches = Holds(input, kMatchesRegex, case_sensitive, evaluation);
    if (!matches) continue;
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(case_sensitive);
    options.set_max_mem(1 << 20);
    const RE2 regex(input.value, options);
    Check(regex.ok(), "a regex the condition accepted compiles");
    Check(*matches == RE2::PartialMatch(text, regex), "MATCHES_REGEX agrees with RE2");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Input input = ReadInput(data, size);
  const finsync::domain::BankTransaction transaction = Subject(input);
  const Evaluation evaluation{transaction, finsync::rules::CurrencyExponent(input.currency)};

  Condition condition;
  condition.field_name = std::string(input.field.path);
  condition.operation = input.operation;
  condition.value = input.value;
  condition.case_sensitive = input.case_sensitive;
  const Result<CompiledCondition> compiled = CompiledCondition::Compile(condition);
  if (!compiled.ok()) {
    CheckRefusal(input, compiled);
  } else {
    (void)compiled.value().Matches(transaction, kAccount, evaluation.exponent);
  }

  using enum Operator;
  const bool unknown_amount = input.field.type == FieldType::kMoney && evaluation.exponent < 0;
  if (!unknown_amount) {
    CheckNegation(input, kEquals, kNotEquals, evaluation);
    CheckNegation(input, kContains, kNotContains, evaluation);
    CheckNegation(input, kIsEmpty, kIsNotEmpty, evaluation);
  }
  const bool ordered = input.field.type == FieldType::kMoney
                           ? evaluation.exponent >= 0
                           : input.field.type == FieldType::kDate &&
                                 finsync::rules::ReadDate(input.field.id, transaction).has_value();
  if (ordered) CheckOrdering(input, evaluation);
  if (input.field.type == FieldType::kText) CheckText(input, evaluation);
  return 0;
}
