#include "delivery/ynab/ynab_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "common/crypto.h"
#include "common/json.h"
#include "domain/date.h"

namespace finsync::delivery::ynab {

namespace {

constexpr int64_t kWindowMs = 3'600'000;
constexpr size_t kDetailMax = 300;  // Characters of YNAB's error detail kept in messages.

Error Unreadable(const std::string& what) {
  return Error::Of(ErrorCode::kUnavailable, "YNAB sent an unreadable answer: " + what);
}

// Typed reads of one JSON object of an answer. The first missing or mistyped field is recorded
// in `*failure` as its path ("data.accounts.2.balance") and later reads return defaults.
struct ObjectReader {
  const rapidjson::Value& object;
  std::string path;
  std::string* failure;

  const rapidjson::Value* Get(const char* name) const {
    const auto found = object.FindMember(name);
    return found == object.MemberEnd() ? nullptr : &found->value;
  }
  void Fail(const char* name) const {
    if (failure->empty()) *failure = path + "." + name;
  }
  static std::string Text(const rapidjson::Value& value) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  std::string String(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || !value->IsString()) {
      Fail(name);
      return {};
    }
    return Text(*value);
  }
  // Absent or null -> nullopt; a string -> its text; anything else fails.
  std::optional<std::string> Nullable(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || value->IsNull()) return std::nullopt;
    if (!value->IsString()) {
      Fail(name);
      return std::nullopt;
    }
    return Text(*value);
  }
  std::string StringOr(const char* name, std::string fallback) const {
    return Nullable(name).value_or(std::move(fallback));
  }
  // JSON integers only: a fraction or an integer past int64 fails instead of being rounded.
  int64_t Int(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || !value->IsInt64()) {
      Fail(name);
      return 0;
    }
    return value->GetInt64();
  }
  bool Bool(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || !value->IsBool()) {
      Fail(name);
      return false;
    }
    return value->GetBool();
  }
  bool BoolOr(const char* name, bool fallback) const {
    const auto* value = Get(name);
    if (value == nullptr || value->IsNull()) return fallback;
    if (!value->IsBool()) {
      Fail(name);
      return fallback;
    }
    return value->GetBool();
  }
  const rapidjson::Value* Array(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || !value->IsArray()) {
      Fail(name);
      return nullptr;
    }
    return value;
  }
  const rapidjson::Value* Object(const char* name) const {
    const auto* value = Get(name);
    if (value == nullptr || !value->IsObject()) {
      Fail(name);
      return nullptr;
    }
    return value;
  }
};

// Parses a whole answer and hands its `data` object to `read`, which fills T.
template <typename T, typename ReadFunction>
Result<T> ParseData(std::string_view body, ReadFunction read) {
  auto document = json::ParseObject(body);
  if (!document.ok()) return Unreadable("not a JSON object");
  std::string failure;
  ObjectReader top{document.value(), "", &failure};
  const rapidjson::Value* data = top.Object("data");
  if (data == nullptr) return Unreadable("no data object");
  T value{};
  read(ObjectReader{*data, "data", &failure}, value);
  if (!failure.empty()) return Unreadable("field " + failure + " missing or mistyped");
  return value;
}

// Calls `read_item(ObjectReader)` for each element of data.<name>, which must hold objects.
template <typename ReadItem>
void ForEachObject(const ObjectReader& data, const char* name, ReadItem read_item) {
  const rapidjson::Value* array = data.Array(name);
  if (array == nullptr) return;
  const std::string base = data.path + "." + name + ".";
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    const rapidjson::Value& element = (*array)[i];
    if (!element.IsObject()) {
      data.Fail((std::string(name) + "." + std::to_string(i)).c_str());
      return;
    }
    read_item(ObjectReader{element, base + std::to_string(i), data.failure});
  }
}

Account ReadAccount(const ObjectReader& in) {
  Account account;
  account.id = in.String("id");
  account.name = in.String("name");
  account.type = in.String("type");
  account.on_budget = in.Bool("on_budget");
  account.closed = in.Bool("closed");
  account.note = in.Nullable("note");
  account.balance = in.Int("balance");
  account.cleared_balance = in.Int("cleared_balance");
  account.uncleared_balance = in.Int("uncleared_balance");
  account.transfer_payee_id = in.Nullable("transfer_payee_id");
  account.direct_import_linked = in.BoolOr("direct_import_linked", false);
  account.last_reconciled_at = in.Nullable("last_reconciled_at");
  account.deleted = in.Bool("deleted");
  return account;
}

Transaction ReadTransaction(const ObjectReader& in) {
  Transaction transaction;
  transaction.id = in.String("id");
  transaction.account_id = in.String("account_id");
  transaction.date = in.String("date");
  transaction.amount = in.Int("amount");
  transaction.memo = in.Nullable("memo");
  transaction.cleared = in.String("cleared");
  transaction.approved = in.Bool("approved");
  transaction.flag_color = in.Nullable("flag_color");
  transaction.payee_id = in.Nullable("payee_id");
  transaction.payee_name = in.Nullable("payee_name");
  transaction.category_id = in.Nullable("category_id");
  transaction.category_name = in.Nullable("category_name");
  transaction.import_id = in.Nullable("import_id");
  transaction.transfer_account_id = in.Nullable("transfer_account_id");
  transaction.matched_transaction_id = in.Nullable("matched_transaction_id");
  transaction.deleted = in.Bool("deleted");
  return transaction;
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// Percent-encodes one path segment or query value (RFC 3986 unreserved characters pass).
std::string Encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

void AppendQuery(std::string& url, std::string_view name, std::string_view value) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += name;
  url += '=';
  url += Encode(value);
}

void WriteSaveTransaction(json::Writer& writer, const SaveTransaction& transaction) {
  writer.StartObject();
  auto optional_string = [&](std::string_view key, const std::optional<std::string>& value) {
    if (value) writer.Field(key, *value);
  };
  optional_string("id", transaction.id);
  if (!transaction.id) optional_string("import_id", transaction.import_id);
  optional_string("account_id", transaction.account_id);
  optional_string("date", transaction.date);
  if (transaction.amount) writer.Field("amount", *transaction.amount);
  optional_string("payee_id", transaction.payee_id);
  optional_string("payee_name", transaction.payee_name);
  optional_string("category_id", transaction.category_id);
  optional_string("memo", transaction.memo);
  optional_string("cleared", transaction.cleared);
  if (transaction.approved) writer.Field("approved", *transaction.approved);
  optional_string("flag_color", transaction.flag_color);
  writer.EndObject();
}

std::string TransactionsBody(const std::vector<SaveTransaction>& transactions) {
  json::Writer writer;
  writer.StartObject().Key("transactions").StartArray();
  for (const SaveTransaction& transaction : transactions) {
    WriteSaveTransaction(writer, transaction);
  }
  writer.EndArray().EndObject();
  return writer.str();
}

Status ValidateBatch(const std::vector<SaveTransaction>& transactions, bool is_create) {
  std::vector<FieldError> errors;
  if (transactions.empty()) errors.push_back({"transactions", "must not be empty"});
  for (size_t i = 0; i < transactions.size(); ++i) {
    ValidateSaveTransaction(transactions[i], is_create, "transactions." + std::to_string(i),
                            errors);
  }
  if (errors.empty()) return Status::Ok();
  return Error{ErrorCode::kValidationFailed, "YNAB would refuse these transactions",
               std::move(errors)};
}

}  // namespace

size_t CodePointLength(std::string_view text) {
  size_t count = 0;
  for (const unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;  // Every byte but a continuation byte starts one.
  }
  return count;
}

std::string TruncateCodePoints(std::string_view text, size_t max_code_points) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) == 0x80) continue;
    if (count == max_code_points) return std::string(text.substr(0, i));
    ++count;
  }
  return std::string(text);
}

bool IsFlagColor(std::string_view color) {
  return color.empty() ||
         std::find(std::begin(kFlagColors), std::end(kFlagColors), color) != std::end(kFlagColors);
}

bool IsClearedStatus(std::string_view status) {
  return std::find(std::begin(kClearedStatuses), std::end(kClearedStatuses), status) !=
         std::end(kClearedStatuses);
}

void ValidateSaveTransaction(const SaveTransaction& transaction, bool is_create,
                             const std::string& path, std::vector<FieldError>& errors) {
  auto add = [&](const char* field, std::string message) {
    errors.push_back({path + "." + field, std::move(message)});
  };
  auto too_long = [&](const char* field, const std::optional<std::string>& value, size_t max) {
    if (value && CodePointLength(*value) > max) {
      add(field, "is longer than YNAB's limit of " + std::to_string(max) + " characters");
    }
  };
  auto uuid = [&](const char* field, const std::optional<std::string>& value) {
    if (value && !IsUuid(*value)) add(field, "must be a YNAB id (a UUID)");
  };
  if (is_create) {
    if (transaction.id) add("id", "must not be set when creating");
    if (!transaction.account_id) add("account_id", "is required");
    if (!transaction.date) add("date", "is required");
    if (!transaction.amount) add("amount", "is required");
  } else if (!transaction.id || transaction.id->empty()) {
    add("id", "is required when updating");
  }
  if (transaction.import_id && transaction.import_id->empty()) add("import_id", "is empty");
  too_long("import_id", transaction.import_id, kImportIdMaxLength);
  too_long("payee_name", transaction.payee_name, kPayeeNameMaxLength);
  too_long("memo", transaction.memo, kMemoMaxLength);
  uuid("account_id", transaction.account_id);
  uuid("payee_id", transaction.payee_id);
  uuid("category_id", transaction.category_id);
  if (transaction.date && !domain::ParseDate(*transaction.date).ok()) {
    add("date", "must be a date (YYYY-MM-DD)");
  }
  if (transaction.cleared && !IsClearedStatus(*transaction.cleared)) {
    add("cleared", "must be cleared, uncleared or reconciled");
  }
  if (transaction.flag_color && !IsFlagColor(*transaction.flag_color)) {
    add("flag_color", "must be red, orange, yellow, green, blue, purple or empty");
  }
}

namespace parse {

Result<YnabUser> User(std::string_view body) {
  return ParseData<YnabUser>(body, [](const ObjectReader& data, YnabUser& user) {
    const rapidjson::Value* object = data.Object("user");
    if (object == nullptr) return;
    user.id = ObjectReader{*object, data.path + ".user", data.failure}.String("id");
  });
}

Result<std::vector<Budget>> Budgets(std::string_view body) {
  return ParseData<std::vector<Budget>>(body, [](const ObjectReader& data, auto& budgets) {
    // YNAB renamed budgets to plans; /budgets answers "budgets", /plans answers "plans".
    const char* key = data.Get("budgets") != nullptr ? "budgets" : "plans";
    ForEachObject(data, key, [&](const ObjectReader& in) {
      Budget budget;
      budget.id = in.String("id");
      budget.name = in.String("name");
      budget.last_modified_on = in.StringOr("last_modified_on", "");
      budget.first_month = in.StringOr("first_month", "");
      budget.last_month = in.StringOr("last_month", "");
      const rapidjson::Value* format = in.Get("currency_format");
      if (format != nullptr && format->IsObject()) {
        const ObjectReader currency{*format, in.path + ".currency_format", in.failure};
        budget.currency = currency.StringOr("iso_code", "");
        const rapidjson::Value* digits = currency.Get("decimal_digits");
        if (digits != nullptr && digits->IsInt() && digits->GetInt() >= 0 &&
            digits->GetInt() <= 9) {
          budget.currency_decimal_digits = digits->GetInt();
        }
      } else if (format != nullptr && !format->IsNull()) {
        in.Fail("currency_format");
      }
      budgets.push_back(std::move(budget));
    });
  });
}

Result<Delta<Account>> Accounts(std::string_view body) {
  return ParseData<Delta<Account>>(body, [](const ObjectReader& data, auto& delta) {
    ForEachObject(data, "accounts",
                  [&](const ObjectReader& in) { delta.items.push_back(ReadAccount(in)); });
    delta.server_knowledge = data.Int("server_knowledge");
  });
}

Result<Delta<Payee>> Payees(std::string_view body) {
  return ParseData<Delta<Payee>>(body, [](const ObjectReader& data, auto& delta) {
    ForEachObject(data, "payees", [&](const ObjectReader& in) {
      Payee payee;
      payee.id = in.String("id");
      payee.name = in.String("name");
      payee.transfer_account_id = in.Nullable("transfer_account_id");
      payee.deleted = in.Bool("deleted");
      delta.items.push_back(std::move(payee));
    });
    delta.server_knowledge = data.Int("server_knowledge");
  });
}

Result<Delta<Category>> Categories(std::string_view body) {
  return ParseData<Delta<Category>>(body, [](const ObjectReader& data, auto& delta) {
    ForEachObject(data, "category_groups", [&](const ObjectReader& group) {
      const std::string group_id = group.String("id");
      const std::string group_name = group.String("name");
      const bool group_deleted = group.Bool("deleted");
      ForEachObject(group, "categories", [&](const ObjectReader& in) {
        Category category;
        category.id = in.String("id");
        category.category_group_id = group_id;
        category.category_group_name = group_name;
        category.name = in.String("name");
        category.hidden = in.Bool("hidden");
        category.deleted = in.Bool("deleted") || group_deleted;
        delta.items.push_back(std::move(category));
      });
    });
    delta.server_knowledge = data.Int("server_knowledge");
  });
}

Result<Delta<Transaction>> Transactions(std::string_view body) {
  return ParseData<Delta<Transaction>>(body, [](const ObjectReader& data, auto& delta) {
    ForEachObject(data, "transactions",
                  [&](const ObjectReader& in) { delta.items.push_back(ReadTransaction(in)); });
    delta.server_knowledge = data.Int("server_knowledge");
  });
}

Result<SaveTransactionsResult> SaveTransactions(std::string_view body) {
  return ParseData<SaveTransactionsResult>(body, [](const ObjectReader& data, auto& result) {
    if (data.Get("transactions") != nullptr) {
      ForEachObject(data, "transactions", [&](const ObjectReader& in) {
        result.transactions.push_back(ReadTransaction(in));
      });
    } else if (const rapidjson::Value* one = data.Object("transaction"); one != nullptr) {
      result.transactions.push_back(
          ReadTransaction(ObjectReader{*one, data.path + ".transaction", data.failure}));
    }
    if (const rapidjson::Value* duplicates = data.Get("duplicate_import_ids");
        duplicates != nullptr && !duplicates->IsNull()) {
      if (!duplicates->IsArray()) {
        data.Fail("duplicate_import_ids");
      } else {
        for (const auto& id : duplicates->GetArray()) {
          if (!id.IsString()) {
            data.Fail("duplicate_import_ids");
            break;
          }
          result.duplicate_import_ids.push_back(ObjectReader::Text(id));
        }
      }
    }
    result.server_knowledge = data.Int("server_knowledge");
  });
}

Result<DeletedTransaction> OneTransaction(std::string_view body) {
  return ParseData<DeletedTransaction>(body, [](const ObjectReader& data, auto& result) {
    if (const rapidjson::Value* one = data.Object("transaction"); one != nullptr) {
      result.transaction =
          ReadTransaction(ObjectReader{*one, data.path + ".transaction", data.failure});
    }
    result.server_knowledge = data.Int("server_knowledge");
  });
}

Error ErrorFromAnswer(const net::HttpResponse& response) {
  std::string name;
  std::string detail;
  if (auto document = json::ParseObject(response.body); document.ok()) {
    const auto found = document.value().FindMember("error");
    if (found != document.value().MemberEnd() && found->value.IsObject()) {
      std::string ignored;
      const ObjectReader error{found->value, "error", &ignored};
      name = error.StringOr("name", "");
      detail = error.StringOr("detail", "");
    }
  }
  if (detail.empty()) detail = "no details given";
  detail = TruncateCodePoints(detail, kDetailMax);
  const int status = response.status;
  const std::string answered = "YNAB answered " + std::to_string(status) +
                               (name.empty() ? "" : " (" + name + ")") + ": " + detail;
  switch (status) {
    case 400:
      return Error::Of(ErrorCode::kValidationFailed, answered);
    case 401:
      return Error::Of(ErrorCode::kUnauthenticated, "YNAB rejected the access token: " + detail);
    case 403:
      return Error::Of(ErrorCode::kInsufficientScope, answered);
    case 404:
      return Error::Of(ErrorCode::kNotFound, answered);
    case 409:
      return Error::Of(ErrorCode::kConflict, answered);
    case 429: {
      Error error = Error::Of(ErrorCode::kTooManyRequests, answered);
      error.retry_after_seconds = kDefaultRetryAfterSeconds;
      // The headers are scanned here rather than with HttpResponse::Header so the parsers
      // build without libcurl (the fuzz target links them alone).
      for (const auto& [header_name, value] : response.headers) {
        if (header_name != "retry-after") continue;
        int64_t seconds = 0;
        const auto [end, code] =
            std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (code == std::errc() && end == value.data() + value.size() && seconds >= 0) {
          error.retry_after_seconds = std::clamp<int64_t>(seconds, 1, 86'400);
        }
        break;
      }
      return error;
    }
    default:
      if (status >= 500) return Error::Of(ErrorCode::kUnavailable, answered);
      if (status >= 400) return Error::Of(ErrorCode::kBadRequest, answered);
      return Error::Of(ErrorCode::kUnavailable,
                       "YNAB answered an unexpected status " + std::to_string(status));
  }
}

}  // namespace parse

YnabClient::YnabClient(net::HttpClient& http, YnabClientOptions options)
    : http_(http), options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
}

Status YnabClient::TakeRateLimitSlot(const std::string& token) {
  const int64_t now_ms = options_.clock->NowMilliseconds();
  const std::string key = crypto::Sha256Hex(token);
  std::lock_guard lock(mutex_);
  // Forget tokens whose window emptied, so the map stays as large as the active tokens.
  for (auto it = sent_by_token_.begin(); it != sent_by_token_.end();) {
    auto& sent = it->second;
    while (!sent.empty() && sent.front() <= now_ms - kWindowMs) sent.pop_front();
    it = sent.empty() ? sent_by_token_.erase(it) : std::next(it);
  }
  auto& sent = sent_by_token_[key];
  if (static_cast<int64_t>(sent.size()) >= options_.requests_per_hour) {
    const int64_t wait_ms = sent.front() + kWindowMs - now_ms;
    Error error = Error::Of(ErrorCode::kTooManyRequests,
                            "YNAB allows " + std::to_string(options_.requests_per_hour) +
                                " requests per hour per token; this token has used them all");
    error.retry_after_seconds = std::max<int64_t>(1, (wait_ms + 999) / 1000);
    return error;
  }
  sent.push_back(now_ms);
  return Status::Ok();
}

Result<net::HttpResponse> YnabClient::Call(const std::string& token, const std::string& method,
                                           const std::string& path_and_query, std::string body) {
  if (Status slot = TakeRateLimitSlot(token); !slot.ok()) return slot.error();
  net::HttpRequest request;
  request.method = method;
  request.url = options_.base_url + path_and_query;
  request.headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = std::move(body);
  auto answer = http_.Send(request);
  if (!answer.ok()) {
    return Error::Of(ErrorCode::kUnavailable, "YNAB is unreachable: " + answer.error().detail);
  }
  if (answer.value().status < 200 || answer.value().status > 299) {
    return parse::ErrorFromAnswer(answer.value());
  }
  return answer;
}

Result<YnabUser> YnabClient::GetUser(const std::string& token) {
  auto answer = Call(token, "GET", "/user", "");
  if (!answer.ok()) return answer.error();
  return parse::User(answer.value().body);
}

Result<std::vector<Budget>> YnabClient::ListBudgets(const std::string& token) {
  auto answer = Call(token, "GET", "/budgets", "");
  if (!answer.ok()) return answer.error();
  return parse::Budgets(answer.value().body);
}

namespace {
std::string BudgetPath(const std::string& budget_id, std::string_view rest) {
  return "/budgets/" + Encode(budget_id) + std::string(rest);
}
void AppendKnowledge(std::string& path, std::optional<int64_t> knowledge) {
  if (knowledge) AppendQuery(path, "last_knowledge_of_server", std::to_string(*knowledge));
}
}  // namespace

Result<Delta<Account>> YnabClient::ListAccounts(const std::string& token,
                                                const std::string& budget_id,
                                                std::optional<int64_t> last_knowledge_of_server) {
  std::string path = BudgetPath(budget_id, "/accounts");
  AppendKnowledge(path, last_knowledge_of_server);
  auto answer = Call(token, "GET", path, "");
  if (!answer.ok()) return answer.error();
  return parse::Accounts(answer.value().body);
}

Result<Delta<Payee>> YnabClient::ListPayees(const std::string& token, const std::string& budget_id,
                                            std::optional<int64_t> last_knowledge_of_server) {
  std::string path = BudgetPath(budget_id, "/payees");
  AppendKnowledge(path, last_knowledge_of_server);
  auto answer = Call(token, "GET", path, "");
  if (!answer.ok()) return answer.error();
  return parse::Payees(answer.value().body);
}

Result<Delta<Category>> YnabClient::ListCategories(
    const std::string& token, const std::string& budget_id,
    std::optional<int64_t> last_knowledge_of_server) {
  std::string path = BudgetPath(budget_id, "/categories");
  AppendKnowledge(path, last_knowledge_of_server);
  auto answer = Call(token, "GET", path, "");
  if (!answer.ok()) return answer.error();
  return parse::Categories(answer.value().body);
}

Result<Delta<Transaction>> YnabClient::ListTransactions(
    const std::string& token, const std::string& budget_id,
    const std::optional<std::string>& account_id, const std::optional<std::string>& since_date,
    std::optional<int64_t> last_knowledge_of_server) {
  if (since_date && !domain::ParseDate(*since_date).ok()) {
    return Error{ErrorCode::kValidationFailed,
                 "since_date must be a date (YYYY-MM-DD)",
                 {{"since_date", "must be a date (YYYY-MM-DD)"}}};
  }
  std::string path =
      account_id ? BudgetPath(budget_id, "/accounts/" + Encode(*account_id) + "/transactions")
                 : BudgetPath(budget_id, "/transactions");
  if (since_date) AppendQuery(path, "since_date", *since_date);
  AppendKnowledge(path, last_knowledge_of_server);
  auto answer = Call(token, "GET", path, "");
  if (!answer.ok()) return answer.error();
  return parse::Transactions(answer.value().body);
}

Result<SaveTransactionsResult> YnabClient::CreateTransactions(
    const std::string& token, const std::string& budget_id,
    const std::vector<SaveTransaction>& transactions) {
  if (Status valid = ValidateBatch(transactions, true); !valid.ok()) return valid.error();
  auto answer =
      Call(token, "POST", BudgetPath(budget_id, "/transactions"), TransactionsBody(transactions));
  if (!answer.ok()) return answer.error();
  return parse::SaveTransactions(answer.value().body);
}

Result<SaveTransactionsResult> YnabClient::UpdateTransactions(
    const std::string& token, const std::string& budget_id,
    const std::vector<SaveTransaction>& transactions) {
  if (Status valid = ValidateBatch(transactions, false); !valid.ok()) return valid.error();
  auto answer =
      Call(token, "PATCH", BudgetPath(budget_id, "/transactions"), TransactionsBody(transactions));
  if (!answer.ok()) return answer.error();
  return parse::SaveTransactions(answer.value().body);
}

Result<DeletedTransaction> YnabClient::DeleteTransaction(const std::string& token,
                                                         const std::string& budget_id,
                                                         const std::string& transaction_id) {
  auto answer =
      Call(token, "DELETE", BudgetPath(budget_id, "/transactions/" + Encode(transaction_id)), "");
  if (!answer.ok()) return answer.error();
  return parse::OneTransaction(answer.value().body);
}

}  // namespace finsync::delivery::ynab
