#include "ingest/ingest.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <unordered_map>

#include "common/crypto.h"
#include "common/json.h"
#include "domain/currency.h"

namespace finsync::ingest {

namespace {

using domain::BankTransaction;
using domain::BookingStatus;

// Named enum tables: one line per value, used in both directions.
template <typename Enum>
struct Named {
  Enum value;
  std::string_view name;
};

constexpr Named<TextSource> kTextSources[] = {
    {TextSource::kAuto, "AUTO"},
    {TextSource::kCreditorName, "CREDITOR_NAME"},
    {TextSource::kDebtorName, "DEBTOR_NAME"},
    {TextSource::kCounterpartyName, "COUNTERPARTY_NAME"},
    {TextSource::kRemittanceInformationUnstructured, "REMITTANCE_INFORMATION_UNSTRUCTURED"},
    {TextSource::kRemittanceInformationStructured, "REMITTANCE_INFORMATION_STRUCTURED"},
    {TextSource::kAdditionalInformation, "ADDITIONAL_INFORMATION"},
    {TextSource::kBankTransactionCode, "BANK_TRANSACTION_CODE"},
};
constexpr Named<DateSource> kDateSources[] = {
    {DateSource::kAuto, "AUTO"},
    {DateSource::kBookingDate, "BOOKING_DATE"},
    {DateSource::kValueDate, "VALUE_DATE"},
};
constexpr Named<DuplicateField> kDuplicateFields[] = {
    {DuplicateField::kDate, "date"},
    {DuplicateField::kBookingDate, "booking_date"},
    {DuplicateField::kValueDate, "value_date"},
    {DuplicateField::kAmount, "amount"},
    {DuplicateField::kCurrency, "currency"},
    {DuplicateField::kCreditorName, "creditor_name"},
    {DuplicateField::kDebtorName, "debtor_name"},
    {DuplicateField::kRemittanceInformationUnstructured, "remittance_information_unstructured"},
    {DuplicateField::kRemittanceInformationStructured, "remittance_information_structured"},
    {DuplicateField::kAdditionalInformation, "additional_information"},
    {DuplicateField::kBankTransactionCode, "bank_transaction_code"},
};

template <typename Enum, size_t N>
std::string_view NameOf(const Named<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "";
}

template <typename Enum, size_t N>
std::optional<Enum> ValueOf(const Named<Enum> (&table)[N], std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// Trims and collapses runs of whitespace and control characters into one space: banks pad
// fixed-width fields and break remittance text over lines.
void CleanText(std::string& text) {
  size_t write = 0;
  bool pending_space = false;
  for (char c : text) {
    bool space = static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
    if (space) {
      pending_space = write > 0;
      continue;
    }
    if (pending_space) text[write++] = ' ';
    pending_space = false;
    text[write++] = c;
  }
  text.resize(write);
}

std::string FormatOptionalDate(const std::optional<domain::Date>& date) {
  return date ? domain::FormatDate(*date) : std::string();
}

const std::string& FirstNonEmpty(std::initializer_list<const std::string*> candidates) {
  static const std::string kEmpty;
  for (const std::string* candidate : candidates) {
    if (!candidate->empty()) return *candidate;
  }
  return kEmpty;
}

std::string TextFrom(TextSource source, const BankTransaction& transaction, bool for_payee) {
  const auto& creditor = transaction.creditor.name;
  const auto& debtor = transaction.debtor.name;
  const auto& counterparty = transaction.amount_minor < 0 ? creditor : debtor;
  const auto& other_party = transaction.amount_minor < 0 ? debtor : creditor;
  const auto& unstructured = transaction.remittance_information_unstructured;
  const auto& structured = transaction.remittance_information_structured;
  const auto& additional = transaction.additional_information;
  switch (source) {
    case TextSource::kAuto:
      // Banks put the merchant in different places; these orders follow what they commonly do.
      if (for_payee) {
        return FirstNonEmpty({&counterparty, &other_party, &unstructured, &additional});
      }
      return FirstNonEmpty({&unstructured, &structured, &additional});
    case TextSource::kCreditorName:
      return creditor;
    case TextSource::kDebtorName:
      return debtor;
    case TextSource::kCounterpartyName:
      return counterparty;
    case TextSource::kRemittanceInformationUnstructured:
      return unstructured;
    case TextSource::kRemittanceInformationStructured:
      return structured;
    case TextSource::kAdditionalInformation:
      return additional;
    case TextSource::kBankTransactionCode:
      return transaction.bank_transaction_code;
  }
  return "";
}

// Everything the source told us, hashed: a re-fetch with an equal fingerprint is unchanged.
std::string Fingerprint(const BankTransaction& t) {
  std::string text;
  text.reserve(256);
  auto add = [&text](std::string_view part) {
    text.append(part);
    text.push_back('\x1f');
  };
  add(t.booked() ? "B" : "P");
  add(t.transaction_id);
  add(t.internal_transaction_id);
  add(t.entry_reference);
  add(FormatOptionalDate(t.booking_date));
  add(FormatOptionalDate(t.value_date));
  add(t.booking_datetime ? std::to_string(t.booking_datetime->unix_time_ms()) : "");
  add(t.value_datetime ? std::to_string(t.value_datetime->unix_time_ms()) : "");
  add(std::to_string(t.amount_minor));
  add(t.currency);
  for (const auto* party : {&t.creditor, &t.debtor}) {
    add(party->name);
    add(party->account_iban);
    add(party->account_other);
  }
  add(t.remittance_information_unstructured);
  add(t.remittance_information_structured);
  add(t.additional_information);
  add(t.bank_transaction_code);
  add(t.merchant_category_code);
  return crypto::Sha256Hex(text).substr(0, 32);
}

// A stored row, as much as matching needs.
struct StoredRow {
  int64_t id = 0;
  bool booked = false;
  std::string transaction_id;
  std::string content_key;
  std::string fingerprint;
  int64_t amount_minor = 0;
  std::string currency;
  std::string generated_date;
  std::string counterparty;  // Lower-cased creditor or debtor name.
  bool claimed = false;      // Matched by a transaction of this batch.
  bool manual = false;       // Entered by the user: the bank's pending list does not cover it.
};

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string CounterpartyOf(const BankTransaction& transaction) {
  const auto& name =
      transaction.amount_minor < 0 ? transaction.creditor.name : transaction.debtor.name;
  return LowerAscii(name.empty() ? transaction.generated.payee : name);
}

int64_t DaysBetween(std::string_view from, std::string_view to) {
  auto from_date = domain::ParseDate(from);
  auto to_date = domain::ParseDate(to);
  if (!from_date.ok() || !to_date.ok()) return 1 << 20;
  return to_date.date.days_since_epoch() - from_date.date.days_since_epoch();
}

// How well a stored pending row matches a booked transaction; negative means "not it". A
// booked transaction often arrives with a new id, a later date and, for pre-authorised card
// payments (fuel, hotels), a different amount; the counterparty usually stays.
int MatchScore(const StoredRow& pending, const BankTransaction& booked, const std::string& date,
               const std::string& counterparty) {
  if (pending.currency != booked.currency) return -1;
  int64_t days = DaysBetween(pending.generated_date, date);
  if (days < -3 || days > 10) return -1;
  bool same_amount = pending.amount_minor == booked.amount_minor;
  bool same_sign = (pending.amount_minor < 0) == (booked.amount_minor < 0);
  // Banks often prefix the booked text ("CARD 1686 MIGROS ZUERICH" for the pending
  // "MIGROS ZUERICH"), so one name containing the other counts as the same party.
  auto contains = [](const std::string& haystack, const std::string& needle) {
    return needle.size() >= 5 && haystack.find(needle) != std::string::npos;
  };
  bool same_party =
      !counterparty.empty() && !pending.counterparty.empty() &&
      (pending.counterparty == counterparty || contains(counterparty, pending.counterparty) ||
       contains(pending.counterparty, counterparty));
  if (!same_amount && !(same_party && same_sign)) return -1;
  int score = (same_amount ? 4 : 0) + (same_party ? 3 : 0);
  return score * 100 - static_cast<int>(std::min<int64_t>(std::abs(days), 99));
}

enum class Action : uint8_t { kInsert, kUpdate, kUnchanged };

struct Planned {
  BankTransaction* transaction = nullptr;
  Action action = Action::kUnchanged;
  int64_t row_id = 0;
  std::string content_key;
  std::string fingerprint;
};

const char* StatusText(const BankTransaction& transaction) {
  return transaction.booked() ? "BOOKED" : "PENDING";
}

}  // namespace

std::string_view TextSourceName(TextSource source) { return NameOf(kTextSources, source); }
std::optional<TextSource> ParseTextSource(std::string_view name) {
  return ValueOf(kTextSources, name);
}
std::string_view DateSourceName(DateSource source) { return NameOf(kDateSources, source); }
std::optional<DateSource> ParseDateSource(std::string_view name) {
  return ValueOf(kDateSources, name);
}
std::string_view DuplicateFieldName(DuplicateField field) {
  return NameOf(kDuplicateFields, field);
}
std::optional<DuplicateField> ParseDuplicateField(std::string_view name) {
  return ValueOf(kDuplicateFields, name);
}

std::vector<DuplicateField> DefaultDuplicateFields() {
  return {DuplicateField::kDate,       DuplicateField::kAmount,
          DuplicateField::kCurrency,   DuplicateField::kCreditorName,
          DuplicateField::kDebtorName, DuplicateField::kRemittanceInformationUnstructured};
}

void Normalise(BankTransaction& transaction) {
  for (char& c : transaction.currency) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (std::string* text :
       {&transaction.transaction_id, &transaction.internal_transaction_id,
        &transaction.entry_reference, &transaction.creditor.name,
        &transaction.creditor.account_iban, &transaction.creditor.account_other,
        &transaction.debtor.name, &transaction.debtor.account_iban,
        &transaction.debtor.account_other, &transaction.remittance_information_unstructured,
        &transaction.remittance_information_structured, &transaction.additional_information,
        &transaction.bank_transaction_code, &transaction.merchant_category_code}) {
    CleanText(*text);
  }
  // IBANs are compared and shown without spaces.
  for (auto* iban : {&transaction.creditor.account_iban, &transaction.debtor.account_iban}) {
    iban->erase(std::remove(iban->begin(), iban->end(), ' '), iban->end());
  }
  // The API embeds raw payloads as JSON without parsing them again, so only JSON is stored:
  // anything else is kept as a JSON string.
  if (transaction.raw_payload.empty()) {
    transaction.raw_payload = "{}";
  } else {
    rapidjson::Document raw;
    // Numbers stay text: only the JSON shape is checked, and RapidJSON's number conversion is
    // not safe on hostile input (see json::FindUnsupportedNumber).
    raw.Parse<rapidjson::kParseNumbersAsStringsFlag>(transaction.raw_payload.data(),
                                                     transaction.raw_payload.size());
    if (raw.HasParseError()) {
      json::Writer quoted;
      quoted.String(transaction.raw_payload);
      transaction.raw_payload = quoted.str();
    }
  }
  if (!transaction.booking_date && transaction.booking_datetime) {
    transaction.booking_date = transaction.booking_datetime->date();
  }
  if (!transaction.value_date && transaction.value_datetime) {
    transaction.value_date = transaction.value_datetime->date();
  }
}

void GenerateFields(const AccountConfig& account, BankTransaction& transaction) {
  transaction.generated.payee = TextFrom(account.payee_source, transaction, true);
  transaction.generated.description = TextFrom(account.description_source, transaction, false);
  const auto& booking = transaction.booking_date;
  const auto& value = transaction.value_date;
  switch (account.date_source) {
    case DateSource::kAuto:
    case DateSource::kBookingDate:
      transaction.generated.date = booking ? booking : value;
      break;
    case DateSource::kValueDate:
      transaction.generated.date = value ? value : booking;
      break;
  }
}

std::string ContentBase(const AccountConfig& account, const BankTransaction& t) {
  std::string text;
  text.reserve(160);
  for (DuplicateField field : account.duplicate_fields) {
    switch (field) {
      case DuplicateField::kDate:
        text += FormatOptionalDate(t.generated.date);
        break;
      case DuplicateField::kBookingDate:
        text += FormatOptionalDate(t.booking_date);
        break;
      case DuplicateField::kValueDate:
        text += FormatOptionalDate(t.value_date);
        break;
      case DuplicateField::kAmount:
        text += std::to_string(t.amount_minor);
        break;
      case DuplicateField::kCurrency:
        text += t.currency;
        break;
      case DuplicateField::kCreditorName:
        text += t.creditor.name;
        break;
      case DuplicateField::kDebtorName:
        text += t.debtor.name;
        break;
      case DuplicateField::kRemittanceInformationUnstructured:
        text += t.remittance_information_unstructured;
        break;
      case DuplicateField::kRemittanceInformationStructured:
        text += t.remittance_information_structured;
        break;
      case DuplicateField::kAdditionalInformation:
        text += t.additional_information;
        break;
      case DuplicateField::kBankTransactionCode:
        text += t.bank_transaction_code;
        break;
    }
    text.push_back('\x1f');
  }
  return crypto::Sha256Hex(text).substr(0, 32);
}

void AssignContentKeys(const AccountConfig& account, std::span<BankTransaction> batch,
                       std::vector<std::string>& keys) {
  keys.clear();
  keys.reserve(batch.size());
  std::unordered_map<std::string, int> occurrences;
  for (const BankTransaction& transaction : batch) {
    std::string base = ContentBase(account, transaction);
    int occurrence = ++occurrences[base];
    keys.push_back(base + "#" + std::to_string(occurrence));
  }
}

const std::string_view kTransactionColumns =
    "id, user_id, bank_account_id, status, transaction_id, internal_transaction_id, "
    "entry_reference, booking_date, value_date, booking_datetime, value_datetime, amount_minor, "
    "currency, creditor_name, creditor_iban, creditor_account_other, debtor_name, debtor_iban, "
    "debtor_account_other, remittance_unstructured, remittance_structured, "
    "additional_information, bank_transaction_code, merchant_category_code, generated_payee, "
    "generated_description, generated_date, source, raw_payload, created_at, updated_at";

BankTransaction TransactionFromRow(const store::Row& row) {
  BankTransaction t;
  size_t i = 0;
  auto date = [&row](size_t index) -> std::optional<domain::Date> {
    if (row.IsNull(index)) return std::nullopt;
    auto parsed = domain::ParseDate(row.Text(index));
    return parsed.ok() ? std::optional(parsed.date) : std::nullopt;
  };
  auto timestamp = [&row](size_t index) -> std::optional<domain::Timestamp> {
    if (row.IsNull(index)) return std::nullopt;
    return domain::Timestamp::FromUnixTimeMs(row.Int(index));
  };
  t.id = row.Int(i++);
  t.user_id = row.Int(i++);
  t.bank_account_id = row.Int(i++);
  t.status = row.Text(i++) == "PENDING" ? BookingStatus::kPending : BookingStatus::kBooked;
  t.transaction_id = row.Text(i++);
  t.internal_transaction_id = row.Text(i++);
  t.entry_reference = row.Text(i++);
  t.booking_date = date(i++);
  t.value_date = date(i++);
  t.booking_datetime = timestamp(i++);
  t.value_datetime = timestamp(i++);
  t.amount_minor = row.Int(i++);
  t.currency = row.Text(i++);
  t.creditor = {row.Text(i), row.Text(i + 1), row.Text(i + 2)};
  i += 3;
  t.debtor = {row.Text(i), row.Text(i + 1), row.Text(i + 2)};
  i += 3;
  t.remittance_information_unstructured = row.Text(i++);
  t.remittance_information_structured = row.Text(i++);
  t.additional_information = row.Text(i++);
  t.bank_transaction_code = row.Text(i++);
  t.merchant_category_code = row.Text(i++);
  t.generated.payee = row.Text(i++);
  t.generated.description = row.Text(i++);
  t.generated.date = date(i++);
  t.source = row.Text(i++);
  t.raw_payload = row.Text(i++);
  t.created_at_ms = row.Int(i++);
  t.updated_at_ms = row.Int(i++);
  return t;
}

namespace {

// Values of the source and generated columns, in the order of kWritableColumns.
std::vector<store::Value> WritableValues(const BankTransaction& t) {
  auto text_or_null = [](const std::string& text) -> store::Value {
    return text.empty() ? store::Null() : store::Value(text);
  };
  auto date_or_null = [](const std::optional<domain::Date>& date) -> store::Value {
    return date ? store::Value(domain::FormatDate(*date)) : store::Null();
  };
  auto time_or_null = [](const std::optional<domain::Timestamp>& time) -> store::Value {
    return time ? store::Value(time->unix_time_ms()) : store::Null();
  };
  return {std::string(StatusText(t)),
          text_or_null(t.transaction_id),
          text_or_null(t.internal_transaction_id),
          text_or_null(t.entry_reference),
          date_or_null(t.booking_date),
          date_or_null(t.value_date),
          time_or_null(t.booking_datetime),
          time_or_null(t.value_datetime),
          t.amount_minor,
          t.currency,
          t.creditor.name,
          t.creditor.account_iban,
          t.creditor.account_other,
          t.debtor.name,
          t.debtor.account_iban,
          t.debtor.account_other,
          t.remittance_information_unstructured,
          t.remittance_information_structured,
          t.additional_information,
          t.bank_transaction_code,
          t.merchant_category_code,
          t.generated.payee,
          t.generated.description,
          domain::FormatDate(*t.generated.date),
          t.source,
          t.raw_payload.empty() ? std::string("{}") : t.raw_payload};
}

constexpr std::string_view kInsertSql =
    "INSERT INTO bank_transactions (status, transaction_id, internal_transaction_id, "
    "entry_reference, booking_date, value_date, booking_datetime, value_datetime, amount_minor, "
    "currency, creditor_name, creditor_iban, creditor_account_other, debtor_name, debtor_iban, "
    "debtor_account_other, remittance_unstructured, remittance_structured, "
    "additional_information, bank_transaction_code, merchant_category_code, generated_payee, "
    "generated_description, generated_date, source, raw_payload, content_key, fingerprint, "
    "user_id, bank_account_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (bank_account_id, transaction_id) WHERE transaction_id IS NOT NULL "
    "DO NOTHING RETURNING id";

constexpr std::string_view kUpdateSql =
    "UPDATE bank_transactions SET status = ?, transaction_id = ?, internal_transaction_id = ?, "
    "entry_reference = ?, booking_date = ?, value_date = ?, booking_datetime = ?, "
    "value_datetime = ?, amount_minor = ?, currency = ?, creditor_name = ?, creditor_iban = ?, "
    "creditor_account_other = ?, debtor_name = ?, debtor_iban = ?, debtor_account_other = ?, "
    "remittance_unstructured = ?, remittance_structured = ?, additional_information = ?, "
    "bank_transaction_code = ?, merchant_category_code = ?, generated_payee = ?, "
    "generated_description = ?, generated_date = ?, source = ?, raw_payload = ?, "
    "content_key = ?, fingerprint = ?, updated_at = ? WHERE id = ? AND user_id = ?";

constexpr std::string_view kChangeSql =
    "INSERT INTO transaction_changes (user_id, bank_transaction_id, bank_account_id, kind, "
    "created_at) VALUES (?, ?, ?, ?, ?)";

}  // namespace

Result<Outcome> Pipeline::Ingest(const AccountConfig& account, Batch batch, RuleStage* rules) {
  Outcome outcome;
  int64_t now = clock_.NowMilliseconds();
  if (!account.sync_pending_transactions) batch.pending.clear();

  // Normalise and generate; drop what cannot be stored (no date, unknown currency).
  auto prepare = [&](std::vector<BankTransaction>& list, BookingStatus status) {
    std::vector<BankTransaction> kept;
    kept.reserve(list.size());
    for (BankTransaction& transaction : list) {
      transaction.status = status;
      transaction.user_id = account.user_id;
      transaction.bank_account_id = account.bank_account_id;
      Normalise(transaction);
      GenerateFields(account, transaction);
      if (!transaction.generated.date || !domain::Currency::FromCode(transaction.currency)) {
        ++outcome.rejected;
        continue;
      }
      kept.push_back(std::move(transaction));
    }
    list = std::move(kept);
  };
  prepare(batch.booked, BookingStatus::kBooked);
  prepare(batch.pending, BookingStatus::kPending);

  std::vector<std::string> booked_keys;
  std::vector<std::string> pending_keys;
  AssignContentKeys(account, batch.booked, booked_keys);
  AssignContentKeys(account, batch.pending, pending_keys);

  // The stored rows that can match lie within the batch's dates, widened by the longest
  // pending-to-booked delay; with an empty batch every stored pending row is in scope.
  std::string first_date = "0000-01-01";
  std::string last_date = "9999-12-31";
  if (!batch.booked.empty() || !batch.pending.empty()) {
    domain::Date low = *(batch.booked.empty() ? batch.pending : batch.booked)[0].generated.date;
    domain::Date high = low;
    for (auto* list : {&batch.booked, &batch.pending}) {
      for (const auto& t : *list) {
        low = std::min(low, *t.generated.date);
        high = std::max(high, *t.generated.date);
      }
    }
    first_date = domain::FormatDate(low.AddDays(-10).value_or(low));
    last_date = domain::FormatDate(high.AddDays(10).value_or(high));
  }

  Status status = database_.Write([&](store::Connection& connection) -> Status {
    outcome.added = outcome.modified = outcome.unchanged = outcome.removed = 0;
    outcome.added_ids.clear();
    outcome.modified_ids.clear();
    outcome.removed_ids.clear();
    auto loaded = connection.Query(
        "SELECT id, status, transaction_id, content_key, fingerprint, amount_minor, currency, "
        "generated_date, creditor_name, debtor_name, generated_payee, source FROM "
        "bank_transactions "
        "WHERE bank_account_id = ? AND user_id = ? AND generated_date >= ? AND "
        "generated_date <= ?",
        {account.bank_account_id, account.user_id, first_date, last_date});
    if (!loaded.ok()) return loaded.status();
    std::vector<StoredRow> stored;
    stored.reserve(loaded.value().size());
    std::unordered_map<std::string, size_t> by_transaction_id;
    std::unordered_map<std::string, size_t> booked_by_key;
    std::unordered_map<std::string, size_t> pending_by_key;
    std::vector<size_t> pending_rows;
    for (const auto& row : loaded.value()) {
      StoredRow entry;
      entry.id = row.Int(0);
      entry.booked = row.Text(1) == "BOOKED";
      entry.transaction_id = row.Text(2);
      entry.content_key = row.Text(3);
      entry.fingerprint = row.Text(4);
      entry.amount_minor = row.Int(5);
      entry.currency = row.Text(6);
      entry.generated_date = row.Text(7);
      const std::string& party = entry.amount_minor < 0 ? row.Text(8) : row.Text(9);
      entry.counterparty = LowerAscii(party.empty() ? row.Text(10) : party);
      entry.manual = row.Text(11) == "manual";
      size_t index = stored.size();
      if (!entry.booked) pending_rows.push_back(index);
      if (!entry.transaction_id.empty()) by_transaction_id[entry.transaction_id] = index;
      (entry.booked ? booked_by_key : pending_by_key)[entry.content_key] = index;
      stored.push_back(std::move(entry));
    }

    std::vector<Planned> plan;
    plan.reserve(batch.booked.size() + batch.pending.size());
    auto decide_existing = [&](Planned& planned, StoredRow& row) {
      row.claimed = true;
      planned.row_id = row.id;
      planned.action =
          row.fingerprint == planned.fingerprint ? Action::kUnchanged : Action::kUpdate;
    };
    for (size_t i = 0; i < batch.booked.size(); ++i) {
      BankTransaction& transaction = batch.booked[i];
      Planned planned{&transaction, Action::kInsert, 0, booked_keys[i], Fingerprint(transaction)};
      auto by_id = transaction.transaction_id.empty()
                       ? by_transaction_id.end()
                       : by_transaction_id.find(transaction.transaction_id);
      auto by_key = booked_by_key.find(planned.content_key);
      if (by_id != by_transaction_id.end() && !stored[by_id->second].claimed) {
        decide_existing(planned, stored[by_id->second]);
      } else if (transaction.transaction_id.empty() && by_key != booked_by_key.end() &&
                 !stored[by_key->second].claimed) {
        decide_existing(planned, stored[by_key->second]);
      } else {
        // A pending row that booked under a new id: the best unclaimed candidate wins.
        std::string date = domain::FormatDate(*transaction.generated.date);
        std::string party = CounterpartyOf(transaction);
        int best_score = -1;
        StoredRow* best = nullptr;
        // Only stored pending rows can match; there are few, so this stays cheap per batch.
        for (size_t index : pending_rows) {
          StoredRow& row = stored[index];
          if (row.claimed) continue;
          int score = MatchScore(row, transaction, date, party);
          if (score > best_score) {
            best_score = score;
            best = &row;
          }
        }
        if (best != nullptr) {
          best->claimed = true;
          planned.action = Action::kUpdate;
          planned.row_id = best->id;
        }
      }
      plan.push_back(std::move(planned));
    }
    for (size_t i = 0; i < batch.pending.size(); ++i) {
      BankTransaction& transaction = batch.pending[i];
      Planned planned{&transaction, Action::kInsert, 0, pending_keys[i], Fingerprint(transaction)};
      auto by_id = transaction.transaction_id.empty()
                       ? by_transaction_id.end()
                       : by_transaction_id.find(transaction.transaction_id);
      auto by_key = pending_by_key.find(planned.content_key);
      StoredRow* row = nullptr;
      if (by_id != by_transaction_id.end()) {
        row = &stored[by_id->second];
      } else if (by_key != pending_by_key.end()) {
        row = &stored[by_key->second];
      }
      if (row != nullptr && row->booked) {
        // Already booked here (the bank lags): never turn a booked row back into pending.
        row->claimed = true;
        planned.action = Action::kUnchanged;
        planned.row_id = row->id;
      } else if (row != nullptr && !row->claimed) {
        decide_existing(planned, *row);
      }
      plan.push_back(std::move(planned));
    }

    // BANK rules see exactly the transactions that will be written.
    std::vector<BankTransaction*> changed;
    for (auto& planned : plan) {
      if (planned.action != Action::kUnchanged) changed.push_back(planned.transaction);
    }
    if (rules != nullptr && !changed.empty()) {
      rules->Apply(account, changed);
      // A stored transaction always has a date: a rule that emptied it gets the bank's back.
      for (BankTransaction* transaction : changed) {
        if (!transaction->generated.date) {
          transaction->generated.date =
              transaction->booking_date ? transaction->booking_date : transaction->value_date;
        }
      }
    }

    for (auto& planned : plan) {
      BankTransaction& transaction = *planned.transaction;
      if (planned.action == Action::kUnchanged) {
        transaction.id = planned.row_id;
        ++outcome.unchanged;
        continue;
      }
      std::vector<store::Value> values = WritableValues(transaction);
      values.emplace_back(planned.content_key);
      values.emplace_back(planned.fingerprint);
      if (planned.action == Action::kUpdate) {
        values.emplace_back(now);
        values.emplace_back(planned.row_id);
        values.emplace_back(account.user_id);
        auto updated = connection.Execute(kUpdateSql, values);
        if (!updated.ok()) return updated.status();
        transaction.id = planned.row_id;
      } else {
        values.emplace_back(account.user_id);
        values.emplace_back(account.bank_account_id);
        values.emplace_back(now);
        values.emplace_back(now);
        auto inserted = connection.Query(kInsertSql, values);
        if (!inserted.ok()) return inserted.status();
        if (inserted.value().empty()) {
          // The source id is already stored outside this batch's date window: nothing new.
          planned.action = Action::kUnchanged;
          ++outcome.unchanged;
          continue;
        }
        transaction.id = inserted.value()[0].Int(0);
      }
      transaction.created_at_ms = now;
      transaction.updated_at_ms = now;
      bool added = planned.action == Action::kInsert;
      (added ? outcome.added_ids : outcome.modified_ids).push_back(transaction.id);
      ++(added ? outcome.added : outcome.modified);
      auto change =
          connection.Execute(kChangeSql, {account.user_id, transaction.id, account.bank_account_id,
                                          std::string(added ? "added" : "modified"), now});
      if (!change.ok()) return change.status();
    }

    if (batch.pending_list_is_complete) {
      for (const StoredRow& row : stored) {
        if (row.booked || row.claimed || row.manual) continue;
        auto removed =
            connection.Execute("DELETE FROM bank_transactions WHERE id = ? AND user_id = ?",
                               {row.id, account.user_id});
        if (!removed.ok()) return removed.status();
        auto change = connection.Execute(
            kChangeSql,
            {account.user_id, row.id, account.bank_account_id, std::string("removed"), now});
        if (!change.ok()) return change.status();
        outcome.removed_ids.push_back(row.id);
        ++outcome.removed;
      }
    }
    if (rules != nullptr) {
      std::vector<BankTransaction*> written;
      for (auto& planned : plan) {
        if (planned.action != Action::kUnchanged) written.push_back(planned.transaction);
      }
      if (!written.empty()) return rules->Record(connection, written);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return outcome;
}

}  // namespace finsync::ingest
