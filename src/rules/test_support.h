// Shared fixtures for the rules tests: one realistic card payment whose every field is known,
// so table rows can state exact expected outcomes.
#pragma once

#include <string>

#include "domain/date.h"
#include "domain/transaction.h"
#include "rules/field_path.h"
#include "rules/rule.h"

namespace finsync::rules::testing {

inline domain::Date DateOf(int32_t year, int32_t month, int32_t day) {
  return *domain::Date::FromYearMonthDay(year, month, day);
}

// -42.50 EUR to Spotify, booked 2025-03-14, value date 2025-03-15, no generated date and no
// entry reference (the empty fields).
inline domain::BankTransaction CardPayment() {
  domain::BankTransaction transaction;
  transaction.id = 42;
  transaction.transaction_id = "TX-1";
  transaction.status = domain::BookingStatus::kBooked;
  transaction.booking_date = DateOf(2025, 3, 14);
  transaction.value_date = DateOf(2025, 3, 15);
  transaction.amount_minor = -4250;
  transaction.currency = "EUR";
  transaction.creditor.name = "Spotify AB";
  transaction.creditor.account_iban = "SE3550000000054910000003";
  transaction.debtor.name = "Ola Nordmann";
  transaction.debtor.account_other = "1234.56.78903";
  transaction.remittance_information_unstructured = "CARD PAYMENT SPOTIFY P2F3 STOCKHOLM";
  transaction.remittance_information_structured = "RF18539007547034";
  transaction.additional_information = "Card 1234";
  transaction.bank_transaction_code = "PMNT-CCRD-POSD";
  transaction.merchant_category_code = "5815";
  transaction.generated.payee = "Spotify";
  transaction.generated.description = "Spotify Premium";
  transaction.source = "sandbox";
  return transaction;
}

inline AccountContext Everyday() { return AccountContext{"Everyday", "NO9386011117947", "EUR"}; }

inline Condition ConditionOf(std::string field_name, Operator operation, std::string value,
                             bool case_sensitive = false) {
  Condition condition;
  condition.field_name = std::move(field_name);
  condition.operation = operation;
  condition.value = std::move(value);
  condition.case_sensitive = case_sensitive;
  return condition;
}

inline Action ActionOf(ActionType type, std::string field_name, std::string value, int64_t id = 0) {
  Action action;
  action.id = id;
  action.type = type;
  action.field_name = std::move(field_name);
  action.value = std::move(value);
  return action;
}

}  // namespace finsync::rules::testing
