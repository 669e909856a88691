// The fields a condition or a template can read, by path ("creditor.name"). A path is resolved
// once, when a rule is compiled, to a FieldId; reading a field at run time is then a switch on
// that id returning a view into the transaction, with no string lookup and no allocation.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/date.h"
#include "domain/transaction.h"

namespace finsync::rules {

// What rules know about the bank account a transaction belongs to. The views must outlive
// the evaluation they are passed to.
struct AccountContext {
  std::string_view name;
  std::string_view iban;
  std::string_view currency;
};

// Decides which operators apply and how the condition value is read.
enum class FieldType : uint8_t {
  kText,     // Compared as bytes, optionally case-insensitively (see text.h).
  kMoney,    // Exact decimal in the transaction's currency.
  kDate,     // A calendar day that may be missing; compared as a date.
  kBoolean,  // "true" or "false".
};

enum class FieldId : uint8_t {
  kAmount,
  kCurrency,
  kBooked,
  kStatus,
  kBookingDate,
  kValueDate,
  kCreditorName,
  kCreditorAccount,
  kDebtorName,
  kDebtorAccount,
  kRemittanceInformationUnstructured,
  kRemittanceInformationStructured,
  kAdditionalInformation,
  kBankTransactionCode,
  kMerchantCategoryCode,
  kGeneratedPayee,
  kGeneratedDescription,
  kGeneratedDate,
  kTransactionId,
  kInternalTransactionId,
  kEntryReference,
  kSource,
  kBankAccountName,
  kBankAccountIban,
  kBankAccountCurrency,
};

struct FieldInfo {
  FieldId id;
  FieldType type;
  std::string_view path;
};

// Every readable field in FieldId order.
std::span<const FieldInfo> AllFields();
const FieldInfo& FieldInfoOf(FieldId id);

// Resolves an exact path (lower case, as listed by AllFields); nullopt for anything else.
std::optional<FieldInfo> FindField(std::string_view path);

// "amount, currency, booked, ..." for error messages that must say what would have worked.
std::string FieldPathList();

std::string_view FieldTypeName(FieldType type);

// Readers; each requires a field of the matching type (checked by assertion). Text fields never
// fail: a field the bank left out reads as "". status reads "BOOKED" or "PENDING".
// creditor.account and debtor.account read the IBAN, or the other account identifier when the
// bank gave no IBAN. ReadText is inline because every text condition calls it.
inline std::string_view ReadText(FieldId id, const domain::BankTransaction& transaction,
                                 const AccountContext& account);
std::optional<domain::Date> ReadDate(FieldId id, const domain::BankTransaction& transaction);
bool ReadBoolean(FieldId id, const domain::BankTransaction& transaction);

// The exponent of the transaction's currency, or -1 when the code is not a known ISO 4217
// currency (then the amount has no defined meaning and money conditions never match).
int32_t CurrencyExponent(std::string_view currency_code);

// The largest exponent of any known currency (4, for CLF): a decimal with more digits than
// this can never be an amount, whatever the transaction's currency.
int32_t CurrencyExponentMax();

inline std::string_view PartyAccount(const domain::Party& party) {
  return party.account_iban.empty() ? std::string_view(party.account_other)
                                    : std::string_view(party.account_iban);
}

[[gnu::always_inline]] inline std::string_view ReadText(FieldId id,
                                                        const domain::BankTransaction& transaction,
                                                        const AccountContext& account) {
  switch (id) {
    case FieldId::kCurrency:
      return transaction.currency;
    case FieldId::kStatus:
      return transaction.booked() ? "BOOKED" : "PENDING";
    case FieldId::kCreditorName:
      return transaction.creditor.name;
    case FieldId::kCreditorAccount:
      return PartyAccount(transaction.creditor);
    case FieldId::kDebtorName:
      return transaction.debtor.name;
    case FieldId::kDebtorAccount:
      return PartyAccount(transaction.debtor);
    case FieldId::kRemittanceInformationUnstructured:
      return transaction.remittance_information_unstructured;
    case FieldId::kRemittanceInformationStructured:
      return transaction.remittance_information_structured;
    case FieldId::kAdditionalInformation:
      return transaction.additional_information;
    case FieldId::kBankTransactionCode:
      return transaction.bank_transaction_code;
    case FieldId::kMerchantCategoryCode:
      return transaction.merchant_category_code;
    case FieldId::kGeneratedPayee:
      return transaction.generated.payee;
    case FieldId::kGeneratedDescription:
      return transaction.generated.description;
    case FieldId::kTransactionId:
      return transaction.transaction_id;
    case FieldId::kInternalTransactionId:
      return transaction.internal_transaction_id;
    case FieldId::kEntryReference:
      return transaction.entry_reference;
    case FieldId::kSource:
      return transaction.source;
    case FieldId::kBankAccountName:
      return account.name;
    case FieldId::kBankAccountIban:
      return account.iban;
    case FieldId::kBankAccountCurrency:
      return account.currency;
    case FieldId::kAmount:
    case FieldId::kBooked:
    case FieldId::kBookingDate:
    case FieldId::kValueDate:
    case FieldId::kGeneratedDate:
      break;
  }
  assert(false && "ReadText on a field that is not text");
  return {};
}

}  // namespace finsync::rules
