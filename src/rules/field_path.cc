#include "rules/field_path.h"

#include <algorithm>
#include <array>
#include <cassert>

#include "domain/currency.h"

namespace finsync::rules {
namespace {

using enum FieldId;
using enum FieldType;

// In FieldId order, so FieldInfoOf is an index.
constexpr std::array<FieldInfo, 25> kFields = {{
    {kAmount, kMoney, "amount"},
    {kCurrency, kText, "currency"},
    {kBooked, kBoolean, "booked"},
    {kStatus, kText, "status"},
    {kBookingDate, kDate, "booking_date"},
    {kValueDate, kDate, "value_date"},
    {kCreditorName, kText, "creditor.name"},
    {kCreditorAccount, kText, "creditor.account"},
    {kDebtorName, kText, "debtor.name"},
    {kDebtorAccount, kText, "debtor.account"},
    {kRemittanceInformationUnstructured, kText, "remittance_information.unstructured"},
    {kRemittanceInformationStructured, kText, "remittance_information.structured"},
    {kAdditionalInformation, kText, "additional_information"},
    {kBankTransactionCode, kText, "bank_transaction_code"},
    {kMerchantCategoryCode, kText, "merchant_category_code"},
    {kGeneratedPayee, kText, "generated.payee"},
    {kGeneratedDescription, kText, "generated.description"},
    {kGeneratedDate, kDate, "generated.date"},
    {kTransactionId, kText, "transaction_id"},
    {kInternalTransactionId, kText, "internal_transaction_id"},
    {kEntryReference, kText, "entry_reference"},
    {kSource, kText, "source"},
    {kBankAccountName, kText, "bank_account.name"},
    {kBankAccountIban, kText, "bank_account.iban"},
    {kBankAccountCurrency, kText, "bank_account.currency"},
}};

constexpr bool FieldsInIdOrder() {
  for (size_t index = 0; index < kFields.size(); ++index) {
    if (static_cast<size_t>(kFields[index].id) != index) return false;
  }
  return true;
}
static_assert(FieldsInIdOrder());

std::string_view AccountOf(const domain::Party& party) {
  return party.account_iban.empty() ? std::string_view(party.account_other)
                                    : std::string_view(party.account_iban);
}

}  // namespace

std::span<const FieldInfo> AllFields() { return kFields; }

const FieldInfo& FieldInfoOf(FieldId id) { return kFields[static_cast<size_t>(id)]; }

std::optional<FieldInfo> FindField(std::string_view path) {
  for (const FieldInfo& field : kFields) {
    if (field.path == path) return field;
  }
  return std::nullopt;
}

std::string FieldPathList() {
  std::string list;
  for (const FieldInfo& field : kFields) {
    if (!list.empty()) list += ", ";
    list += field.path;
  }
  return list;
}

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case kText: return "text";
    case kMoney: return "money";
    case kDate: return "date";
    case kBoolean: return "boolean";
  }
  return "unknown";
}

std::string_view ReadText(FieldId id, const domain::BankTransaction& transaction,
                          const AccountContext& account) {
  switch (id) {
    case kCurrency: return transaction.currency;
    case kStatus: return transaction.booked() ? "BOOKED" : "PENDING";
    case kCreditorName: return transaction.creditor.name;
    case kCreditorAccount: return AccountOf(transaction.creditor);
    case kDebtorName: return transaction.debtor.name;
    case kDebtorAccount: return AccountOf(transaction.debtor);
    case kRemittanceInformationUnstructured:
      return transaction.remittance_information_unstructured;
    case kRemittanceInformationStructured: return transaction.remittance_information_structured;
    case kAdditionalInformation: return transaction.additional_information;
    case kBankTransactionCode: return transaction.bank_transaction_code;
    case kMerchantCategoryCode: return transaction.merchant_category_code;
    case kGeneratedPayee: return transaction.generated.payee;
    case kGeneratedDescription: return transaction.generated.description;
    case kTransactionId: return transaction.transaction_id;
    case kInternalTransactionId: return transaction.internal_transaction_id;
    case kEntryReference: return transaction.entry_reference;
    case kSource: return transaction.source;
    case kBankAccountName: return account.name;
    case kBankAccountIban: return account.iban;
    case kBankAccountCurrency: return account.currency;
    case kAmount:
    case kBooked:
    case kBookingDate:
    case kValueDate:
    case kGeneratedDate: break;
  }
  assert(false && "ReadText on a field that is not text");
  return {};
}

std::optional<domain::Date> ReadDate(FieldId id, const domain::BankTransaction& transaction) {
  switch (id) {
    case kBookingDate: return transaction.booking_date;
    case kValueDate: return transaction.value_date;
    case kGeneratedDate: return transaction.generated.date;
    default: break;
  }
  assert(false && "ReadDate on a field that is not a date");
  return std::nullopt;
}

bool ReadBoolean(FieldId id, const domain::BankTransaction& transaction) {
  assert(id == kBooked);
  (void)id;
  return transaction.booked();
}

int32_t CurrencyExponent(std::string_view currency_code) {
  const std::optional<domain::Currency> currency = domain::Currency::FromCode(currency_code);
  return currency ? currency->exponent() : -1;
}

int32_t CurrencyExponentMax() {
  static const int32_t kExponentMax = [] {
    int32_t exponent_max = 0;
    for (const domain::Currency& currency : domain::Currency::All()) {
      exponent_max = std::max(exponent_max, currency.exponent());
    }
    return exponent_max;
  }();
  return kExponentMax;
}

}  // namespace finsync::rules
