#include "delivery/lunchmoney/lunchmoney_client.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/json.h"
#include "domain/currency.h"
#include "domain/money.h"

namespace finsync::delivery::lunchmoney {

namespace {

// Lunch Money's amounts carry four decimals ("53.1900").
constexpr int32_t kLunchMoneyExponent = 4;
// Bounds on what an error message quotes from Lunch Money.
constexpr size_t kQuotedMessagesMax = 10;
constexpr size_t kQuotedMessageBytesMax = 300;
constexpr int64_t kRetryAfterSecondsMax = 86'400;
constexpr int64_t kInsertTimeoutMs = 120'000;

// The byte length of the UTF-8 sequence starting at text[i], and its UTF-16 length; an
// invalid byte is a sequence of one byte and one unit.
std::pair<size_t, size_t> NextCharacter(std::string_view text, size_t i) {
  auto byte = static_cast<unsigned char>(text[i]);
  size_t bytes = 1;
  size_t units = 1;
  if (byte >= 0xC2 && byte <= 0xDF) {
    bytes = 2;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    bytes = 3;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    bytes = 4;
    units = 2;
  }
  if (bytes == 1 || i + bytes > text.size()) return {1, 1};
  for (size_t k = 1; k < bytes; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return {1, 1};
  }
  return {bytes, units};
}

std::string Quote(std::string_view text) {
  std::string quoted = "\"";
  std::string cut = TruncateForLunchMoney(text, kQuotedMessageBytesMax);
  for (char c : cut) {
    // Control characters would let a remote answer forge log lines.
    quoted.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Collects error texts from the shapes v1 uses: {"error": "..."}, {"error": [...]},
// {"errors": [...]}, {"name": "Error", "message": "..."}, and v2's [{"errMsg": "..."}].
void CollectMessages(const rapidjson::Value& value, std::vector<std::string>& messages) {
  if (messages.size() >= kQuotedMessagesMax) return;
  if (value.IsString()) {
    messages.emplace_back(value.GetString(), value.GetStringLength());
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray()) CollectMessages(item, messages);
  } else if (value.IsObject()) {
    for (const char* name : {"errMsg", "message", "error"}) {
      auto member = value.FindMember(name);
      if (member != value.MemberEnd() && member->value.IsString()) {
        CollectMessages(member->value, messages);
        return;
      }
    }
  }
}

// The transaction index a v1 message starts with ("Transaction 3 is missing date."), if any.
std::optional<int64_t> TransactionIndex(std::string_view message) {
  constexpr std::string_view kPrefix = "Transaction ";
  if (message.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  size_t i = kPrefix.size();
  int64_t index = 0;
  size_t digits = 0;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9' && digits < 9) {
    index = index * 10 + (message[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || (i < message.size() && message[i] != ' ')) return std::nullopt;
  return index;
}

bool SaysDuplicateExternalId(std::string_view lower) {
  return Contains(lower, "external") && (Contains(lower, "exist") || Contains(lower, "duplicate") ||
                                         Contains(lower, "unique") || Contains(lower, "already"));
}

bool SaysNotFound(std::string_view lower) {
  return Contains(lower, "doesn't exist") || Contains(lower, "does not exist") ||
         Contains(lower, "not found") || Contains(lower, "don't have access");
}

bool SaysBadToken(std::string_view lower) {
  return Contains(lower, "access token") || Contains(lower, "api key") ||
         Contains(lower, "unauthorized");
}

int64_t RetryAfterSeconds(const net::HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name != "retry-after") continue;
    std::string_view text = value;
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.empty() || text.size() > 9) return kDefaultRetryAfterSeconds;
    int64_t seconds = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return kDefaultRetryAfterSeconds;  // An HTTP date: not used.
      seconds = seconds * 10 + (c - '0');
    }
    return std::clamp<int64_t>(seconds, 1, kRetryAfterSecondsMax);
  }
  return kDefaultRetryAfterSeconds;
}

std::string Joined(const std::vector<std::string>& messages) {
  std::string text;
  for (const auto& message : messages) {
    if (!text.empty()) text += "; ";
    text += Quote(message);
  }
  return text;
}

Error Unexpected(std::string_view what, std::string_view problem) {
  return Error::Of(ErrorCode::kUnavailable,
                   "Lunch Money's answer to " + std::string(what) +
                       " is not what its documentation describes: " + std::string(problem) + ".");
}

Error Invalid(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed,
                          "The transactions cannot be sent to Lunch Money as they are.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

// Parses a success answer as an object, after checking it is not an error.
Result<rapidjson::Document> SuccessObject(const net::HttpResponse& response,
                                          std::string_view what) {
  if (auto error = v1::ErrorFor(response, what)) return *error;
  auto parsed = json::ParseObject(response.body);
  if (!parsed.ok()) return Unexpected(what, "the body is not a JSON object");
  return std::move(parsed.value());
}

// Typed member readers for Lunch Money's objects. Each returns false when the member has a
// type the documentation does not allow; missing or null members leave the target unset.
bool ReadString(const rapidjson::Value& object, const char* name, std::string& target) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return true;
  if (!member->value.IsString()) return false;
  target.assign(member->value.GetString(), member->value.GetStringLength());
  return true;
}

bool ReadOptionalString(const rapidjson::Value& object, const char* name,
                        std::optional<std::string>& target) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return true;
  if (!member->value.IsString()) return false;
  target.emplace(member->value.GetString(), member->value.GetStringLength());
  return true;
}

bool ReadOptionalId(const rapidjson::Value& object, const char* name,
                    std::optional<int64_t>& target) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return true;
  if (!member->value.IsInt64() || member->value.GetInt64() <= 0) return false;
  target = member->value.GetInt64();
  return true;
}

bool ReadId(const rapidjson::Value& object, const char* name, int64_t& target) {
  std::optional<int64_t> id;
  if (!ReadOptionalId(object, name, id) || !id) return false;
  target = *id;
  return true;
}

std::optional<domain::Currency> KnownCurrency(std::string_view code) {
  return domain::Currency::FromCode(domain::NormalizeCurrencyCode(code));
}

// Lunch Money's decimal text in the currency's own precision when that is exact.
std::optional<std::string> CanonicalBalance(std::string_view text, std::string_view currency) {
  auto parsed = domain::ParseDecimalAmount(text, kLunchMoneyExponent);
  if (!parsed.ok()) return std::nullopt;
  auto known = KnownCurrency(currency);
  if (!known || known->exponent() > kLunchMoneyExponent) return std::string(text);
  int64_t scale = 1;
  for (int32_t i = known->exponent(); i < kLunchMoneyExponent; ++i) scale *= 10;
  if (parsed.amount_minor % scale != 0) {
    return domain::FormatDecimalAmount(parsed.amount_minor, kLunchMoneyExponent);
  }
  return domain::FormatDecimalAmount(parsed.amount_minor / scale, known->exponent());
}

Result<Asset> ReadAsset(const rapidjson::Value& item) {
  constexpr std::string_view kWhat = "listing assets";
  if (!item.IsObject()) return Unexpected(kWhat, "an asset is not an object");
  Asset asset;
  std::optional<std::string> closed_on;
  std::string status;
  if (!ReadId(item, "id", asset.id)) return Unexpected(kWhat, "an asset has no valid id");
  bool typed =
      ReadString(item, "type_name", asset.type_name) &&
      ReadOptionalString(item, "subtype_name", asset.subtype_name) &&
      ReadString(item, "name", asset.name) &&
      ReadOptionalString(item, "display_name", asset.display_name) &&
      ReadString(item, "balance", asset.balance) && ReadString(item, "currency", asset.currency) &&
      ReadOptionalString(item, "institution_name", asset.institution_name) &&
      ReadOptionalString(item, "closed_on", closed_on) && ReadString(item, "status", status);
  if (!typed) return Unexpected(kWhat, "an asset member has the wrong type");
  if (asset.balance.empty()) asset.balance = "0";
  auto balance = CanonicalBalance(asset.balance, asset.currency);
  if (!balance) return Unexpected(kWhat, "an asset balance is not a decimal number");
  asset.balance = *balance;
  asset.currency = domain::NormalizeCurrencyCode(asset.currency);
  asset.closed = closed_on.has_value() || status == "closed";
  return asset;
}

Result<Transaction> ReadTransaction(const rapidjson::Value& item, std::string_view what) {
  if (!item.IsObject()) return Unexpected(what, "a transaction is not an object");
  Transaction transaction;
  if (!ReadId(item, "id", transaction.id)) {
    return Unexpected(what, "a transaction has no valid id");
  }
  bool typed = ReadString(item, "date", transaction.date) &&
               ReadString(item, "amount", transaction.amount) &&
               ReadString(item, "currency", transaction.currency) &&
               ReadString(item, "payee", transaction.payee) &&
               ReadOptionalString(item, "notes", transaction.notes) &&
               ReadString(item, "status", transaction.status) &&
               ReadOptionalId(item, "asset_id", transaction.asset_id) &&
               ReadOptionalString(item, "external_id", transaction.external_id) &&
               ReadOptionalId(item, "category_id", transaction.category_id);
  if (!typed) return Unexpected(what, "a transaction member has the wrong type");
  auto pending = item.FindMember("is_pending");
  if (pending != item.MemberEnd() && pending->value.IsBool()) {
    transaction.is_pending = pending->value.GetBool();
  }
  if (!domain::ParseDate(transaction.date).ok()) {
    return Unexpected(what, "a transaction date is not YYYY-MM-DD");
  }
  if (!domain::ParseDecimalAmount(transaction.amount, kLunchMoneyExponent).ok()) {
    return Unexpected(what, "a transaction amount is not a decimal with at most 4 decimals");
  }
  transaction.currency = domain::NormalizeCurrencyCode(transaction.currency);
  return transaction;
}

std::string LengthMessage(size_t length_max) {
  return "must be at most " + std::to_string(length_max) + " characters (Lunch Money's limit)";
}

// Checks one transaction; appends field errors under `prefix` ("transactions.3.").
void CheckNewTransaction(const NewTransaction& transaction, const std::string& prefix,
                         Error& errors) {
  if (transaction.asset_id <= 0) {
    errors.field_errors.push_back({prefix + "asset_id", "must be a Lunch Money asset id"});
  }
  if (!KnownCurrency(transaction.currency)) {
    errors.field_errors.push_back({prefix + "currency", "must be an ISO 4217 currency code"});
  }
  if (transaction.external_id.empty()) {
    errors.field_errors.push_back({prefix + "external_id", "is required"});
  } else if (LunchMoneyLength(transaction.external_id) > kExternalIdLengthMax) {
    errors.field_errors.push_back({prefix + "external_id", LengthMessage(kExternalIdLengthMax)});
  }
  if (LunchMoneyLength(transaction.payee) > kPayeeLengthMax) {
    errors.field_errors.push_back({prefix + "payee", LengthMessage(kPayeeLengthMax)});
  }
  if (transaction.notes && LunchMoneyLength(*transaction.notes) > kNotesLengthMax) {
    errors.field_errors.push_back({prefix + "notes", LengthMessage(kNotesLengthMax)});
  }
  if (transaction.category_id && *transaction.category_id <= 0) {
    errors.field_errors.push_back({prefix + "category_id", "must be a Lunch Money category id"});
  }
}

std::string LowerCurrency(std::string_view code) { return Lower(code); }

std::string Amount(int64_t amount_minor, std::string_view currency) {
  auto known = KnownCurrency(currency);
  return domain::FormatDecimalAmount(amount_minor, known ? known->exponent() : 2);
}

}  // namespace

size_t LunchMoneyLength(std::string_view text) {
  size_t units = 0;
  for (size_t i = 0; i < text.size();) {
    auto [bytes, character_units] = NextCharacter(text, i);
    i += bytes;
    units += character_units;
  }
  return units;
}

std::string TruncateForLunchMoney(std::string_view text, size_t length_max) {
  size_t units = 0;
  size_t i = 0;
  while (i < text.size()) {
    auto [bytes, character_units] = NextCharacter(text, i);
    if (units + character_units > length_max) break;
    units += character_units;
    i += bytes;
  }
  return std::string(text.substr(0, i));
}

std::string_view TransactionStatusName(TransactionStatus status) {
  return status == TransactionStatus::kCleared ? "cleared" : "uncleared";
}

Result<int64_t> AmountMinor(const Transaction& transaction) {
  auto known = KnownCurrency(transaction.currency);
  if (!known) {
    return Error::Of(
        ErrorCode::kValidationFailed,
        "Lunch Money's currency " + Quote(transaction.currency) + " is not one finsync knows.");
  }
  auto parsed = domain::ParseDecimalAmount(transaction.amount, known->exponent());
  if (!parsed.ok()) {
    return Error::Of(ErrorCode::kValidationFailed,
                     "Lunch Money's amount " + Quote(transaction.amount) + " does not fit " +
                         std::string(known->code()) + ": " + parsed.message);
  }
  return parsed.amount_minor;
}

namespace v1 {

std::optional<Error> ErrorFor(const net::HttpResponse& response, std::string_view what) {
  const int status = response.status;
  std::vector<std::string> messages;
  bool error_member = false;
  auto parsed = json::ParseObject(response.body);
  if (parsed.ok()) {
    const rapidjson::Document& body = parsed.value();
    for (const char* name : {"error", "errors"}) {
      auto member = body.FindMember(name);
      if (member == body.MemberEnd() || member->value.IsNull()) continue;
      if (member->value.IsArray() && member->value.Empty()) continue;
      error_member = true;
      CollectMessages(member->value, messages);
    }
    if (!error_member && status >= 300) {
      auto message = body.FindMember("message");
      if (message != body.MemberEnd()) CollectMessages(message->value, messages);
    }
  }
  if (status >= 200 && status < 300 && !error_member) return std::nullopt;
  std::string subject =
      "Lunch Money answered HTTP " + std::to_string(status) + " to " + std::string(what);
  std::string quoted = messages.empty() ? "" : ": " + Joined(messages);
  std::string lower;
  for (const auto& message : messages) lower += Lower(message) + "\n";

  if (status == 401 || status == 403 || (status < 500 && SaysBadToken(lower))) {
    return Error::Of(ErrorCode::kUnauthenticated, "Lunch Money rejected the access token (HTTP " +
                                                      std::to_string(status) + ") while " +
                                                      std::string(what) + quoted + ".");
  }
  if (status == 429) {
    Error error =
        Error::Of(ErrorCode::kTooManyRequests,
                  "Lunch Money's rate limit was reached while " + std::string(what) + quoted + ".");
    error.retry_after_seconds = RetryAfterSeconds(response);
    return error;
  }
  if (status >= 500 || status < 200 || (status >= 300 && status < 400)) {
    return Error::Of(ErrorCode::kUnavailable, subject + quoted + ".");
  }
  if (SaysDuplicateExternalId(lower)) {
    return Error::Of(ErrorCode::kConflict, subject + quoted + ".");
  }
  bool indexed = false;
  for (const auto& message : messages) indexed = indexed || TransactionIndex(message).has_value();
  if (!indexed && (status == 404 || SaysNotFound(lower))) {
    return Error::Of(ErrorCode::kNotFound, subject + quoted + ".");
  }
  Error error = Error::Of(ErrorCode::kValidationFailed, subject + quoted + ".");
  for (const auto& message : messages) {
    auto index = TransactionIndex(message);
    error.field_errors.push_back({index ? "transactions." + std::to_string(*index) : "lunch_money",
                                  TruncateForLunchMoney(message, kQuotedMessageBytesMax)});
  }
  if (error.field_errors.empty()) {
    error.field_errors.push_back({"lunch_money", "refused without saying why"});
  }
  return error;
}

Result<User> ParseUser(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "reading the user";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  const rapidjson::Document& object = body.value();
  User user;
  if (!ReadId(object, "user_id", user.user_id)) return Unexpected(kWhat, "user_id is missing");
  std::optional<int64_t> account_id;
  bool typed = ReadString(object, "user_name", user.user_name) &&
               ReadString(object, "user_email", user.user_email) &&
               ReadOptionalId(object, "account_id", account_id) &&
               ReadString(object, "budget_name", user.budget_name) &&
               ReadString(object, "primary_currency", user.primary_currency) &&
               ReadOptionalString(object, "api_key_label", user.api_key_label);
  if (!typed) return Unexpected(kWhat, "a member has the wrong type");
  user.account_id = account_id.value_or(0);
  user.primary_currency = domain::NormalizeCurrencyCode(user.primary_currency);
  return user;
}

Result<std::vector<Asset>> ParseAssets(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "listing assets";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  const rapidjson::Document& object = body.value();
  auto list = object.FindMember("assets");
  if (list == object.MemberEnd() || !list->value.IsArray()) {
    return Unexpected(kWhat, "\"assets\" is not an array");
  }
  std::vector<Asset> assets;
  for (const auto& item : list->value.GetArray()) {
    auto asset = ReadAsset(item);
    if (!asset.ok()) return asset.error();
    assets.push_back(std::move(asset.value()));
  }
  return assets;
}

Result<std::vector<int64_t>> ParseInsertIds(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "inserting transactions";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  const rapidjson::Document& object = body.value();
  auto list = object.FindMember("ids");
  if (list == object.MemberEnd() || !list->value.IsArray()) {
    return Unexpected(kWhat, "\"ids\" is not an array");
  }
  std::vector<int64_t> ids;
  for (const auto& item : list->value.GetArray()) {
    if (!item.IsInt64() || item.GetInt64() <= 0) {
      return Unexpected(kWhat, "an id is not a positive integer");
    }
    ids.push_back(item.GetInt64());
  }
  return ids;
}

Result<Transaction> ParseTransaction(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "reading a transaction";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  return ReadTransaction(body.value(), kWhat);
}

Result<TransactionPage> ParseTransactionPage(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "listing transactions";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  const rapidjson::Document& object = body.value();
  auto list = object.FindMember("transactions");
  if (list == object.MemberEnd() || !list->value.IsArray()) {
    return Unexpected(kWhat, "\"transactions\" is not an array");
  }
  TransactionPage page;
  for (const auto& item : list->value.GetArray()) {
    auto transaction = ReadTransaction(item, kWhat);
    if (!transaction.ok()) return transaction.error();
    page.transactions.push_back(std::move(transaction.value()));
  }
  auto more = object.FindMember("has_more");
  if (more != object.MemberEnd() && more->value.IsBool()) {
    page.has_more = more->value.GetBool();
  } else {
    // Older answers have no has_more: a full page may have a successor.
    page.has_more = static_cast<int64_t>(page.transactions.size()) >= kFindPageSize;
  }
  return page;
}

Status ParseUpdateAnswer(const net::HttpResponse& response) {
  constexpr std::string_view kWhat = "updating a transaction";
  auto body = SuccessObject(response, kWhat);
  if (!body.ok()) return body.error();
  const rapidjson::Document& object = body.value();
  auto updated = object.FindMember("updated");
  if (updated == object.MemberEnd() || !updated->value.IsBool()) {
    return Unexpected(kWhat, "\"updated\" is missing");
  }
  if (!updated->value.GetBool()) {
    return Error::Of(ErrorCode::kValidationFailed,
                     "Lunch Money answered that the transaction was not updated.");
  }
  return Status::Ok();
}

Result<std::string> InsertBody(const std::vector<NewTransaction>& transactions,
                               const InsertOptions& options) {
  if (transactions.empty() || transactions.size() > kInsertBatchMax) {
    return Invalid("transactions", "must hold 1 to " + std::to_string(kInsertBatchMax) +
                                       " transactions (Lunch Money's limit per request)");
  }
  Error errors = Error::Of(ErrorCode::kValidationFailed,
                           "The transactions cannot be sent to Lunch Money as they are.");
  std::set<std::pair<int64_t, std::string>> seen;
  for (size_t i = 0; i < transactions.size(); ++i) {
    std::string prefix = "transactions." + std::to_string(i) + ".";
    CheckNewTransaction(transactions[i], prefix, errors);
    if (!seen.emplace(transactions[i].asset_id, transactions[i].external_id).second) {
      errors.field_errors.push_back(
          {prefix + "external_id", "appears twice for one asset in this batch"});
    }
  }
  if (!errors.field_errors.empty()) return errors;
  json::Writer writer;
  writer.StartObject().Key("transactions").StartArray();
  for (const auto& transaction : transactions) {
    writer.StartObject();
    writer.Field("date", domain::FormatDate(transaction.date));
    writer.Field("amount", Amount(transaction.amount_minor, transaction.currency));
    writer.Field("currency", LowerCurrency(transaction.currency));
    writer.Field("asset_id", transaction.asset_id);
    writer.Field("payee", transaction.payee);
    if (transaction.notes) writer.Field("notes", *transaction.notes);
    writer.Field("status", TransactionStatusName(transaction.status));
    writer.Field("external_id", transaction.external_id);
    if (transaction.category_id) writer.Field("category_id", *transaction.category_id);
    if (!transaction.tags.empty()) {
      writer.Key("tags").StartArray();
      for (const auto& tag : transaction.tags) writer.String(tag);
      writer.EndArray();
    }
    writer.EndObject();
  }
  writer.EndArray();
  writer.Field("apply_rules", options.apply_rules);
  writer.Field("skip_duplicates", options.skip_duplicates);
  writer.Field("check_for_recurring", false);
  writer.Field("debit_as_negative", true);
  writer.Field("skip_balance_update", options.skip_balance_update);
  writer.EndObject();
  return writer.str();
}

}  // namespace v1

LunchMoneyV1Client::LunchMoneyV1Client(net::HttpClient& http, std::string_view base_url)
    : http_(http), base_url_(base_url) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<net::HttpResponse> LunchMoneyV1Client::Send(std::string_view method,
                                                   std::string_view path_and_query,
                                                   std::string_view token, std::string body,
                                                   std::optional<int64_t> timeout_ms) {
  net::HttpRequest request;
  request.method = std::string(method);
  request.url = base_url_ + std::string(path_and_query);
  request.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  request.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = std::move(body);
  request.timeout_ms = timeout_ms;
  auto response = http_.Send(request);
  if (!response.ok()) {
    Error error = response.error();
    if (error.code == ErrorCode::kBadRequest) {
      error.detail = "The Lunch Money URL cannot be used: " + error.detail;
    } else {
      error.code = ErrorCode::kUnavailable;
      error.detail = "Lunch Money could not be reached: " + error.detail;
    }
    return error;
  }
  return response;
}

Result<User> LunchMoneyV1Client::GetMe(std::string_view token) {
  auto response = Send("GET", "/v1/me", token, "");
  if (!response.ok()) return response.error();
  return v1::ParseUser(response.value());
}

Result<std::vector<Asset>> LunchMoneyV1Client::ListAssets(std::string_view token) {
  auto response = Send("GET", "/v1/assets", token, "");
  if (!response.ok()) return response.error();
  return v1::ParseAssets(response.value());
}

Result<std::vector<InsertedTransaction>> LunchMoneyV1Client::InsertTransactions(
    std::string_view token, const std::vector<NewTransaction>& transactions,
    const InsertOptions& options) {
  auto body = v1::InsertBody(transactions, options);
  if (!body.ok()) return body.error();
  auto response =
      Send("POST", "/v1/transactions", token, std::move(body.value()), kInsertTimeoutMs);
  if (!response.ok()) return response.error();
  auto ids = v1::ParseInsertIds(response.value());
  if (!ids.ok()) return ids.error();
  std::vector<InsertedTransaction> results;
  if (ids.value().size() > transactions.size()) {
    return Unexpected("inserting transactions", "it returned more ids than it was sent");
  }
  if (ids.value().size() == transactions.size()) {
    // Nothing was skipped: the ids follow the request's order.
    for (size_t i = 0; i < transactions.size(); ++i) {
      results.push_back({transactions[i].external_id, InsertOutcome::kInserted, ids.value()[i]});
    }
    return results;
  }
  // Some were skipped as duplicates: read back each asset's transactions around the batch's
  // dates and tell the new ones (their ids were returned) from the ones that existed.
  const std::set<int64_t> inserted_ids(ids.value().begin(), ids.value().end());
  std::map<int64_t, std::pair<domain::Date, domain::Date>> ranges;
  for (const auto& transaction : transactions) {
    auto [entry, added] =
        ranges.try_emplace(transaction.asset_id, transaction.date, transaction.date);
    if (!added) {
      entry->second.first = std::min(entry->second.first, transaction.date);
      entry->second.second = std::max(entry->second.second, transaction.date);
    }
  }
  std::map<std::pair<int64_t, std::string>, int64_t> found;
  for (const auto& [asset_id, range] : ranges) {
    domain::Date start =
        range.first.AddDays(-options.duplicate_search_margin_days).value_or(range.first);
    domain::Date end =
        range.second.AddDays(options.duplicate_search_margin_days).value_or(range.second);
    auto existing = FindTransactions(token, asset_id, start, end);
    if (!existing.ok()) return existing.error();
    for (const auto& transaction : existing.value()) {
      if (transaction.external_id) found[{asset_id, *transaction.external_id}] = transaction.id;
    }
  }
  size_t matched = 0;
  for (const auto& transaction : transactions) {
    InsertedTransaction result{transaction.external_id, InsertOutcome::kDuplicate, std::nullopt};
    auto match = found.find({transaction.asset_id, transaction.external_id});
    if (match != found.end()) {
      result.id = match->second;
      if (inserted_ids.count(match->second) != 0) {
        result.outcome = InsertOutcome::kInserted;
        ++matched;
      }
    }
    results.push_back(std::move(result));
  }
  if (matched != inserted_ids.size()) {
    // A retry is safe: Lunch Money skips every external_id it already has.
    return Unexpected("inserting transactions",
                      "some returned ids do not belong to the transactions sent");
  }
  return results;
}

Result<Transaction> LunchMoneyV1Client::GetTransaction(std::string_view token,
                                                       int64_t transaction_id) {
  auto response =
      Send("GET", "/v1/transactions/" + std::to_string(transaction_id) + "?debit_as_negative=true",
           token, "");
  if (!response.ok()) return response.error();
  return v1::ParseTransaction(response.value());
}

Status LunchMoneyV1Client::UpdateTransaction(std::string_view token, int64_t transaction_id,
                                             const TransactionUpdate& update) {
  Error errors =
      Error::Of(ErrorCode::kValidationFailed, "The update cannot be sent to Lunch Money as it is.");
  if (update.amount_minor && !update.currency) {
    errors.field_errors.push_back({"currency", "is required with amount"});
  }
  if (update.currency && !KnownCurrency(*update.currency)) {
    errors.field_errors.push_back({"currency", "must be an ISO 4217 currency code"});
  }
  if (update.payee && LunchMoneyLength(*update.payee) > kPayeeLengthMax) {
    errors.field_errors.push_back({"payee", LengthMessage(kPayeeLengthMax)});
  }
  if (update.notes && LunchMoneyLength(*update.notes) > kNotesLengthMax) {
    errors.field_errors.push_back({"notes", LengthMessage(kNotesLengthMax)});
  }
  if (update.external_id && (update.external_id->empty() ||
                             LunchMoneyLength(*update.external_id) > kExternalIdLengthMax)) {
    errors.field_errors.push_back({"external_id", "must be 1 to 75 characters"});
  }
  if (!errors.field_errors.empty()) return errors;
  json::Writer writer;
  writer.StartObject().Key("transaction").StartObject();
  if (update.date) writer.Field("date", domain::FormatDate(*update.date));
  if (update.amount_minor) writer.Field("amount", Amount(*update.amount_minor, *update.currency));
  if (update.currency) writer.Field("currency", LowerCurrency(*update.currency));
  if (update.payee) writer.Field("payee", *update.payee);
  if (update.notes) writer.Field("notes", *update.notes);
  if (update.status) writer.Field("status", TransactionStatusName(*update.status));
  if (update.external_id) writer.Field("external_id", *update.external_id);
  if (update.category_id) writer.Field("category_id", *update.category_id);
  writer.EndObject();
  writer.Field("debit_as_negative", true);
  writer.EndObject();
  auto response =
      Send("PUT", "/v1/transactions/" + std::to_string(transaction_id), token, writer.str());
  if (!response.ok()) return response.error();
  return v1::ParseUpdateAnswer(response.value());
}

Result<std::vector<Transaction>> LunchMoneyV1Client::FindTransactions(std::string_view token,
                                                                      int64_t asset_id,
                                                                      domain::Date start,
                                                                      domain::Date end) {
  if (end < start) std::swap(start, end);
  // Lunch Money refuses an end_date equal to start_date in some versions; ask for one more
  // day and filter here.
  domain::Date asked_end = end == start ? start.AddDays(1).value_or(end) : end;
  std::vector<Transaction> found;
  for (int64_t page = 0; page < kFindPagesMax; ++page) {
    std::string path = "/v1/transactions?asset_id=" + std::to_string(asset_id) +
                       "&start_date=" + domain::FormatDate(start) +
                       "&end_date=" + domain::FormatDate(asked_end) +
                       "&debit_as_negative=true&limit=" + std::to_string(kFindPageSize) +
                       "&offset=" + std::to_string(page * kFindPageSize);
    auto response = Send("GET", path, token, "");
    if (!response.ok()) return response.error();
    auto parsed = v1::ParseTransactionPage(response.value());
    if (!parsed.ok()) return parsed.error();
    for (auto& transaction : parsed.value().transactions) {
      auto date = domain::ParseDate(transaction.date);
      bool in_range = date.ok() && date.date >= start && date.date <= end;
      if (transaction.asset_id == asset_id && in_range) found.push_back(std::move(transaction));
    }
    if (!parsed.value().has_more || parsed.value().transactions.empty()) return found;
  }
  return Error::Of(ErrorCode::kUnavailable,
                   "Lunch Money holds more than " + std::to_string(kFindPagesMax * kFindPageSize) +
                       " transactions of this asset in the searched dates.");
}

Result<RemovalOutcome> LunchMoneyV1Client::RemoveTransaction(std::string_view token,
                                                             int64_t transaction_id,
                                                             std::string_view note) {
  auto current = GetTransaction(token, transaction_id);
  if (!current.ok() && current.error().code == ErrorCode::kNotFound) {
    return RemovalOutcome::kAlreadyGone;
  }
  if (!current.ok()) return current.error();
  const Transaction& transaction = current.value();
  std::string old_notes = transaction.notes.value_or("");
  auto amount = domain::ParseDecimalAmount(transaction.amount, kLunchMoneyExponent);
  bool zero = amount.ok() && amount.amount_minor == 0;
  if (zero && old_notes.substr(0, note.size()) == note) return RemovalOutcome::kNeutralised;
  std::string notes = std::string(note);
  if (!old_notes.empty()) notes += " | " + old_notes;
  notes = TruncateForLunchMoney(notes, kNotesLengthMax);
  // The amount goes as text "0" so a currency finsync does not know cannot get in the way.
  json::Writer writer;
  writer.StartObject().Key("transaction").StartObject();
  writer.Field("amount", "0");
  writer.Field("notes", notes);
  writer.Field("status", TransactionStatusName(TransactionStatus::kUncleared));
  writer.EndObject();
  writer.Field("debit_as_negative", true);
  writer.EndObject();
  auto response =
      Send("PUT", "/v1/transactions/" + std::to_string(transaction_id), token, writer.str());
  if (!response.ok()) return response.error();
  Status updated = v1::ParseUpdateAnswer(response.value());
  if (!updated.ok()) return updated.error();
  return RemovalOutcome::kNeutralised;
}

}  // namespace finsync::delivery::lunchmoney
