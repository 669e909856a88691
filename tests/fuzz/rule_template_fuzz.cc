// Fuzzes template compilation and rendering. Input layout: byte 0 picks the transaction the
// template is rendered for (currency and which fields are empty); the rest is template source.
//
// Invariants checked, with checks that stay on in release builds:
// - Compile never crashes; a refusal is kValidationFailed with a message.
// - Render never crashes; its output fits kRenderedLengthMax and a refusal carries a message.
// - Compiling the same source twice gives the same template (same outputs, same constancy).
// - A constant template renders the same for every transaction.
// - Source without any brace is plain text and renders as itself.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "domain/transaction.h"
#include "rules/field_path.h"
#include "rules/rule.h"
#include "rules/template.h"

namespace {

using finsync::Result;
using finsync::rules::AccountContext;
using finsync::rules::Template;

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "rule_template_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

constexpr const char* kCurrencies[] = {"EUR", "JPY", "KWD", "XXX"};

finsync::domain::BankTransaction Subject(uint8_t selector) {
  finsync::domain::BankTransaction transaction;
  transaction.id = 7;
  transaction.currency = kCurrencies[selector % 4];
  transaction.amount_minor = (selector & 0x10) ? -123456 : 9223372036854775807;
  transaction.booking_date = finsync::domain::Date::FromYearMonthDay(2024, 2, 29);
  if (selector & 0x20) transaction.value_date = finsync::domain::Date::FromYearMonthDay(1, 1, 1);
  if (selector & 0x40) {
    transaction.creditor.name = "Ørjan Ødegård AS";
    transaction.remittance_information_unstructured = "CARD 1234,5678 ,, 9.50 ";
    transaction.merchant_category_code = "5411";
    transaction.generated.payee = "  -12.5  ";
  }
  if (selector & 0x80) transaction.status = finsync::domain::BookingStatus::kPending;
  return transaction;
}

const AccountContext kAccount{"Everyday", "NO9386011117947", "NOK"};

void CheckRendered(const Result<std::string>& rendered) {
  if (rendered.ok()) {
    Check(rendered.value().size() <= finsync::rules::kRenderedLengthMax, "output within limit");
  } else {
    Check(!rendered.error().detail.empty(), "a render failure has a message");
  }
}

bool SameOutcome(const Result<std::string>& left, const Result<std::string>& right) {
  if (left.ok() != right.ok()) return false;
  return left.ok() ? left.value() == right.value() : left.error().detail == right.error().detail;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const finsync::domain::BankTransaction subject = Subject(data[0]);
  const finsync::domain::BankTransaction other = Subject(static_cast<uint8_t>(~data[0]));
  const std::string_view source(reinterpret_cast<const char*>(data + 1), size - 1);

  const Result<Template> compiled = Template::Compile(source);
  if (!compiled.ok()) {
    Check(compiled.error().code == finsync::ErrorCode::kValidationFailed, "refusal is 422");
    Check(!compiled.error().detail.empty(), "a refusal has a message");
    return 0;
  }
  const Result<std::string> rendered = compiled.value().Render(subject, kAccount);
  CheckRendered(rendered);

  const Result<Template> again = Template::Compile(source);
  Check(again.ok(), "compilation is deterministic");
  Check(again.value().is_constant() == compiled.value().is_constant(), "same constancy");
  Check(SameOutcome(again.value().Render(subject, kAccount), rendered), "same rendering");

  const Result<std::string> rendered_other = compiled.value().Render(other, kAccount);
  CheckRendered(rendered_other);
  if (compiled.value().is_constant()) {
    Check(SameOutcome(rendered, rendered_other), "a constant template ignores the transaction");
  }
  if (source.find_first_of("{}") == std::string_view::npos) {
    Check(rendered.ok() && rendered.value() == source, "plain text renders as itself");
  }
  return 0;
}
