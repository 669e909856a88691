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
    case kText:
      return "text";
    case kMoney:
      return "money";
    case kDate:
      return "date";
    case kBoolean:
      return "boolean";
  }
  return "unknown";
}

std::optional<domain::Date> ReadDate(FieldId id, const domain::BankTransaction& transaction) {
  switch (id) {
    case kBookingDate:
      return transaction.booking_date;
    case kValueDate:
      return transaction.value_date;
    case kGeneratedDate:
      return transaction.generated.date;
    default:
      break;
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
  // Rules look the exponent up for every transaction, so the table is indexed directly by the
  // three letters instead of searched: 26^3 one-byte entries, built once.
  static const std::array<int8_t, 26 * 26 * 26> kExponentByCode = [] {
    std::array<int8_t, 26 * 26 * 26> table;
    table.fill(-1);
    for (const domain::Currency& currency : domain::Currency::All()) {
      const std::string_view code = currency.code();
      const size_t index =
          static_cast<size_t>(((code[0] - 'A') * 26 + code[1] - 'A') * 26 + (code[2] - 'A'));
      table[index] = static_cast<int8_t>(currency.exponent());
    }
    return table;
  }();
  if (currency_code.size() != 3) return -1;
  size_t index = 0;
  for (char letter : currency_code) {
    if (letter < 'A' || letter > 'Z') return -1;
    index = index * 26 + static_cast<size_t>(letter - 'A');
  }
  return kExponentByCode[index];
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
