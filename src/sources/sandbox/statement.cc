// How a sandbox bank writes one event into a statement line: ids, dates, the texts in the
// fields that bank uses, the bank transaction code, and the raw payload in GoCardless's field
// names. Implements MaterialiseTransaction from generator.h.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <string>
#include <string_view>

#include "domain/date.h"
#include "domain/money.h"
#include "sources/sandbox/generator.h"
#include "sources/sandbox/hash.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerDay = 86'400'000;
constexpr int32_t kSandboxExponent = 2;  // EUR, GBP, SEK and every foreign currency used.
constexpr char kHexDigits[] = "0123456789ABCDEF";

constexpr uint64_t kSaltBookedId = 0xB00C;
constexpr uint64_t kSaltPendingId = 0x9E7D;
constexpr uint64_t kSaltInternalId = 0x1D1D;
constexpr uint64_t kSaltPendingInternalId = 0x1D9E;

// RapidJSON's own string buffer: its writer specialisation reserves once per value instead of
// checking capacity per byte, which makes the payload several times faster to write.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void AppendDigits(std::string& out, int64_t value, int32_t width) {
  char digits[20];
  for (int32_t index = width - 1; index >= 0; --index) {
    digits[index] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<size_t>(width));
}

void AppendHex(std::string& out, uint64_t value, int32_t digit_count) {
  for (int32_t index = digit_count - 1; index >= 0; --index) {
    out.push_back(kHexDigits[(value >> (4 * index)) & 0xF]);
  }
}

domain::Date DateOfDay(int64_t day) { return *domain::Date::FromDaysSinceEpoch(day); }

// "YYYY-MM-DD", or "YYYYMMDD" when compact.
void AppendDate(std::string& out, const domain::Date& date, bool compact = false) {
  AppendDigits(out, date.year(), 4);
  if (!compact) out.push_back('-');
  AppendDigits(out, date.month(), 2);
  if (!compact) out.push_back('-');
  AppendDigits(out, date.day(), 2);
}

// "YYYY-MM": the month a salary, rent or fee is for.
void AppendMonth(std::string& out, const domain::Date& date) {
  AppendDigits(out, date.year(), 4);
  out.push_back('-');
  AppendDigits(out, date.month(), 2);
}

void AppendClock(std::string& out, int32_t second) {
  AppendDigits(out, second / 3600, 2);
  out.push_back(':');
  AppendDigits(out, second / 60 % 60, 2);
}

// RFC 3339 in UTC, whole seconds: "2025-03-01T14:23:05Z".
void AppendTimestamp(std::string& out, const domain::Date& date, int32_t second) {
  AppendDate(out, date);
  out.push_back('T');
  AppendClock(out, second);
  out.push_back(':');
  AppendDigits(out, second % 60, 2);
  out.push_back('Z');
}

domain::Timestamp TimestampOf(int64_t day, int32_t second) {
  return *domain::Timestamp::FromUnixTimeMs(day * kMillisecondsPerDay + int64_t{second} * 1000);
}

struct CardMerchant {
  std::string_view name;
  std::string_view statement_name;
  std::string_view city_statement_name;
  std::string_view country_code;
  std::string_view category_code;
};

constexpr CardMerchant kSubscriptionMerchants[] = {
    {"Netflix", "NETFLIX.COM", "AMSTERDAM", "NL", "4899"},
    {"Spotify", "SPOTIFY", "STOCKHOLM", "SE", "5815"},
};

CardMerchant CardMerchantOf(const SandboxAccount& account, const Event& event) {
  if (event.kind == EventKind::kSubscriptionCard) return kSubscriptionMerchants[event.merchant];
  if (event.kind == EventKind::kForeignCardPayment) {
    const ForeignMerchant& merchant = ForeignMerchants()[event.merchant];
    return {merchant.name, merchant.statement_name, merchant.city_statement_name,
            merchant.country_code, "5999"};
  }
  const CountryProfile& country = *account.merchant_country;
  const Merchant& merchant = country.merchants[static_cast<size_t>(event.category)][event.merchant];
  return {merchant.name, merchant.statement_name, country.cities[event.city].statement_name,
          country.code, MerchantCategoryCode(event.category)};
}

// Everything one materialisation needs, so the helpers below take one argument.
struct Line {
  const Household& household;
  const SandboxAccount& account;
  const Event& event;
  bool booked;
  domain::BankTransaction& transaction;
  domain::Date value_date;  // Converted once: several texts repeat it.
  domain::Date booking_date;
  size_t remittance_split = 0;  // Where banks with two remittance lines break the text.
};

void FillIds(Line& line) {
  const BankProfile& bank = *line.household.bank;
  const uint64_t identity = line.event.identity;
  domain::BankTransaction& transaction = line.transaction;
  if (line.booked) {
    AppendDate(transaction.transaction_id, line.booking_date, /*compact=*/true);
    transaction.transaction_id.push_back('-');
    AppendHex(transaction.transaction_id, Mix64(identity ^ kSaltBookedId), 12);
  } else if (bank.pending_ids == PendingIdStyle::kTemporary) {
    transaction.transaction_id = "PDNG-";
    AppendHex(transaction.transaction_id, Mix64(identity ^ kSaltPendingId), 16);
  }
  const bool booked_internal_id = line.booked || bank.internal_id_survives_booking;
  if (!booked_internal_id && bank.pending_ids == PendingIdStyle::kNone) return;
  const uint64_t salt = booked_internal_id ? kSaltInternalId : kSaltPendingInternalId;
  AppendHex(transaction.internal_transaction_id, Mix64(identity ^ salt), 16);
  AppendHex(transaction.internal_transaction_id, Mix64(identity ^ salt ^ 0xFFFF), 16);
}

void AppendForeignNote(Line& line) {
  const Event& event = line.event;
  const ForeignMerchant& merchant = ForeignMerchants()[event.merchant];
  std::string& note = line.transaction.additional_information;
  if (!note.empty()) note.append("; ");
  note.append("Original amount ")
      .append(domain::FormatDecimalAmount(event.foreign_amount_minor, kSandboxExponent))
      .append(" ")
      .append(merchant.currency)
      .append(", rate ")
      .append(domain::FormatDecimalAmount(event.exchange_rate_micros, 6));
}

void FillCardTexts(Line& line, const CardMerchant& merchant, bool credit) {
  domain::BankTransaction& transaction = line.transaction;
  domain::Party& party = credit ? transaction.debtor : transaction.creditor;
  std::string label(merchant.statement_name);
  if (line.event.store_number != 0) {
    label.push_back(' ');
    AppendDigits(label, line.event.store_number, 4);
  }
  std::string& remittance = transaction.remittance_information_unstructured;
  switch (line.household.bank->merchant_field) {
    case MerchantField::kRemittance:
      if (line.booked) {
        remittance.append(credit ? "REFUND " : "CARD ");
        AppendDigits(remittance, line.account.card_last_digits, 4);
        line.remittance_split = remittance.size();
        remittance.push_back(' ');
      }
      remittance.append(label).append(" ").append(merchant.city_statement_name);
      break;
    case MerchantField::kCreditorName:
      if (!line.booked) {
        party.name.append(label).append(" ").append(merchant.city_statement_name);
        break;
      }
      party.name.append(merchant.name);
      if (line.event.store_number != 0) party.name.append(label, merchant.statement_name.size());
      remittance.append(credit ? "Card refund " : "Card payment ");
      AppendDigits(remittance, line.account.card_last_digits, 4);
      line.remittance_split = remittance.size();
      remittance.push_back(' ');
      AppendDate(remittance, line.value_date);
      remittance.push_back(' ');
      AppendClock(remittance, line.event.occurred_second);
      break;
    case MerchantField::kAdditionalInformation:
      transaction.additional_information.append(label);
      if (!line.booked) break;
      transaction.additional_information.append(" ")
          .append(merchant.city_statement_name)
          .append(" ")
          .append(merchant.country_code);
      remittance.append(credit ? "CARD REFUND" : "CARD PURCHASE");
      break;
  }
}

void FillCard(Line& line) {
  const Event& event = line.event;
  const bool credit = event.kind == EventKind::kCardRefund;
  const CardMerchant merchant = CardMerchantOf(line.account, event);
  FillCardTexts(line, merchant, credit);
  if (event.kind == EventKind::kForeignCardPayment) AppendForeignNote(line);
  line.transaction.merchant_category_code = merchant.category_code;
  line.transaction.bank_transaction_code = event.kind == EventKind::kCashWithdrawal
                                               ? "PMNT-CCRD-CWDL"
                                           : credit ? "PMNT-CCRD-RIMB"
                                                    : "PMNT-CCRD-POSD";
}

void SetParty(domain::Party& party, std::string_view name, std::string_view iban) {
  party.name = name;
  party.account_iban = iban;
}

// Texts like "SALARY 2025-03": a word, the month the payment is for, then any detail.
void SetMonthlyRemittance(Line& line, std::string_view word, std::string_view detail = {}) {
  std::string& remittance = line.transaction.remittance_information_unstructured;
  remittance.append(word).push_back(' ');
  AppendMonth(remittance, line.value_date);
  if (!detail.empty()) remittance.append(" ").append(detail);
}

void FillTransfer(Line& line) {
  const Household& household = line.household;
  const SandboxAccount& other = household.accounts[line.event.other_account];
  domain::BankTransaction& transaction = line.transaction;
  const bool outgoing = line.event.kind == EventKind::kTransferOut;
  SetParty(outgoing ? transaction.creditor : transaction.debtor, household.owner_name, other.iban);
  // Both sides carry the same text, as banks do for transfers between own accounts.
  const SandboxAccount& receiver = outgoing ? other : line.account;
  transaction.remittance_information_unstructured =
      receiver.kind == AccountKind::kSavings ? "TRANSFER TO SAVINGS"
                                             : "TOP-UP " + receiver.currency + " ACCOUNT";
  transaction.bank_transaction_code = outgoing ? "PMNT-ICDT-BOOK" : "PMNT-RCDT-BOOK";
}

void FillScheduled(Line& line) {
  const Household& household = line.household;
  domain::BankTransaction& transaction = line.transaction;
  switch (line.event.kind) {
    case EventKind::kSalary:
      SetParty(transaction.debtor, household.employer, household.employer_iban);
      SetMonthlyRemittance(line, "SALARY");
      transaction.bank_transaction_code = "PMNT-RCDT-SALA";
      break;
    case EventKind::kRent:
      SetParty(transaction.creditor, household.landlord, household.landlord_iban);
      SetMonthlyRemittance(line, "RENT", household.apartment);
      transaction.bank_transaction_code = "PMNT-ICDT-STDO";
      break;
    case EventKind::kDirectDebit:
      SetParty(transaction.creditor, household.country->gym.name, household.gym_iban);
      SetMonthlyRemittance(line, "MEMBERSHIP", "MANDATE " + household.gym_mandate);
      transaction.bank_transaction_code = "PMNT-IDDT-ESDD";
      break;
    case EventKind::kAccountFee:
      transaction.creditor.name = household.bank->name;
      SetMonthlyRemittance(line, "ACCOUNT FEE");
      transaction.bank_transaction_code = "ACMT-MDOP-CHRG";
      break;
    case EventKind::kInterest:
      transaction.debtor.name = household.bank->name;
      SetMonthlyRemittance(line, "INTEREST");
      transaction.bank_transaction_code = "ACMT-MCOP-INTR";
      break;
    default:
      FillTransfer(line);
      break;
  }
}

bool IsCardEvent(EventKind kind) {
  return kind == EventKind::kCardPayment || kind == EventKind::kCashWithdrawal ||
         kind == EventKind::kCardRefund || kind == EventKind::kForeignCardPayment ||
         kind == EventKind::kSubscriptionCard;
}

void WriteField(JsonWriter& writer, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void WriteAmount(JsonWriter& writer, std::string_view key, int64_t amount_minor,
                 std::string_view currency) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.StartObject();
  WriteField(writer, "amount", domain::FormatDecimalAmount(amount_minor, kSandboxExponent));
  WriteField(writer, "currency", currency);
  writer.EndObject();
}

void WriteParty(JsonWriter& writer, std::string_view name_key, std::string_view account_key,
                const domain::Party& party) {
  WriteField(writer, name_key, party.name);
  if (party.account_iban.empty()) return;
  writer.Key(account_key.data(), static_cast<rapidjson::SizeType>(account_key.size()));
  writer.StartObject();
  WriteField(writer, "iban", party.account_iban);
  writer.EndObject();
}

void WriteDates(JsonWriter& writer, const Line& line) {
  std::string text;
  text.reserve(24);
  if (line.booked) {
    AppendDate(text, line.booking_date);
    WriteField(writer, "bookingDate", text);
    text.clear();
    AppendTimestamp(text, line.booking_date, line.event.booked_second);
    WriteField(writer, "bookingDateTime", text);
    text.clear();
  }
  AppendDate(text, line.value_date);
  WriteField(writer, "valueDate", text);
  text.clear();
  AppendTimestamp(text, line.value_date, line.event.occurred_second);
  WriteField(writer, "valueDateTime", text);
}

void WriteExchange(JsonWriter& writer, const Line& line) {
  const ForeignMerchant& merchant = ForeignMerchants()[line.event.merchant];
  writer.Key("currencyExchange");
  writer.StartArray();
  writer.StartObject();
  WriteField(writer, "sourceCurrency", merchant.currency);
  WriteField(writer, "exchangeRate",
             domain::FormatDecimalAmount(line.event.exchange_rate_micros, 6));
  WriteField(writer, "unitCurrency", merchant.currency);
  WriteField(writer, "targetCurrency", line.account.currency);
  WriteAmount(writer, "instructedAmount", line.event.foreign_amount_minor, merchant.currency);
  writer.EndObject();
  writer.EndArray();
}

void WriteRemittanceArray(JsonWriter& writer, const Line& line) {
  const std::string_view remittance = line.transaction.remittance_information_unstructured;
  writer.Key("remittanceInformationUnstructuredArray");
  writer.StartArray();
  if (line.remittance_split == 0) {
    writer.String(remittance.data(), static_cast<rapidjson::SizeType>(remittance.size()));
  } else {
    const std::string_view head = remittance.substr(0, line.remittance_split);
    const std::string_view tail = remittance.substr(line.remittance_split + 1);
    writer.String(head.data(), static_cast<rapidjson::SizeType>(head.size()));
    writer.String(tail.data(), static_cast<rapidjson::SizeType>(tail.size()));
  }
  writer.EndArray();
}

void WriteRawPayload(const Line& line) {
  const domain::BankTransaction& transaction = line.transaction;
  // One buffer per thread, reused: the payload costs one allocation, the final copy.
  thread_local rapidjson::StringBuffer buffer;
  buffer.Clear();
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteField(writer, "transactionId", transaction.transaction_id);
  WriteField(writer, "internalTransactionId", transaction.internal_transaction_id);
  WriteDates(writer, line);
  WriteAmount(writer, "transactionAmount", transaction.amount_minor, transaction.currency);
  if (line.event.kind == EventKind::kForeignCardPayment) WriteExchange(writer, line);
  WriteParty(writer, "creditorName", "creditorAccount", transaction.creditor);
  WriteParty(writer, "debtorName", "debtorAccount", transaction.debtor);
  WriteField(writer, "remittanceInformationUnstructured",
             transaction.remittance_information_unstructured);
  if (line.household.bank->remittance_array &&
      !transaction.remittance_information_unstructured.empty()) {
    WriteRemittanceArray(writer, line);
  }
  WriteField(writer, "additionalInformation", transaction.additional_information);
  WriteField(writer, "bankTransactionCode", transaction.bank_transaction_code);
  WriteField(writer, "merchantCategoryCode", transaction.merchant_category_code);
  writer.EndObject();
  line.transaction.raw_payload.assign(buffer.GetString(), buffer.GetSize());
}

}  // namespace

void MaterialiseTransaction(const Household& household, size_t account_index, const Event& event,
                            bool booked, domain::BankTransaction& transaction) {
  Line line{household,
            household.accounts[account_index],
            event,
            booked,
            transaction,
            DateOfDay(event.value_day),
            DateOfDay(event.booking_day)};
  transaction.status = booked ? domain::BookingStatus::kBooked : domain::BookingStatus::kPending;
  FillIds(line);
  transaction.value_date = line.value_date;
  transaction.value_datetime = TimestampOf(event.value_day, event.occurred_second);
  if (booked) {
    transaction.booking_date = line.booking_date;
    transaction.booking_datetime = TimestampOf(event.booking_day, event.booked_second);
  }
  transaction.amount_minor = booked ? event.amount_minor : event.pending_amount_minor;
  transaction.currency = line.account.currency;
  if (IsCardEvent(event.kind)) {
    FillCard(line);
  } else {
    FillScheduled(line);
  }
  transaction.source = "sandbox";
  WriteRawPayload(line);
}

}  // namespace finsync::sources::sandbox
