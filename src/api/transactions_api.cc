// Bank transactions over HTTP: each handler parses the request into plain arguments, calls
// sync::TransactionService and renders the result. Field names follow GoCardless (and so
// Synci): creditor/debtor, remittance_information, bank_transaction_code, generated fields.
#include "api/transactions_api.h"

#include <rapidjson/document.h>

#include <cctype>

#include "domain/currency.h"
#include "domain/date.h"
#include "domain/money.h"
#include "sync/transaction_service.h"
#include "sync/transactions_query.h"

namespace finsync::api {

namespace {

using domain::BankTransaction;

constexpr size_t kIdentifierLengthMax = 255;
constexpr size_t kTextLengthMax = 1000;

// ---------------------------------------------------------------------------------------------
// Rendering

void OptionalText(json::Writer& writer, std::string_view key, const std::string& text) {
  writer.Key(key);
  if (text.empty()) {
    writer.Null();
  } else {
    writer.String(text);
  }
}

void OptionalDate(json::Writer& writer, std::string_view key,
                  const std::optional<domain::Date>& date) {
  writer.Key(key);
  if (date) {
    writer.String(domain::FormatDate(*date));
  } else {
    writer.Null();
  }
}

void OptionalTimestamp(json::Writer& writer, std::string_view key,
                       const std::optional<domain::Timestamp>& time) {
  writer.Key(key);
  if (time) {
    writer.String(domain::FormatTimestamp(*time));
  } else {
    writer.Null();
  }
}

void WriteParty(json::Writer& writer, std::string_view key, const domain::Party& party) {
  writer.Key(key).StartObject();
  OptionalText(writer, "name", party.name);
  OptionalText(writer, "iban", party.account_iban);
  OptionalText(writer, "account", party.account_other);
  writer.EndObject();
}

// The source's record is embedded as JSON when it is JSON (it nearly always is), so clients
// need not parse a string inside a string; anything else is passed on as a string.
void WriteRaw(json::Writer& writer, const std::string& raw_payload) {
  writer.Key("raw");
  // The ingest pipeline stores only valid JSON here (see ingest::Normalise), so the text is
  // embedded as it is: re-parsing it on every read cost 12% of a listing's CPU.
  if (raw_payload.empty()) {
    writer.Null();
  } else {
    writer.Raw(raw_payload);
  }
}

void WriteAmount(json::Writer& writer, const BankTransaction& transaction) {
  auto currency = domain::Currency::FromCode(transaction.currency);
  writer.Key("amount");
  // Without a known exponent any decimal text would be a guess; amount_minor stays exact.
  if (currency) {
    writer.String(domain::FormatDecimalAmount(transaction.amount_minor, currency->exponent()));
  } else {
    writer.Null();
  }
  writer.Field("amount_minor", transaction.amount_minor);
  writer.Field("currency", transaction.currency);
}

// ---------------------------------------------------------------------------------------------
// Reading request bodies: one reader collects every field error so a 422 lists them all.

class BodyReader {
 public:
  explicit BodyReader(Error& invalid) : invalid_(invalid) {}

  void Fail(std::string field, std::string message) {
    invalid_.field_errors.push_back({std::move(field), std::move(message)});
  }

  // Unknown keys are refused rather than ignored: a misspelt field silently dropped is a
  // transaction stored without what the client meant to send.
  void RejectUnknown(const rapidjson::Value& object, std::string_view prefix,
                     std::initializer_list<std::string_view> known) {
    for (const auto& member : object.GetObject()) {
      std::string_view key(member.name.GetString(), member.name.GetStringLength());
      bool is_known = false;
      for (auto name : known) is_known = is_known || name == key;
      if (!is_known) Fail(std::string(prefix) + std::string(key), "is not a known field");
    }
  }

  // A string field; absent and null both give nullopt.
  std::optional<std::string> Text(const rapidjson::Value& object, std::string_view prefix,
                                  const char* key, size_t length_max) {
    auto member = object.FindMember(key);
    if (member == object.MemberEnd() || member->value.IsNull()) return std::nullopt;
    std::string field = std::string(prefix) + key;
    if (!member->value.IsString()) {
      Fail(field, "must be a string");
      return std::nullopt;
    }
    if (member->value.GetStringLength() > length_max) {
      Fail(field, "must be at most " + std::to_string(length_max) + " bytes");
      return std::nullopt;
    }
    return std::string(member->value.GetString(), member->value.GetStringLength());
  }

  std::optional<domain::Date> Date(const rapidjson::Value& object, const char* key) {
    auto text = Text(object, "", key, 32);
    if (!text) return std::nullopt;
    auto parsed = domain::ParseDate(*text);
    if (!parsed.ok()) {
      Fail(key, "must be a date (YYYY-MM-DD): " +
                    std::string(domain::DescribeDateTimeError(parsed.error)));
      return std::nullopt;
    }
    return parsed.date;
  }

  std::optional<domain::Timestamp> Time(const rapidjson::Value& object, const char* key) {
    auto text = Text(object, "", key, 64);
    if (!text) return std::nullopt;
    auto parsed = domain::ParseTimestamp(*text);
    if (!parsed.ok()) {
      Fail(key, "must be an RFC 3339 date-time: " +
                    std::string(domain::DescribeDateTimeError(parsed.error)));
      return std::nullopt;
    }
    return parsed.timestamp;
  }

  // A nested object; nullptr when absent or null (and a field error when not an object).
  const rapidjson::Value* Object(const rapidjson::Value& object, const char* key) {
    auto member = object.FindMember(key);
    if (member == object.MemberEnd() || member->value.IsNull()) return nullptr;
    if (!member->value.IsObject()) {
      Fail(key, "must be an object");
      return nullptr;
    }
    return &member->value;
  }

 private:
  Error& invalid_;
};

Error InvalidData() {
  return Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
}

// The amount's text: a JSON string as it is, or a JSON number's own digits, read by parsing
// the body again with numbers kept as strings so no double ever holds the amount.
std::optional<std::string> AmountText(std::string_view body, const rapidjson::Value& root,
                                      BodyReader& reader) {
  auto member = root.FindMember("amount");
  if (member == root.MemberEnd() || member->value.IsNull()) {
    reader.Fail("amount", "is required");
    return std::nullopt;
  }
  if (member->value.IsString()) {
    return std::string(member->value.GetString(), member->value.GetStringLength());
  }
  if (!member->value.IsNumber()) {
    reader.Fail("amount", "must be a decimal string such as \"-42.50\" or a JSON number");
    return std::nullopt;
  }
  rapidjson::Document numbers;
  numbers.Parse<rapidjson::kParseNumbersAsStringsFlag>(body.data(), body.size());
  if (numbers.HasParseError() || !numbers.IsObject()) {
    reader.Fail("amount", "must be a decimal string such as \"-42.50\"");
    return std::nullopt;
  }
  auto text = numbers.FindMember("amount");
  if (text == numbers.MemberEnd() || !text->value.IsString()) {
    reader.Fail("amount", "must be a decimal string such as \"-42.50\"");
    return std::nullopt;
  }
  return std::string(text->value.GetString(), text->value.GetStringLength());
}

std::optional<domain::BookingStatus> ParseBookingStatus(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "BOOKED") return domain::BookingStatus::kBooked;
  if (upper == "PENDING") return domain::BookingStatus::kPending;
  return std::nullopt;
}

void ReadParty(BodyReader& reader, const rapidjson::Value& root, const char* key,
               domain::Party& party) {
  const rapidjson::Value* object = reader.Object(root, key);
  if (object == nullptr) return;
  std::string prefix = std::string(key) + ".";
  reader.RejectUnknown(*object, prefix, {"name", "iban", "account"});
  party.name = reader.Text(*object, prefix, "name", kTextLengthMax).value_or("");
  party.account_iban = reader.Text(*object, prefix, "iban", kIdentifierLengthMax).value_or("");
  party.account_other = reader.Text(*object, prefix, "account", kIdentifierLengthMax).value_or("");
}

// Everything but the amount: identifiers, status, dates, parties, remittance and codes.
void ReadDetails(BodyReader& reader, const rapidjson::Value& root, BankTransaction& details) {
  for (auto [key, target] :
       {std::pair{"transaction_id", &details.transaction_id},
        std::pair{"internal_transaction_id", &details.internal_transaction_id},
        std::pair{"entry_reference", &details.entry_reference},
        std::pair{"bank_transaction_code", &details.bank_transaction_code},
        std::pair{"merchant_category_code", &details.merchant_category_code}}) {
    *target = reader.Text(root, "", key, kIdentifierLengthMax).value_or("");
  }
  details.additional_information =
      reader.Text(root, "", "additional_information", kTextLengthMax).value_or("");
  auto status = reader.Text(root, "", "status", 16);
  if (status) {
    auto parsed = ParseBookingStatus(*status);
    if (!parsed) reader.Fail("status", "must be BOOKED or PENDING");
    details.status = parsed.value_or(domain::BookingStatus::kBooked);
  }
  details.booking_date = reader.Date(root, "booking_date");
  details.value_date = reader.Date(root, "value_date");
  details.booking_datetime = reader.Time(root, "booking_datetime");
  details.value_datetime = reader.Time(root, "value_datetime");
  ReadParty(reader, root, "creditor", details.creditor);
  ReadParty(reader, root, "debtor", details.debtor);
  if (const rapidjson::Value* remittance = reader.Object(root, "remittance_information")) {
    constexpr std::string_view kPrefix = "remittance_information.";
    reader.RejectUnknown(*remittance, kPrefix, {"unstructured", "structured"});
    details.remittance_information_unstructured =
        reader.Text(*remittance, kPrefix, "unstructured", kTextLengthMax).value_or("");
    details.remittance_information_structured =
        reader.Text(*remittance, kPrefix, "structured", kTextLengthMax).value_or("");
  }
}

bool HasDate(const rapidjson::Value& root) {
  for (const char* key : {"booking_date", "value_date", "booking_datetime", "value_datetime"}) {
    auto member = root.FindMember(key);
    if (member != root.MemberEnd() && !member->value.IsNull()) return true;
  }
  return false;
}

Result<sync::ManualTransaction> ParseManualTransaction(std::string_view body) {
  auto document = json::ParseObject(body);
  if (!document.ok()) return document.error();
  const rapidjson::Document& root = document.value();
  Error invalid = InvalidData();
  BodyReader reader(invalid);
  reader.RejectUnknown(
      root, "",
      {"bank_account_id", "amount", "currency", "status", "transaction_id",
       "internal_transaction_id", "entry_reference", "booking_date", "value_date",
       "booking_datetime", "value_datetime", "creditor", "debtor", "remittance_information",
       "additional_information", "bank_transaction_code", "merchant_category_code"});
  sync::ManualTransaction manual;
  auto account = root.FindMember("bank_account_id");
  if (account == root.MemberEnd() || account->value.IsNull()) {
    reader.Fail("bank_account_id", "is required");
  } else if (!account->value.IsInt64() || account->value.GetInt64() <= 0) {
    reader.Fail("bank_account_id", "must be a positive integer id");
  } else {
    manual.bank_account_id = account->value.GetInt64();
  }
  manual.amount_text = AmountText(body, root, reader).value_or("");
  auto currency = reader.Text(root, "", "currency", 16);
  if (currency) manual.currency = domain::NormalizeCurrencyCode(*currency);
  ReadDetails(reader, root, manual.details);
  if (!HasDate(root)) {
    reader.Fail("booking_date", "is required unless value_date (or a date-time) is given");
  }
  if (!invalid.field_errors.empty()) return invalid;
  manual.raw_payload = std::string(body);
  return manual;
}

// {"generated": {"payee": ..., "description": ..., "date": ...}}: each key optional, null
// restores the generated value.
Result<sync::TransactionEdit> ParseTransactionEdit(std::string_view body) {
  auto document = json::ParseObject(body);
  if (!document.ok()) return document.error();
  const rapidjson::Document& root = document.value();
  Error invalid = InvalidData();
  BodyReader reader(invalid);
  for (const auto& member : root.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    if (key != "generated") {
      reader.Fail(key,
                  "cannot be changed; only generated.payee, generated.description and "
                  "generated.date can");
    }
  }
  sync::TransactionEdit edit;
  const rapidjson::Value* generated = reader.Object(root, "generated");
  if (generated != nullptr) {
    reader.RejectUnknown(*generated, "generated.", {"payee", "description", "date"});
    auto present = [generated](const char* key) { return generated->HasMember(key); };
    if (present("payee")) {
      edit.payee = reader.Text(*generated, "generated.", "payee", kTextLengthMax);
    }
    if (present("description")) {
      edit.description = reader.Text(*generated, "generated.", "description", kTextLengthMax);
    }
    if (present("date")) {
      auto text = reader.Text(*generated, "generated.", "date", 32);
      std::optional<domain::Date> date;
      if (text) {
        auto parsed = domain::ParseDate(*text);
        if (parsed.ok()) date = parsed.date;
        if (!parsed.ok()) reader.Fail("generated.date", "must be a date (YYYY-MM-DD)");
      }
      edit.date = date;
    }
  }
  if (!invalid.field_errors.empty()) return invalid;
  return edit;
}

// ---------------------------------------------------------------------------------------------
// Links

std::string PercentEncode(std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// This request's URL with `name` set to `value` (replacing the parameter if present).
std::string UrlWith(const http::Request& request, std::string_view name, std::string_view value) {
  std::string url = request.path + "?";
  for (const auto& [key, existing] : request.QueryParams()) {
    if (key == name) continue;
    url += PercentEncode(key) + "=" + PercentEncode(existing) + "&";
  }
  url += PercentEncode(name) + "=" + PercentEncode(value);
  return url;
}

void WriteOptionalLink(json::Writer& writer, std::string_view key,
                       const std::optional<std::string>& url) {
  writer.Key(key);
  if (url) {
    writer.String(*url);
  } else {
    writer.Null();
  }
}

void WritePagingMeta(json::Writer& writer, const http::Request& request,
                     const sync::ListQuery& query, const sync::TransactionPage& page) {
  std::optional<std::string> next;
  if (query.paging == sync::PagingStyle::kCursor) {
    writer.Key("meta").StartObject();
    writer.Field("limit", query.page_size);
    writer.Field("next_page_token", page.next_page_token);
    writer.Field("has_more", page.has_more);
    writer.EndObject();
    if (page.next_page_token) next = UrlWith(request, "page_token", *page.next_page_token);
    writer.Key("links").StartObject();
    WriteOptionalLink(writer, "next", next);
    writer.EndObject();
    return;
  }
  writer.Key("meta").StartObject();
  writer.Field("page_number", query.page_number);
  writer.Field("page_size", query.page_size);
  writer.Key("total");
  if (page.total) {
    writer.Int(*page.total);
  } else {
    writer.Null();  // More than the page window matches; counting further is not cheap.
  }
  writer.Field("has_more", page.has_more);
  writer.EndObject();
  bool next_in_window = (query.page_number + 1) * query.page_size <= sync::kPageWindowMax;
  if (page.has_more && next_in_window) {
    next = UrlWith(request, "page[number]", std::to_string(query.page_number + 1));
  }
  std::optional<std::string> previous;
  if (query.page_number > 1) {
    previous = UrlWith(request, "page[number]", std::to_string(query.page_number - 1));
  }
  writer.Key("links").StartObject();
  WriteOptionalLink(writer, "first", UrlWith(request, "page[number]", "1"));
  WriteOptionalLink(writer, "prev", previous);
  WriteOptionalLink(writer, "next", next);
  writer.EndObject();
}

// ---------------------------------------------------------------------------------------------
// Handlers

std::string SingleTransactionJson(const BankTransaction& transaction,
                                  std::string_view message = {}) {
  json::Writer writer;
  writer.StartObject();
  if (!message.empty()) writer.Field("message", message);
  writer.Key("data");
  WriteBankTransaction(writer, transaction);
  writer.EndObject();
  return writer.str();
}

void HandleList(ApiContext& context, http::Request& request, http::Response& response,
                const identity::Principal& principal) {
  auto params = request.QueryParams();
  auto query = sync::ParseListQuery(params);
  if (!query.ok()) return RespondError(request, response, query.error());
  sync::TransactionService service(context.database, context.clock);
  auto page = service.List(principal.user.id, query.value());
  if (!page.ok()) return RespondError(request, response, page.error());
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const auto& transaction : page.value().transactions) {
    WriteBankTransaction(writer, transaction);
  }
  writer.EndArray();
  WritePagingMeta(writer, request, query.value(), page.value());
  writer.EndObject();
  response.Json(200, writer.str());
}

std::optional<int64_t> TransactionIdOr404(http::Request& request, http::Response& response) {
  auto id = ParseId(request.PathParam("id"));
  if (!id) {
    RespondError(request, response,
                 Error::Of(ErrorCode::kNotFound, "The bank transaction was not found."));
  }
  return id;
}

void HandleGet(ApiContext& context, http::Request& request, http::Response& response,
               const identity::Principal& principal) {
  auto id = TransactionIdOr404(request, response);
  if (!id) return;
  sync::TransactionService service(context.database, context.clock);
  auto transaction = service.Get(principal.user.id, *id);
  if (!transaction.ok()) return RespondError(request, response, transaction.error());
  response.Json(200, SingleTransactionJson(transaction.value()));
}

void HandleCreate(ApiContext& context, http::Request& request, http::Response& response,
                  const identity::Principal& principal) {
  auto manual = ParseManualTransaction(request.body);
  if (!manual.ok()) return RespondError(request, response, manual.error());
  sync::TransactionService service(context.database, context.clock);
  auto created = service.Create(principal.user.id, std::move(manual.value()));
  if (!created.ok()) return RespondError(request, response, created.error());
  if (created.value().booked_a_pending_transaction) {
    // Not a new transaction: the ingest pipeline matched it to a stored pending one.
    response.Json(200, SingleTransactionJson(created.value().transaction,
                                             "Bank transaction booked a pending transaction."));
    return;
  }
  response.Json(201,
                SingleTransactionJson(created.value().transaction, "Bank transaction created."));
}

void HandleUpdate(ApiContext& context, http::Request& request, http::Response& response,
                  const identity::Principal& principal) {
  auto id = TransactionIdOr404(request, response);
  if (!id) return;
  auto edit = ParseTransactionEdit(request.body);
  if (!edit.ok()) return RespondError(request, response, edit.error());
  sync::TransactionService service(context.database, context.clock);
  auto updated = service.Update(principal.user.id, *id, edit.value());
  if (!updated.ok()) return RespondError(request, response, updated.error());
  response.Json(200, SingleTransactionJson(updated.value(), "Bank transaction updated."));
}

void HandleDelete(ApiContext& context, http::Request& request, http::Response& response,
                  const identity::Principal& principal) {
  auto id = TransactionIdOr404(request, response);
  if (!id) return;
  sync::TransactionService service(context.database, context.clock);
  Status deleted = service.Delete(principal.user.id, *id);
  if (!deleted.ok()) return RespondError(request, response, deleted.error());
  response.NoContent();
}

void HandleChanges(ApiContext& context, http::Request& request, http::Response& response,
                   const identity::Principal& principal) {
  auto params = request.QueryParams();
  auto query = sync::ParseChangeFeedQuery(params);
  if (!query.ok()) return RespondError(request, response, query.error());
  sync::TransactionService service(context.database, context.clock);
  auto page = service.Changes(principal.user.id, query.value());
  if (!page.ok()) return RespondError(request, response, page.error());
  json::Writer writer;
  writer.StartObject().Key("data").StartObject();
  for (auto [key, list] :
       {std::pair{"added", &page.value().added}, std::pair{"modified", &page.value().modified}}) {
    writer.Key(key).StartArray();
    for (const auto& transaction : *list) WriteBankTransaction(writer, transaction);
    writer.EndArray();
  }
  writer.Key("removed").StartArray();
  for (const auto& removed : page.value().removed) {
    writer.StartObject().Field("id", removed.id);
    writer.Field("bank_account_id", removed.bank_account_id).EndObject();
  }
  writer.EndArray();
  writer.Field("next_cursor", page.value().next_cursor);
  writer.Field("has_more", page.value().has_more);
  writer.EndObject().EndObject();
  response.Json(200, writer.str());
}

using Handler = void (*)(ApiContext&, http::Request&, http::Response&, const identity::Principal&);

http::Handler Route(ApiContext& context, uint32_t scope, Handler handler) {
  return Authenticated(context, scope,
                       [&context, handler](http::Request& request, http::Response& response,
                                           const identity::Principal& principal) {
                         handler(context, request, response, principal);
                       });
}

}  // namespace

void WriteBankTransaction(json::Writer& writer, const BankTransaction& transaction) {
  writer.StartObject();
  writer.Field("id", transaction.id);
  writer.Field("bank_account_id", transaction.bank_account_id);
  writer.Field("status", transaction.booked() ? "BOOKED" : "PENDING");
  writer.Field("booked", transaction.booked());
  OptionalText(writer, "transaction_id", transaction.transaction_id);
  OptionalText(writer, "internal_transaction_id", transaction.internal_transaction_id);
  OptionalText(writer, "entry_reference", transaction.entry_reference);
  OptionalDate(writer, "booking_date", transaction.booking_date);
  OptionalDate(writer, "value_date", transaction.value_date);
  OptionalTimestamp(writer, "booking_datetime", transaction.booking_datetime);
  OptionalTimestamp(writer, "value_datetime", transaction.value_datetime);
  WriteAmount(writer, transaction);
  WriteParty(writer, "creditor", transaction.creditor);
  WriteParty(writer, "debtor", transaction.debtor);
  writer.Key("remittance_information").StartObject();
  OptionalText(writer, "unstructured", transaction.remittance_information_unstructured);
  OptionalText(writer, "structured", transaction.remittance_information_structured);
  writer.EndObject();
  OptionalText(writer, "additional_information", transaction.additional_information);
  OptionalText(writer, "bank_transaction_code", transaction.bank_transaction_code);
  OptionalText(writer, "merchant_category_code", transaction.merchant_category_code);
  writer.Key("generated").StartObject();
  writer.Field("payee", transaction.generated.payee);
  writer.Field("description", transaction.generated.description);
  OptionalDate(writer, "date", transaction.generated.date);
  writer.EndObject();
  writer.Field("source", transaction.source);
  WriteRaw(writer, transaction.raw_payload);
  writer.Field("created_at", FormatTimeMs(transaction.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(transaction.updated_at_ms));
  writer.EndObject();
}

void RegisterTransactionRoutes(http::Router& router, ApiContext& context) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  router.Add("GET", "/api/v1/banks/transactions", Route(context, kScopeRead, HandleList));
  router.Add("POST", "/api/v1/banks/transactions", Route(context, kScopeWrite, HandleCreate));
  // A literal segment wins over {id}, so "sync" never reaches the single-transaction routes.
  router.Add("GET", "/api/v1/banks/transactions/sync", Route(context, kScopeRead, HandleChanges));
  router.Add("GET", "/api/v1/banks/transactions/{id}", Route(context, kScopeRead, HandleGet));
  router.Add("PUT", "/api/v1/banks/transactions/{id}", Route(context, kScopeWrite, HandleUpdate));
  router.Add("DELETE", "/api/v1/banks/transactions/{id}",
             Route(context, kScopeWrite, HandleDelete));
}

}  // namespace finsync::api
