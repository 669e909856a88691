// The sandbox banks: what the catalog shows about each (id, BIC, limits) and how each one
// writes its statements. Real banks disagree on where the merchant goes, whether pending
// transactions carry ids and which balances they report; the sandbox banks disagree the same
// ways, so the generated-field configuration and the ingest are exercised on every variant.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace finsync::sources::sandbox {

// Where a bank writes the merchant of a card payment.
enum class MerchantField : uint8_t {
  kRemittance,             // remittanceInformationUnstructured: "CARD 1234 ALBERT HEIJN ..."
  kCreditorName,           // creditorName: "Albert Heijn 1021"
  kAdditionalInformation,  // additionalInformation: "ICA SUPERMARKET 1021 STOCKHOLM SE"
};

// What a pending transaction carries as transactionId.
enum class PendingIdStyle : uint8_t {
  kNone,       // No id at all until it books.
  kTemporary,  // A "PDNG-..." id that is replaced when it books.
};

struct BankProfile {
  // What the catalog publishes.
  std::string_view id;
  std::string_view name;
  std::string_view bic;
  std::array<std::string_view, 3> countries;  // Unused entries are empty.
  std::string_view logo_url;
  bool supports_pending_transactions = true;
  int32_t max_historical_days = 730;
  int32_t max_access_valid_for_days = 180;

  // How the bank behaves.
  std::string_view home_country;  // IBAN country and where its customers live and shop.
  std::string_view currency;      // Of the checking and savings accounts.
  std::string_view bank_code;     // The national bank code inside its IBANs.
  MerchantField merchant_field = MerchantField::kRemittance;
  PendingIdStyle pending_ids = PendingIdStyle::kNone;
  bool internal_id_survives_booking = false;  // Pending and booked share internalTransactionId.
  bool remittance_array = false;              // Also fills ...UnstructuredArray.
  bool reports_expected_balance = false;      // "expected" instead of "interimAvailable".
};

// Every sandbox bank, sorted by id.
std::span<const BankProfile> SandboxBankProfiles();

// nullptr when `bank_id` is not a sandbox bank.
const BankProfile* FindSandboxBankProfile(std::string_view bank_id);

}  // namespace finsync::sources::sandbox
