// The bank transaction as finsync stores it: everything a bank (or a file, or the sandbox)
// told us, normalised, plus the generated fields that users see and rules change. Money is
// int64 minor units in the currency's ISO 4217 exponent; never a floating-point number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "domain/currency.h"
#include "domain/date.h"

namespace finsync::domain {

enum class BookingStatus : uint8_t { kBooked, kPending };

// A counterparty as banks describe it (creditor for outgoing money, debtor for incoming).
struct Party {
  std::string name;
  std::string account_iban;   // Empty when the bank gives none.
  std::string account_other;  // Any other account identifier (BBAN, card PAN masked, ...).
};

// The three fields users see and rules edit most; derived from the bank's fields by the
// account's configuration (see ingest), then changeable by BANK rules.
struct GeneratedFields {
  std::string payee;
  std::string description;
  std::optional<Date> date;
};

struct BankTransaction {
  int64_t id = 0;  // 0 until stored.
  int64_t user_id = 0;
  int64_t bank_account_id = 0;

  // Identifiers from the source. Booked transactions usually have a transaction_id; pending
  // ones often do not, and their ids may change when they book.
  std::string transaction_id;
  std::string internal_transaction_id;
  std::string entry_reference;

  BookingStatus status = BookingStatus::kBooked;
  std::optional<Date> booking_date;
  std::optional<Date> value_date;
  std::optional<Timestamp> booking_datetime;
  std::optional<Timestamp> value_datetime;

  int64_t amount_minor = 0;  // Signed: negative is money leaving the account.
  std::string currency;      // ISO 4217 code, upper case.

  Party creditor;
  Party debtor;
  std::string remittance_information_unstructured;
  std::string remittance_information_structured;
  std::string additional_information;
  std::string bank_transaction_code;
  std::string merchant_category_code;

  GeneratedFields generated;

  std::string source;       // "sandbox", "manual", "file", "gocardless", ...
  std::string raw_payload;  // The source's record as JSON text, kept for audit and re-parsing.

  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;

  bool booked() const { return status == BookingStatus::kBooked; }
};

}  // namespace finsync::domain
