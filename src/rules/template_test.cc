#include "rules/template.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "rules/test_support.h"

namespace finsync::rules {
namespace {

using testing::CardPayment;
using testing::Everyday;

struct RenderCase {
  std::string_view source;
  std::string_view expected;
};

std::string RenderOrDie(std::string_view source, const domain::BankTransaction& transaction) {
  Result<Template> compiled = Template::Compile(source);
  EXPECT_TRUE(compiled.ok()) << source << ": " << (compiled.ok() ? "" : compiled.error().detail);
  if (!compiled.ok()) return "<compile error>";
  Result<std::string> rendered = compiled.value().Render(transaction, Everyday());
  EXPECT_TRUE(rendered.ok()) << source << ": " << (rendered.ok() ? "" : rendered.error().detail);
  return rendered.ok() ? rendered.value() : "<render error>";
}

void ExpectRenders(std::span<const RenderCase> cases, const domain::BankTransaction& subject) {
  for (const RenderCase& test_case : cases) {
    EXPECT_EQ(RenderOrDie(test_case.source, subject), test_case.expected) << test_case.source;
  }
}

TEST(TemplateTest, FieldsRenderAsTheirTypesPrescribe) {
  // Proves how each field type renders, literal text passes through untouched, and stray
  // braces and whitespace control behave as documented.
  const RenderCase cases[] = {
      {"", ""},
      {"plain text", "plain text"},
      {"{{ creditor.name }}", "Spotify AB"},
      {"{{creditor.name}}", "Spotify AB"},
      {"{{ amount }}", "-42.50"},
      {"{{ booking_date }}", "2025-03-14"},
      {"{{ generated.date }}", ""},
      {"{{ booked }}", "true"},
      {"{{ status }}", "BOOKED"},
      {"{{ bank_account.name }} / {{ bank_account.currency }}", "Everyday / EUR"},
      {"{{ 'single' }} {{ \"double\" }} {{ 12.50 }} {{ -3 }}", "single double 12.50 -3"},
      {"{{ 'x}}y' }}", "x}}y"},
      {"a { b } c {1} }}", "a { b } c {1} }}"},
      {"a   {{- 'b' -}}   c", "abc"},
      {"a {{ 'b' }} c", "a b c"},
  };
  ExpectRenders(cases, CardPayment());
}

TEST(TemplateTest, EveryTextFilterFollowsLiquid) {
  // Proves each text filter, its defaults and its edge cases, counting UTF-8 characters.
  const RenderCase cases[] = {
      {"{{ creditor.name | upcase }}", "SPOTIFY AB"},
      {"{{ creditor.name | downcase }}", "spotify ab"},
      {"{{ 'hello WORLD' | capitalize }}", "Hello world"},
      {"{{ '' | capitalize }}", ""},
      {"{{ ' \t x y \n' | strip }}", "x y"},
      {"{{ creditor.name | append: ' (card)' }}", "Spotify AB (card)"},
      {"{{ creditor.name | prepend: 'Paid: ' }}", "Paid: Spotify AB"},
      {"{{ creditor.name | append: debtor.name }}", "Spotify ABOla Nordmann"},
      {"{{ remittance_information.unstructured | replace: 'CARD PAYMENT ', '' }}",
       "SPOTIFY P2F3 STOCKHOLM"},
      {"{{ 'a-b-c' | replace: '-', '+' }}", "a+b+c"},
      {"{{ 'abc' | replace: '', 'x' }}", "abc"},
      {"{{ remittance_information.unstructured | remove: ' STOCKHOLM' }}",
       "CARD PAYMENT SPOTIFY P2F3"},
      {"{{ remittance_information.unstructured | truncate: 15 }}", "CARD PAYMENT..."},
      {"{{ remittance_information.unstructured | truncate: 8, '' }}", "CARD PAY"},
      {"{{ remittance_information.unstructured | truncate: 2 }}", "..."},
      {"{{ 'short' | truncate: 5 }}", "short"},
      {"{{ 'Ødegårdsvei' | truncate: 5, '' }}", "Ødegå"},
      {"{{ creditor.name | slice: 0, 7 }}", "Spotify"},
      {"{{ creditor.name | slice: 1 }}", "p"},
      {"{{ creditor.name | slice: -2, 2 }}", "AB"},
      {"{{ creditor.name | slice: -20 }}", ""},
      {"{{ creditor.name | slice: 50 }}", ""},
      {"{{ 'æøå' | slice: 1, 5 }}", "øå"},
      {"{{ remittance_information.unstructured | split: ' ' | first }}", "CARD"},
      {"{{ remittance_information.unstructured | split: ' ' | last }}", "STOCKHOLM"},
      {"{{ 'a,b,,' | split: ',' | join: '|' }}", "a|b"},
      {"{{ 'a,b' | split: ',' | join }}", "a b"},
      {"{{ 'a,b' | split: ',' }}", "ab"},
      {"{{ 'ab' | split: '' | join: '.' }}", "a.b"},
      {"{{ 'a,b,c' | split: ',' | slice: 1, 2 | join: '' }}", "bc"},
      {"{{ '' | split: ',' | first }}", ""},
      {"{{ ',a,' | split: ',' | first | default: 'none' }}", "none"},
      {"{{ 'a,b,,' | split: ',' | last }}", "b"},
      {"{{ 'baaa' | split: 'aa' | last }}", "a"},
      {"{{ 'baaa' | split: 'aa' | join: '|' }}", "b|a"},
      {"{{ 'æøå' | split: '' | last }}", "å"},
      {"{{ creditor.name | split: ' ' | first | capitalize }}", "Spotify"},
      {"{{ creditor.name | first }}", "S"},
      {"{{ creditor.name | last }}", "B"},
      {"{{ 'øl' | first }}", "ø"},
      {"{{ entry_reference | first }}", ""},
      {"{{ 'plain' | join: ',' }}", "plain"},
      {"{{ entry_reference | default: 'none' }}", "none"},
      {"{{ generated.date | default: booking_date }}", "2025-03-14"},
      {"{{ creditor.name | default: 'none' }}", "Spotify AB"},
      {"{{ 0 | default: 'none' }}", "0"},
      {"{{ 'ørjan ødegård' | upcase }}", "ØRJAN ØDEGÅRD"},
      {"{{ 'ØRJAN' | downcase }}", "ørjan"},
      {"{{ 'ødegård AS' | capitalize }}", "Ødegård as"},
  };
  ExpectRenders(cases, CardPayment());
}

TEST(TemplateTest, ArithmeticIsExactDecimal) {
  // Proves each number filter on money and literals, with exact decimals, Liquid's integer
  // division, rounding half away from zero, and text that holds a number.
  const RenderCase cases[] = {
      {"{{ amount | times: -1 }}", "42.50"},
      {"{{ amount | times: 1.1 }}", "-46.750"},
      {"{{ amount | plus: 2.5 }}", "-40.00"},
      {"{{ amount | minus: 0.005 }}", "-42.505"},
      {"{{ amount | divided_by: 3 }}", "-14.17"},
      {"{{ amount | divided_by: 2 }}", "-21.25"},
      {"{{ 7 | divided_by: 2 }}", "3"},
      {"{{ -7 | divided_by: 2 }}", "-4"},
      {"{{ 7.0 | divided_by: 2 }}", "3.5"},
      {"{{ 1 | divided_by: 3.000 }}", "0.333"},
      {"{{ amount | abs }}", "42.50"},
      {"{{ amount | divided_by: 3 | round }}", "-14"},
      {"{{ 2.345 | round: 2 }}", "2.35"},
      {"{{ -2.345 | round: 2 }}", "-2.35"},
      {"{{ 2.5 | round }}", "3"},
      {"{{ 1.5 | round: 2 }}", "1.5"},
      {"{{ 0.1 | plus: 0.2 }}", "0.3"},
      {"{{ merchant_category_code | plus: 1 }}", "5816"},
      {"{{ amount | times: '2' }}", "-85.00"},
      {"{{ amount | minus: amount }}", "0.00"},
      {"{{ amount | times: -1 | append: ' EUR' }}", "42.50 EUR"},
  };
  ExpectRenders(cases, CardPayment());

  domain::BankTransaction yen = CardPayment();
  yen.currency = "JPY";
  yen.amount_minor = -1500;
  const RenderCase yen_cases[] = {
      {"{{ amount }}", "-1500"}, {"{{ amount | divided_by: 7 }}", "-215"}, {"{amount*-1}", "1500"}};
  ExpectRenders(yen_cases, yen);
}

TEST(TemplateTest, DateFilterFormatsEverySupportedDirective) {
  // Proves each strftime directive of the date filter, and that a missing date renders empty.
  const RenderCase cases[] = {
      {"{{ booking_date | date: '%d.%m.%Y' }}", "14.03.2025"},
      {"{{ booking_date | date: '%b %e, %y' }}", "Mar 14, 25"},
      {"{{ booking_date | date: '%B, day %j, 100%%' }}", "March, day 073, 100%"},
      {"{{ '2024-12-31' | date: '%j' }}", "366"},
      {"{{ '2025-03-05' | date: '[%e]' }}", "[ 5]"},
      {"{{ '0009-01-01' | date: '%Y %y' }}", "0009 09"},
      {"{{ generated.date | date: '%Y' }}", ""},
  };
  ExpectRenders(cases, CardPayment());
}

TEST(TemplateTest, OlderBraceFormStillWorks) {
  // Proves Synci's older {field} and {field<op>number} form, alone and mixed with Liquid.
  const RenderCase cases[] = {
      {"{amount}", "-42.50"},
      {"{amount*-1}", "42.50"},
      {"{amount * -1}", "42.50"},
      {"{amount+10}", "-32.50"},
      {"{amount-0.5}", "-43.00"},
      {"{amount--0.5}", "-42.00"},
      {"{amount/2}", "-21.25"},
      {"{creditor.name}", "Spotify AB"},
      {"Payee: {generated.payee}!", "Payee: Spotify!"},
      {"{{ generated.payee }} ({amount*-1} EUR)", "Spotify (42.50 EUR)"},
  };
  ExpectRenders(cases, CardPayment());
}

struct CompileErrorCase {
  std::string source;
  std::string_view message_part;
};

TEST(TemplateTest, InvalidTemplatesAreRefusedWithAPreciseMessage) {
  // Proves every kind of bad template is refused when compiled, naming the problem and offset.
  std::string many_filters = "{{ amount";
  for (int32_t filter = 0; filter < 21; ++filter) many_filters += " | abs";
  many_filters += " }}";
  const CompileErrorCase cases[] = {
      {"{{ unknown_field }}", "unknown field 'unknown_field' at offset 3; fields are amount"},
      {"{{ Creditor.Name }}", "unknown field 'Creditor.Name'"},
      {"{{ creditor.name | upper }}", "unknown filter 'upper' at offset 19; filters are upcase"},
      {"{{ creditor.name | append }}", "append needs 1 argument(s) at offset 19"},
      {"{{ creditor.name | upcase: 1 }}", "upcase takes at most 0 argument(s) at offset 27"},
      {"{{ creditor.name | replace: 'a' }}", "replace needs 2 argument(s)"},
      {"{{ creditor.name | truncate: 5, '.', 'x' }}", "truncate takes at most 2"},
      {"{{ creditor.name | truncate: 'x' }}", "truncate expects a whole number literal"},
      {"{{ creditor.name | truncate: amount }}", "truncate expects a whole number literal"},
      {"{{ creditor.name | truncate: -1 }}", "truncate expects a number that is not negative"},
      {"{{ creditor.name | slice: 1, -1 }}", "slice expects a number that is not negative"},
      {"{{ creditor.name | truncate: 99999999 }}", "whole number literal"},
      {"{{ amount | round: 1.5 }}", "round expects a whole number literal"},
      {"{{ amount | round: 19 }}", "round takes at most 18 digits"},
      {"{{ amount | times: 'abc' }}", "times expects a number"},
      {"{{ amount | divided_by: 0 }}", "divided_by: division by zero"},
      {"{{ amount | divided_by: '0.00' }}", "divided_by: division by zero"},
      {"{{ booking_date | date: '%H:%M' }}", "directive '%H' is not supported"},
      {"{{ booking_date | date: '%' }}", "lone '%'"},
      {"{{ booking_date | date: booking_date }}", "date expects a quoted format"},
      {"{{ creditor.name", "unterminated '{{' at offset 0"},
      {"x {{ creditor.name | upcase", "unterminated '{{' at offset 2"},
      {"{{", "unterminated '{{' at offset 0"},
      {"{{ }}", "empty '{{ }}' at offset 0"},
      {"{{ 'abc }}", "unterminated string at offset 3"},
      {"{% if x %}y{% endif %}", "Liquid tags ({% ... %}) are not supported at offset 0"},
      {"{{ creditor.name debtor.name }}", "expected '|' or '}}' at offset 17, found 'd'"},
      {"{{ 1.2.3 }}", "invalid number '1.2.3' at offset 3"},
      {"{{ 12abc }}", "invalid number"},
      {"{{ amount | }}", "expected a filter name after '|' at offset 12"},
      {"{{ amount | plus: }}", "expected a field, a quoted string or a number at offset 18"},
      {"{{ creditor. }}", "expected a field name at offset 12"},
      {"{unknown}", "unknown field 'unknown' at offset 1"},
      {"{amount*}", "expected a number at offset 8 in the {field*number} form"},
      {"{amount*x}", "expected a number"},
      {"{amount%2}", "expected '}', '*', '+', '-' or '/' at offset 7"},
      {"{amount*2x}", "invalid number"},
      {"{creditor.name*2}", "needs the money field, not 'creditor.name'"},
      {"{amount", "unterminated '{' at offset 0"},
      {"{amount/0}", "divided_by: division by zero"},
      {std::string(2001, 'x'), "template is longer than 2000 bytes"},
      {many_filters, "more than 20 filters"},
  };
  for (const CompileErrorCase& test_case : cases) {
    const Result<Template> compiled = Template::Compile(test_case.source);
    ASSERT_FALSE(compiled.ok()) << test_case.source;
    EXPECT_EQ(compiled.error().code, ErrorCode::kValidationFailed);
    EXPECT_NE(compiled.error().detail.find(test_case.message_part), std::string::npos)
        << test_case.source << ": '" << compiled.error().detail << "' lacks '"
        << test_case.message_part << "'";
  }
}

TEST(TemplateTest, DataProblemsFailTheRenderWithAReason) {
  // Proves the failures that depend on the transaction are reported by Render, not hidden:
  // text that is not a number, division by zero, overflow, bad dates, unknown currencies and
  // values that would grow past the limit.
  domain::BankTransaction transaction = CardPayment();
  transaction.merchant_category_code = "0";
  domain::BankTransaction unknown_currency = CardPayment();
  unknown_currency.currency = "XYZ";
  std::string growth = "{{ 'aaaaaaaaaa'";
  for (int32_t step = 0; step < 5; ++step) growth += " | replace: 'a', 'aaaaaaaaaa'";
  growth += " }}";
  struct Case {
    std::string source;
    const domain::BankTransaction& subject;
    std::string_view message;
  };
  const Case cases[] = {
      {"{{ creditor.name | plus: 1 }}", transaction, "plus: 'Spotify AB' is not a number"},
      {"{{ amount | divided_by: entry_reference }}", transaction,
       "divided_by: argument '' is not a number"},
      {"{{ amount | divided_by: merchant_category_code }}", transaction,
       "divided_by: division by zero"},
      {"{{ 9223372036854775807 | plus: 1 }}", transaction, "plus: the result is too large"},
      {"{{ -9223372036854775808 | abs }}", transaction, "abs: the result is too large"},
      {"{{ 0.000000001 | times: 0.0000000001 | times: 3 }}", transaction,
       "times: the result needs more than 18 decimals"},
      {"{{ creditor.name | date: '%Y' }}", transaction,
       "date: 'Spotify AB' is not a date (YYYY-MM-DD)"},
      {"{{ booked | times: 2 }}", transaction, "times: 'true' is not a number"},
      {"{{ amount }}", unknown_currency,
       "amount: the transaction's currency 'XYZ' is not a known currency"},
      {growth, transaction, "replace: the result is longer than 65536 bytes"},
  };
  for (const Case& test_case : cases) {
    const Result<Template> compiled = Template::Compile(test_case.source);
    ASSERT_TRUE(compiled.ok()) << test_case.source << ": " << compiled.error().detail;
    const Result<std::string> rendered = compiled.value().Render(test_case.subject, Everyday());
    ASSERT_FALSE(rendered.ok()) << test_case.source << " rendered " << rendered.value();
    EXPECT_EQ(rendered.error().detail, test_case.message) << test_case.source;
  }
}

TEST(TemplateTest, ConstantTemplatesAreRecognised) {
  // Proves is_constant is true exactly when no field is referenced, so constant values can be
  // checked when a rule is saved.
  const std::pair<std::string_view, bool> cases[] = {
      {"", true},
      {"Groceries", true},
      {"{{ 'x' | upcase | append: 'y' }}", true},
      {"{{ amount }}", false},
      {"{{ 'x' | append: creditor.name }}", false},
      {"{amount*-1}", false},
  };
  for (const auto& [source, constant] : cases) {
    EXPECT_EQ(Template::Compile(source).value().is_constant(), constant) << source;
  }
}

}  // namespace
}  // namespace finsync::rules
