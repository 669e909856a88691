#include "delivery/lunchmoney/lunchmoney_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "common/json.h"

namespace finsync::delivery::lunchmoney {
namespace {

// An HttpClient that answers from a script and records every request.
class ScriptedHttpClient final : public net::HttpClient {
 public:
  void Answer(int status, std::string body,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    answers_.emplace_back(std::move(response));
  }
  void Fail(ErrorCode code, std::string detail) {
    answers_.emplace_back(Error::Of(code, std::move(detail)));
  }
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    requests.push_back(request);
    if (answers_.empty()) return Error::Of(ErrorCode::kInternal, "no scripted answer");
    auto answer = std::move(answers_.front());
    answers_.pop_front();
    return answer;
  }
  size_t pending() const { return answers_.size(); }

  std::vector<net::HttpRequest> requests;

 private:
  std::deque<Result<net::HttpResponse>> answers_;
};

constexpr std::string_view kToken = "lm-secret-token-123";

domain::Date Day(int32_t year, int32_t month, int32_t day) {
  return *domain::Date::FromYearMonthDay(year, month, day);
}

NewTransaction Purchase(std::string external_id, int64_t amount_minor = -4250) {
  NewTransaction transaction;
  transaction.asset_id = 72;
  transaction.date = Day(2025, 3, 14);
  transaction.amount_minor = amount_minor;
  transaction.currency = "EUR";
  transaction.payee = "Bakery";
  transaction.external_id = std::move(external_id);
  return transaction;
}

std::string TransactionJson(int64_t id, std::string_view external_id, std::string_view date,
                            std::string_view amount = "-42.5000", int64_t asset_id = 72) {
  return "{\"id\":" + std::to_string(id) + ",\"date\":\"" + std::string(date) + "\",\"amount\":\"" +
         std::string(amount) +
         "\",\"currency\":\"eur\",\"payee\":\"Bakery\",\"notes\":null,\"status\":\"uncleared\","
         "\"is_pending\":false,\"asset_id\":" +
         std::to_string(asset_id) + ",\"external_id\":\"" + std::string(external_id) +
         "\",\"category_id\":null,\"to_base\":-42.5}";
}

std::string Header(const net::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST(LunchMoneyClientTest, GetMeSendsTheTokenAndReadsTheUser) {
  // The token travels only as a Bearer header, and the user's currency comes back upper-case.
  ScriptedHttpClient http;
  http.Answer(200, R"({"user_name":"User 1","user_email":"user-1@lunchmoney.dev","user_id":18328,)"
                   R"("account_id":18221,"budget_name":"Family budget","primary_currency":"usd",)"
                   R"("api_key_label":null})");
  LunchMoneyV1Client client(http, "http://127.0.0.1:9/");
  auto user = client.GetMe(kToken);
  ASSERT_TRUE(user.ok()) << user.error().detail;
  EXPECT_EQ(user.value().user_id, 18328);
  EXPECT_EQ(user.value().account_id, 18221);
  EXPECT_EQ(user.value().user_name, "User 1");
  EXPECT_EQ(user.value().budget_name, "Family budget");
  EXPECT_EQ(user.value().primary_currency, "USD");
  EXPECT_FALSE(user.value().api_key_label.has_value());
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url, "http://127.0.0.1:9/v1/me");
  EXPECT_EQ(Header(http.requests[0], "Authorization"), "Bearer lm-secret-token-123");
  EXPECT_EQ(http.requests[0].url.find(kToken), std::string::npos);
}

TEST(LunchMoneyClientTest, DefaultBaseUrlIsTheDocumentedHost) {
  ScriptedHttpClient http;
  LunchMoneyV1Client client(http);
  EXPECT_EQ(client.base_url(), "https://dev.lunchmoney.app");
}

TEST(LunchMoneyClientTest, ListAssetsKeepsBalancesExact) {
  // Balances are decimal text: cut to the currency's exponent only when nothing is lost.
  ScriptedHttpClient http;
  http.Answer(200, R"({"assets":[
    {"id":72,"type_name":"cash","subtype_name":"physical cash","name":"Test Asset 1",
     "balance":"1201.0100","balance_as_of":"2020-01-26T12:27:22.000Z","currency":"cad",
     "status":"active","institution_name":"Bank of Me","created_at":"2020-01-26T12:27:22.726Z"},
    {"id":74,"type_name":"vehicle","subtype_name":null,"name":"Car","display_name":"My car",
     "balance":"99999999999.0000","currency":"jpy","status":"active","institution_name":null},
    {"id":75,"type_name":"investment","name":"Fund","balance":"0.1234","currency":"usd",
     "closed_on":"2024-01-01"},
    {"id":76,"type_name":"cryptocurrency","name":"Coins","balance":"1.5000","currency":"btc",
     "status":"closed"}]})");
  LunchMoneyV1Client client(http, "http://x");
  auto assets = client.ListAssets(kToken);
  ASSERT_TRUE(assets.ok()) << assets.error().detail;
  ASSERT_EQ(assets.value().size(), 4u);
  const auto& cash = assets.value()[0];
  EXPECT_EQ(cash.id, 72);
  EXPECT_EQ(cash.balance, "1201.01");
  EXPECT_EQ(cash.currency, "CAD");
  EXPECT_EQ(cash.subtype_name, "physical cash");
  EXPECT_EQ(cash.institution_name, "Bank of Me");
  EXPECT_FALSE(cash.closed);
  EXPECT_EQ(assets.value()[1].balance, "99999999999");
  EXPECT_EQ(assets.value()[1].display_name, "My car");
  EXPECT_FALSE(assets.value()[1].subtype_name.has_value());
  EXPECT_EQ(assets.value()[2].balance, "0.1234");
  EXPECT_TRUE(assets.value()[2].closed);
  EXPECT_EQ(assets.value()[3].balance, "1.5000");  // Not an ISO currency: kept as written.
  EXPECT_TRUE(assets.value()[3].closed);
  EXPECT_EQ(http.requests[0].url, "http://x/v1/assets");
}

TEST(LunchMoneyClientTest, MalformedAnswersAreUnavailableNotCrashes) {
  // Each line is an answer the documentation does not allow; none may be taken at face value.
  const std::vector<std::string> bodies = {
      "<html>gateway</html>",
      "[]",
      R"({"assets":{}})",
      R"({"assets":[{"id":"72","name":"x","balance":"1","currency":"usd"}]})",
      R"({"assets":[{"id":72,"name":"x","balance":1.5,"currency":"usd"}]})",
      R"({"assets":[{"id":72,"name":"x","balance":"1e3","currency":"usd"}]})",
      R"({"assets":[{"id":-1,"name":"x","balance":"1","currency":"usd"}]})",
  };
  for (const auto& body : bodies) {
    ScriptedHttpClient http;
    http.Answer(200, body);
    LunchMoneyV1Client client(http, "http://x");
    auto assets = client.ListAssets(kToken);
    ASSERT_FALSE(assets.ok()) << body;
    EXPECT_EQ(assets.error().code, ErrorCode::kUnavailable) << body;
    EXPECT_NE(assets.error().detail.find("Lunch Money"), std::string::npos) << body;
  }
}

TEST(LunchMoneyClientTest, InsertBodyIsExactDecimalWithDebitAsNegative) {
  // Amounts go as exact strings in the currency's exponent, currencies lower-case, and
  // debit_as_negative is always true so that negative means money out.
  NewTransaction euro = Purchase("fs-1-0");
  euro.notes = "Croissants";
  euro.status = TransactionStatus::kCleared;
  euro.tags = {"finsync"};
  NewTransaction yen = Purchase("fs-2-0", 1000);
  yen.currency = "jpy";
  yen.category_id = 315172;
  auto body = v1::InsertBody({euro, yen}, InsertOptions{});
  ASSERT_TRUE(body.ok()) << body.error().detail;
  EXPECT_EQ(body.value(),
            R"({"transactions":[{"date":"2025-03-14","amount":"-42.50","currency":"eur",)"
            R"("asset_id":72,"payee":"Bakery","notes":"Croissants","status":"cleared",)"
            R"("external_id":"fs-1-0","tags":["finsync"]},{"date":"2025-03-14","amount":"1000",)"
            R"("currency":"jpy","asset_id":72,"payee":"Bakery","status":"uncleared",)"
            R"("external_id":"fs-2-0","category_id":315172}],"apply_rules":false,)"
            R"("skip_duplicates":false,"check_for_recurring":false,"debit_as_negative":true,)"
            R"("skip_balance_update":true})");
}

TEST(LunchMoneyClientTest, InsertRefusesWhatLunchMoneyWouldRefuse) {
  // One line per mistake, with the field it is reported on; nothing is sent.
  struct Case {
    std::string name;
    std::vector<NewTransaction> batch;
    std::string field;
  };
  auto with = [](auto change) {
    NewTransaction transaction = Purchase("fs-1-0");
    change(transaction);
    return std::vector<NewTransaction>{transaction};
  };
  std::vector<Case> cases = {
      {"empty batch", {}, "transactions"},
      {"501 transactions", std::vector<NewTransaction>(501, Purchase("x")), "transactions"},
      {"payee 141", with([](auto& t) { t.payee = std::string(141, 'p'); }), "transactions.0.payee"},
      {"notes 351", with([](auto& t) { t.notes = std::string(351, 'n'); }), "transactions.0.notes"},
      {"external_id 76", with([](auto& t) { t.external_id = std::string(76, 'e'); }),
       "transactions.0.external_id"},
      {"external_id empty", with([](auto& t) { t.external_id.clear(); }),
       "transactions.0.external_id"},
      {"unknown currency", with([](auto& t) { t.currency = "XYZ"; }), "transactions.0.currency"},
      {"no asset", with([](auto& t) { t.asset_id = 0; }), "transactions.0.asset_id"},
      {"same external_id twice", {Purchase("dup"), Purchase("dup")}, "transactions.1.external_id"},
  };
  for (const auto& test_case : cases) {
    ScriptedHttpClient http;
    LunchMoneyV1Client client(http, "http://x");
    auto result = client.InsertTransactions(kToken, test_case.batch, InsertOptions{});
    ASSERT_FALSE(result.ok()) << test_case.name;
    EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed) << test_case.name;
    ASSERT_FALSE(result.error().field_errors.empty()) << test_case.name;
    EXPECT_EQ(result.error().field_errors[0].field, test_case.field) << test_case.name;
    EXPECT_TRUE(http.requests.empty()) << test_case.name;
  }
}

TEST(LunchMoneyClientTest, LimitsCountCharactersAsLunchMoneyDoes) {
  // 140 two-byte characters fit the payee limit; an emoji counts as two characters.
  std::string umlauts;
  for (int i = 0; i < 140; ++i) umlauts += "\xC3\xA4";
  EXPECT_EQ(LunchMoneyLength(umlauts), 140u);
  EXPECT_EQ(LunchMoneyLength("\xF0\x9F\x8D\x9E"), 2u);  // U+1F35E
  EXPECT_EQ(LunchMoneyLength("\xFF"), 1u);
  EXPECT_EQ(TruncateForLunchMoney("ab\xF0\x9F\x8D\x9E", 3), "ab");
  EXPECT_EQ(TruncateForLunchMoney("a\xC3\xA4x", 2), "a\xC3\xA4");
  EXPECT_EQ(TruncateForLunchMoney(umlauts + "x", kPayeeLengthMax), umlauts);
  NewTransaction transaction = Purchase("fs-1-0");
  transaction.payee = umlauts;
  EXPECT_TRUE(v1::InsertBody({transaction}, InsertOptions{}).ok());
}

TEST(LunchMoneyClientTest, InsertMapsIdsInOrderWhenNothingWasSkipped) {
  ScriptedHttpClient http;
  http.Answer(200, R"({"ids":[54,55]})");
  LunchMoneyV1Client client(http, "http://x");
  auto result = client.InsertTransactions(kToken, {Purchase("a"), Purchase("b")}, {});
  ASSERT_TRUE(result.ok()) << result.error().detail;
  ASSERT_EQ(result.value().size(), 2u);
  EXPECT_EQ(result.value()[0].external_id, "a");
  EXPECT_EQ(result.value()[0].id, 54);
  EXPECT_EQ(result.value()[0].outcome, InsertOutcome::kInserted);
  EXPECT_EQ(result.value()[1].id, 55);
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "POST");
  EXPECT_EQ(http.requests[0].url, "http://x/v1/transactions");
  EXPECT_EQ(Header(http.requests[0], "Content-Type"), "application/json");
}

TEST(LunchMoneyClientTest, InsertResolvesSkippedDuplicatesByExternalId) {
  // Lunch Money skipped "a" (it existed as 40); the client reads the asset back and reports
  // "a" as a duplicate of 40 and "b" as inserted.
  ScriptedHttpClient http;
  http.Answer(200, R"({"ids":[55]})");
  http.Answer(200, "{\"transactions\":[" + TransactionJson(40, "a", "2025-03-01") + "," +
                       TransactionJson(55, "b", "2025-03-14") + "," +
                       TransactionJson(41, "other", "2025-03-02") + "],\"has_more\":false}");
  LunchMoneyV1Client client(http, "http://x");
  auto result = client.InsertTransactions(kToken, {Purchase("a"), Purchase("b")}, {});
  ASSERT_TRUE(result.ok()) << result.error().detail;
  EXPECT_EQ(result.value()[0].outcome, InsertOutcome::kDuplicate);
  EXPECT_EQ(result.value()[0].id, 40);
  EXPECT_EQ(result.value()[1].outcome, InsertOutcome::kInserted);
  EXPECT_EQ(result.value()[1].id, 55);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].url,
            "http://x/v1/transactions?asset_id=72&start_date=2025-02-11&end_date=2025-04-14"
            "&debit_as_negative=true&limit=1000&offset=0");
}

TEST(LunchMoneyClientTest, InsertReportsADuplicateOutsideTheWindowWithoutId) {
  ScriptedHttpClient http;
  http.Answer(200, R"({"ids":[]})");
  http.Answer(200, R"({"transactions":[],"has_more":false})");
  LunchMoneyV1Client client(http, "http://x");
  auto result = client.InsertTransactions(kToken, {Purchase("a")}, {});
  ASSERT_TRUE(result.ok()) << result.error().detail;
  EXPECT_EQ(result.value()[0].outcome, InsertOutcome::kDuplicate);
  EXPECT_FALSE(result.value()[0].id.has_value());
}

TEST(LunchMoneyClientTest, InsertRefusesIdsItCannotAccountFor) {
  // More ids than sent, or a returned id that belongs to none of the sent transactions.
  {
    ScriptedHttpClient http;
    http.Answer(200, R"({"ids":[1,2]})");
    LunchMoneyV1Client client(http, "http://x");
    auto result = client.InsertTransactions(kToken, {Purchase("a")}, {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  }
  {
    ScriptedHttpClient http;
    http.Answer(200, R"({"ids":[99]})");
    http.Answer(200, "{\"transactions\":[" + TransactionJson(40, "a", "2025-03-14") + "]}");
    LunchMoneyV1Client client(http, "http://x");
    auto result = client.InsertTransactions(kToken, {Purchase("a"), Purchase("b")}, {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  }
}

TEST(LunchMoneyClientTest, ErrorsMapToFinsyncCodes) {
  // One line per answer Lunch Money can give, with the code, Retry-After and first field.
  struct Case {
    int status;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    ErrorCode code;
    int64_t retry_after_seconds;
    std::string first_field;
  };
  const std::vector<Case> cases = {
      {401,
       R"({"name":"Error","message":"Access token does not exist."})",
       {},
       ErrorCode::kUnauthenticated,
       0,
       ""},
      {403, "", {}, ErrorCode::kUnauthenticated, 0, ""},
      {200, R"({"error":"Access token does not exist."})", {}, ErrorCode::kUnauthenticated, 0, ""},
      {404, R"({"error":"Transaction ID not found."})", {}, ErrorCode::kNotFound, 0, ""},
      {200,
       R"({"error":["This transaction doesn't exist or you don't have access to it."]})",
       {},
       ErrorCode::kNotFound,
       0,
       ""},
      {404,
       R"({"error":["Transaction 0 is missing date.","Transaction 1 is missing amount."]})",
       {},
       ErrorCode::kValidationFailed,
       0,
       "transactions.0"},
      {200,
       R"({"error":["Transaction 3 status must be either cleared or uncleared: null"]})",
       {},
       ErrorCode::kValidationFailed,
       0,
       "transactions.3"},
      {400,
       R"({"errors":["type_name must be one of: cash, credit"]})",
       {},
       ErrorCode::kValidationFailed,
       0,
       "lunch_money"},
      {422, "", {}, ErrorCode::kValidationFailed, 0, "lunch_money"},
      {400,
       R"({"error":["Transaction 0 external_id already exists for asset 72."]})",
       {},
       ErrorCode::kConflict,
       0,
       ""},
      {429,
       R"({"error":"Too many requests"})",
       {{"retry-after", "17"}},
       ErrorCode::kTooManyRequests,
       17,
       ""},
      {429, "", {}, ErrorCode::kTooManyRequests, 60, ""},
      {429,
       "",
       {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}},
       ErrorCode::kTooManyRequests,
       60,
       ""},
      {429, "", {{"retry-after", "999999"}}, ErrorCode::kTooManyRequests, 86400, ""},
      {500, R"({"error":"Internal"})", {}, ErrorCode::kUnavailable, 0, ""},
      {503, "<html>down</html>", {}, ErrorCode::kUnavailable, 0, ""},
      {302, "", {}, ErrorCode::kUnavailable, 0, ""},
      {200,
       R"({"errors":[{"errMsg":"bad date"}]})",
       {},
       ErrorCode::kValidationFailed,
       0,
       "lunch_money"},
  };
  for (const auto& test_case : cases) {
    net::HttpResponse response;
    response.status = test_case.status;
    response.body = test_case.body;
    response.headers = test_case.headers;
    auto error = v1::ErrorFor(response, "inserting transactions");
    std::string context = std::to_string(test_case.status) + " " + test_case.body;
    ASSERT_TRUE(error.has_value()) << context;
    EXPECT_EQ(error->code, test_case.code) << context << " -> " << error->detail;
    EXPECT_EQ(error->retry_after_seconds, test_case.retry_after_seconds) << context;
    EXPECT_NE(error->detail.find("Lunch Money"), std::string::npos) << context;
    if (!test_case.first_field.empty()) {
      ASSERT_FALSE(error->field_errors.empty()) << context;
      EXPECT_EQ(error->field_errors[0].field, test_case.first_field) << context;
    }
  }
}

TEST(LunchMoneyClientTest, ErrorMessagesQuoteLunchMoney) {
  net::HttpResponse response;
  response.status = 401;
  response.body = R"({"name":"Error","message":"Access token does not exist."})";
  auto error = v1::ErrorFor(response, "reading the user");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->detail,
            "Lunch Money rejected the access token (HTTP 401) while reading the user: "
            "\"Access token does not exist.\".");
}

TEST(LunchMoneyClientTest, SuccessAnswersAreNotErrors) {
  for (const std::string body : {R"({"ids":[]})", R"({"error":null,"updated":true})",
                                 R"({"error":[],"ids":[1]})", "", "[1,2]"}) {
    net::HttpResponse response;
    response.status = 200;
    response.body = body;
    EXPECT_FALSE(v1::ErrorFor(response, "x").has_value()) << body;
  }
}

TEST(LunchMoneyClientTest, TransportFailuresNameLunchMoney) {
  ScriptedHttpClient http;
  http.Fail(ErrorCode::kUnavailable, "connect to 10.0.0.1 timed out");
  http.Fail(ErrorCode::kBadRequest, "127.0.0.1 is a private address");
  LunchMoneyV1Client client(http, "http://x");
  auto unreachable = client.GetMe(kToken);
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(unreachable.error().detail,
            "Lunch Money could not be reached: connect to 10.0.0.1 timed out");
  auto refused = client.GetMe(kToken);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(refused.error().detail.find("Lunch Money URL"), std::string::npos);
}

TEST(LunchMoneyClientTest, FindTransactionsReadsEveryPageOfTheAsset) {
  // Pages follow has_more with offsets; other assets and dates outside the range are dropped.
  ScriptedHttpClient http;
  http.Answer(200, "{\"transactions\":[" + TransactionJson(1, "a", "2025-03-01") + "," +
                       TransactionJson(2, "b", "2025-03-02", "-1.0000", 99) +
                       "],\"has_more\":true}");
  http.Answer(200, "{\"transactions\":[" + TransactionJson(3, "c", "2025-03-03") + "," +
                       TransactionJson(4, "d", "2025-03-09") + "],\"has_more\":false}");
  LunchMoneyV1Client client(http, "http://x");
  auto found = client.FindTransactions(kToken, 72, Day(2025, 3, 1), Day(2025, 3, 5));
  ASSERT_TRUE(found.ok()) << found.error().detail;
  ASSERT_EQ(found.value().size(), 2u);
  EXPECT_EQ(found.value()[0].id, 1);
  EXPECT_EQ(found.value()[1].external_id, "c");
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_NE(http.requests[0].url.find("&offset=0"), std::string::npos);
  EXPECT_NE(http.requests[1].url.find("&offset=1000"), std::string::npos);
}

TEST(LunchMoneyClientTest, FindTransactionsAsksForOneMoreDayWhenStartEqualsEnd) {
  ScriptedHttpClient http;
  http.Answer(200, "{\"transactions\":[" + TransactionJson(1, "a", "2025-03-01") + "," +
                       TransactionJson(2, "b", "2025-03-02") + "]}");
  LunchMoneyV1Client client(http, "http://x");
  auto found = client.FindTransactions(kToken, 72, Day(2025, 3, 1), Day(2025, 3, 1));
  ASSERT_TRUE(found.ok()) << found.error().detail;
  ASSERT_EQ(found.value().size(), 1u);
  EXPECT_NE(http.requests[0].url.find("start_date=2025-03-01&end_date=2025-03-02"),
            std::string::npos);
}

TEST(LunchMoneyClientTest, GetTransactionReadsSignedAmounts) {
  ScriptedHttpClient http;
  http.Answer(200, TransactionJson(480887173, "fs-9", "2023-11-29", "-14.1800"));
  LunchMoneyV1Client client(http, "http://x");
  auto transaction = client.GetTransaction(kToken, 480887173);
  ASSERT_TRUE(transaction.ok()) << transaction.error().detail;
  EXPECT_EQ(transaction.value().amount, "-14.1800");
  EXPECT_EQ(transaction.value().currency, "EUR");
  auto minor = AmountMinor(transaction.value());
  ASSERT_TRUE(minor.ok());
  EXPECT_EQ(minor.value(), -1418);
  EXPECT_EQ(http.requests[0].url, "http://x/v1/transactions/480887173?debit_as_negative=true");
  Transaction odd = transaction.value();
  odd.amount = "-14.1850";
  EXPECT_FALSE(AmountMinor(odd).ok());
}

TEST(LunchMoneyClientTest, UpdateSendsOnlyTheChangedFields) {
  ScriptedHttpClient http;
  http.Answer(200, R"({"updated":true})");
  LunchMoneyV1Client client(http, "http://x");
  TransactionUpdate update;
  update.amount_minor = -1999;
  update.currency = "USD";
  update.status = TransactionStatus::kCleared;
  Status status = client.UpdateTransaction(kToken, 54, update);
  ASSERT_TRUE(status.ok()) << status.error().detail;
  EXPECT_EQ(http.requests[0].method, "PUT");
  EXPECT_EQ(http.requests[0].url, "http://x/v1/transactions/54");
  EXPECT_EQ(http.requests[0].body,
            R"({"transaction":{"amount":"-19.99","currency":"usd","status":"cleared"},)"
            R"("debit_as_negative":true})");
}

TEST(LunchMoneyClientTest, UpdateErrors) {
  ScriptedHttpClient http;
  http.Answer(200,
              R"({"error":["This transaction doesn't exist or you don't have access to it."]})");
  http.Answer(200, R"({"updated":false})");
  LunchMoneyV1Client client(http, "http://x");
  TransactionUpdate update;
  update.payee = "Shop";
  EXPECT_EQ(client.UpdateTransaction(kToken, 54, update).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(client.UpdateTransaction(kToken, 54, update).error().code,
            ErrorCode::kValidationFailed);
  TransactionUpdate amount_only;
  amount_only.amount_minor = 5;
  Status refused = client.UpdateTransaction(kToken, 54, amount_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field_errors[0].field, "currency");
  EXPECT_EQ(http.requests.size(), 2u);
}

TEST(LunchMoneyClientTest, RemoveNeutralisesOnceAndKeepsTheOldNotes) {
  // v1 cannot delete: the amount becomes zero and the notes say why, in front of the old ones.
  // A second removal finds it already neutralised and sends nothing.
  ScriptedHttpClient http;
  std::string original = TransactionJson(54, "fs-1", "2025-03-14");
  original.replace(original.find("\"notes\":null"), 12, "\"notes\":\"Croissants\"");
  http.Answer(200, original);
  http.Answer(200, R"({"updated":true})");
  LunchMoneyV1Client client(http, "http://x");
  auto removed = client.RemoveTransaction(kToken, 54, "Undone in finsync");
  ASSERT_TRUE(removed.ok()) << removed.error().detail;
  EXPECT_EQ(removed.value(), RemovalOutcome::kNeutralised);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].body,
            R"({"transaction":{"amount":"0","notes":"Undone in finsync | Croissants",)"
            R"("status":"uncleared"},"debit_as_negative":true})");
  std::string neutralised = TransactionJson(54, "fs-1", "2025-03-14", "0.0000");
  neutralised.replace(neutralised.find("\"notes\":null"), 12,
                      "\"notes\":\"Undone in finsync | Croissants\"");
  http.Answer(200, neutralised);
  auto again = client.RemoveTransaction(kToken, 54, "Undone in finsync");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(http.requests.size(), 3u);
  EXPECT_EQ(http.pending(), 0u);
}

TEST(LunchMoneyClientTest, RemovingAMissingTransactionSucceedsAsAlreadyGone) {
  // The user deleted it in Lunch Money: undo has nothing left to do and must not fail.
  ScriptedHttpClient http;
  http.Answer(404, R"({"error":"Transaction ID not found."})");
  http.Answer(401, R"({"name":"Error","message":"Access token does not exist."})");
  LunchMoneyV1Client client(http, "http://x");
  auto removed = client.RemoveTransaction(kToken, 54, "Undone");
  ASSERT_TRUE(removed.ok()) << removed.error().detail;
  EXPECT_EQ(removed.value(), RemovalOutcome::kAlreadyGone);
  EXPECT_EQ(http.requests.size(), 1u);
  auto rejected = client.RemoveTransaction(kToken, 54, "Undone");
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace finsync::delivery::lunchmoney
