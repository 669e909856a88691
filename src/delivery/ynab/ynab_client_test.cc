#include "delivery/ynab/ynab_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace finsync::delivery::ynab {
namespace {

// Records every request and answers from a queue (or a default answer when it is empty).
class FakeHttpClient final : public net::HttpClient {
 public:
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    if (answers.empty()) return default_answer;
    const Queued answer = answers.front();
    answers.erase(answers.begin());
    if (answer.transport_error) {
      return Error::Of(ErrorCode::kUnavailable, *answer.transport_error);
    }
    return answer.response;
  }
  void Answer(int status, std::string body,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    answers.push_back(Queued{net::HttpResponse{status, std::move(headers), std::move(body)}, {}});
  }
  void FailTransport(std::string message) { answers.push_back(Queued{{}, std::move(message)}); }
  size_t count() {
    std::lock_guard lock(mutex_);
    return requests.size();
  }

  struct Queued {
    net::HttpResponse response;
    std::optional<std::string> transport_error;
  };
  std::vector<net::HttpRequest> requests;
  std::vector<Queued> answers;
  net::HttpResponse default_answer{200, {}, R"({"data":{"user":{"id":"u-1"}}})"};

 private:
  std::mutex mutex_;
};

constexpr char kBudget[] = "11111111-1111-1111-1111-111111111111";
constexpr char kAccount[] = "22222222-2222-2222-2222-222222222222";

YnabClientOptions Options(const Clock* clock = &SystemClock::Instance(), int per_hour = 200) {
  YnabClientOptions options;
  options.base_url = "https://ynab.test/v1/";
  options.requests_per_hour = per_hour;
  options.clock = clock;
  return options;
}

std::string TransactionJson(const std::string& id, const std::string& amount,
                            const std::string& import_id = "null") {
  return R"({"id":")" + id + R"(","date":"2025-01-02","amount":)" + amount +
         R"(,"memo":null,"cleared":"cleared","approved":false,"flag_color":null,)"
         R"("account_id":")" +
         kAccount +
         R"(","payee_id":null,"payee_name":"Shop","category_id":null,)"
         R"("import_id":)" +
         import_id + R"(,"deleted":false,"account_name":"Checking","subtransactions":[]})";
}

// Proves GetUser sends one authenticated GET to <base>/user and reads the user id.
TEST(YnabClientTest, GetUserSendsBearerToken) {
  FakeHttpClient http;
  YnabClient client(http, Options());
  auto user = client.GetUser("tok-123");
  ASSERT_TRUE(user.ok()) << user.error().detail;
  EXPECT_EQ(user.value().id, "u-1");
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url, "https://ynab.test/v1/user");
  EXPECT_EQ(http.requests[0].headers[0].first, "Authorization");
  EXPECT_EQ(http.requests[0].headers[0].second, "Bearer tok-123");
}

// Proves budgets are read with their currency from either the "budgets" or the "plans" key.
TEST(YnabClientTest, ListBudgetsReadsCurrency) {
  FakeHttpClient http;
  http.Answer(200, R"({"data":{"budgets":[{"id":"b1","name":"Home","first_month":"2024-01-01",)"
                   R"("last_month":"2025-02-01","currency_format":{"iso_code":"EUR",)"
                   R"("decimal_digits":2}},{"id":"b2","name":"Old","currency_format":null}]}})");
  http.Answer(200, R"({"data":{"plans":[{"id":"p1","name":"Plan"}]}})");
  YnabClient client(http, Options());
  auto budgets = client.ListBudgets("t");
  ASSERT_TRUE(budgets.ok()) << budgets.error().detail;
  ASSERT_EQ(budgets.value().size(), 2u);
  EXPECT_EQ(budgets.value()[0].currency, "EUR");
  EXPECT_EQ(budgets.value()[0].first_month, "2024-01-01");
  EXPECT_EQ(budgets.value()[1].currency, "");
  EXPECT_EQ(http.requests[0].url, "https://ynab.test/v1/budgets");
  auto plans = client.ListBudgets("t");
  ASSERT_TRUE(plans.ok());
  EXPECT_EQ(plans.value()[0].id, "p1");
}

// Proves milliunit amounts are read exactly, even past 2^53, and that a delta request carries
// last_knowledge_of_server and returns server_knowledge.
TEST(YnabClientTest, ListAccountsExactAmountsAndDelta) {
  FakeHttpClient http;
  http.Answer(200, R"({"data":{"server_knowledge":42,"accounts":[{"id":"a1","name":"Checking",)"
                   R"("type":"checking","on_budget":true,"closed":false,"note":null,)"
                   R"("balance":9007199254740993,"cleared_balance":-294230,)"
                   R"("uncleared_balance":0,"transfer_payee_id":"p1","deleted":false,)"
                   R"("balance_currency":9007199254740.993}]}})");
  YnabClient client(http, Options());
  auto accounts = client.ListAccounts("t", kBudget, 41);
  ASSERT_TRUE(accounts.ok()) << accounts.error().detail;
  EXPECT_EQ(http.requests[0].url, std::string("https://ynab.test/v1/budgets/") + kBudget +
                                      "/accounts?last_knowledge_of_server=41");
  EXPECT_EQ(accounts.value().server_knowledge, 42);
  ASSERT_EQ(accounts.value().items.size(), 1u);
  EXPECT_EQ(accounts.value().items[0].balance, 9007199254740993);
  EXPECT_EQ(accounts.value().items[0].cleared_balance, -294230);
  EXPECT_EQ(accounts.value().items[0].transfer_payee_id.value_or(""), "p1");
  EXPECT_FALSE(accounts.value().items[0].note.has_value());
}

// Proves answers with a fractional or out-of-range amount, a missing field or a non-object are
// refused as unreadable (kUnavailable) naming the field, never rounded.
TEST(YnabClientTest, UnreadableAnswersTable) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"data":{"server_knowledge":1,"transactions":[)" + TransactionJson("t1", "12.5") + "]}}",
       "data.transactions.0.amount"},
      {R"({"data":{"server_knowledge":1,"transactions":[)" +
           TransactionJson("t1", "99999999999999999999") + "]}}",
       "data.transactions.0.amount"},
      {R"({"data":{"transactions":[]}})", "data.server_knowledge"},
      {R"({"data":{"server_knowledge":1,"transactions":[1]}})", "data.transactions.0"},
      {R"({"data":{"server_knowledge":1}})", "data.transactions"},
      {R"({"nodata":{}})", "no data object"},
      {"<html>", "not a JSON object"},
  };
  for (const auto& [body, expected] : cases) {
    auto parsed = parse::Transactions(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(parsed.error().detail.find(expected), std::string::npos) << parsed.error().detail;
  }
}

// Proves categories are flattened with their group, and a deleted group deletes its categories.
TEST(YnabClientTest, ListCategoriesFlattensGroups) {
  FakeHttpClient http;
  http.Answer(200, R"({"data":{"server_knowledge":7,"category_groups":[)"
                   R"({"id":"g1","name":"Bills","hidden":false,"internal":false,"deleted":false,)"
                   R"("categories":[{"id":"c1","name":"Rent","hidden":false,"deleted":false},)"
                   R"({"id":"c2","name":"Power","hidden":true,"deleted":false}]},)"
                   R"({"id":"g2","name":"Gone","hidden":false,"internal":false,"deleted":true,)"
                   R"("categories":[{"id":"c3","name":"X","hidden":false,"deleted":false}]}]}})");
  YnabClient client(http, Options());
  auto categories = client.ListCategories("t", kBudget, std::nullopt);
  ASSERT_TRUE(categories.ok()) << categories.error().detail;
  const auto& items = categories.value().items;
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].category_group_id, "g1");
  EXPECT_EQ(items[0].category_group_name, "Bills");
  EXPECT_TRUE(items[1].hidden);
  EXPECT_FALSE(items[1].deleted);
  EXPECT_TRUE(items[2].deleted);
  EXPECT_EQ(http.requests[0].url.find('?'), std::string::npos);
}

// Proves transaction listing picks the account path and query, and a bad since_date is
// refused without sending.
TEST(YnabClientTest, ListTransactionsPathsAndQuery) {
  FakeHttpClient http;
  http.Answer(200, R"({"data":{"server_knowledge":9,"transactions":[)" +
                       TransactionJson("t1", "-1000", R"("imp-1")") + "]}}");
  YnabClient client(http, Options());
  auto listed =
      client.ListTransactions("t", kBudget, std::string(kAccount), std::string("2025-01-01"), 8);
  ASSERT_TRUE(listed.ok()) << listed.error().detail;
  EXPECT_EQ(http.requests[0].url, std::string("https://ynab.test/v1/budgets/") + kBudget +
                                      "/accounts/" + kAccount +
                                      "/transactions?since_date=2025-01-01&"
                                      "last_knowledge_of_server=8");
  ASSERT_EQ(listed.value().items.size(), 1u);
  EXPECT_EQ(listed.value().items[0].amount, -1000);
  EXPECT_EQ(listed.value().items[0].import_id.value_or(""), "imp-1");
  EXPECT_EQ(listed.value().items[0].payee_name.value_or(""), "Shop");
  auto bad =
      client.ListTransactions("t", kBudget, std::nullopt, std::string("2025-13-01"), std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(http.requests.size(), 1u);
}

SaveTransaction NewTransaction(const std::string& import_id) {
  SaveTransaction transaction;
  transaction.import_id = import_id;
  transaction.account_id = kAccount;
  transaction.date = "2025-01-02";
  transaction.amount = -294230;
  transaction.payee_name = "Café";
  transaction.cleared = "cleared";
  transaction.approved = false;
  return transaction;
}

// Proves a create sends one POST with a transactions list (exact JSON) and reads the created
// transactions, the duplicates and server_knowledge.
TEST(YnabClientTest, CreateTransactionsBatch) {
  FakeHttpClient http;
  http.Answer(201, R"({"data":{"transaction_ids":["t1"],"transactions":[)" +
                       TransactionJson("t1", "-294230", R"("imp-1")") +
                       R"(],"duplicate_import_ids":["imp-2"],"server_knowledge":12}})");
  YnabClient client(http, Options());
  auto created =
      client.CreateTransactions("t", kBudget, {NewTransaction("imp-1"), NewTransaction("imp-2")});
  ASSERT_TRUE(created.ok()) << created.error().detail;
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "POST");
  EXPECT_EQ(http.requests[0].url,
            std::string("https://ynab.test/v1/budgets/") + kBudget + "/transactions");
  const std::string one = std::string(R"({"import_id":"imp-1","account_id":")") + kAccount +
                          R"(","date":"2025-01-02","amount":-294230,"payee_name":"Café",)"
                          R"("cleared":"cleared","approved":false})";
  EXPECT_EQ(http.requests[0].body.substr(0, 17 + one.size()), R"({"transactions":[)" + one);
  ASSERT_EQ(created.value().transactions.size(), 1u);
  EXPECT_EQ(created.value().transactions[0].id, "t1");
  EXPECT_EQ(created.value().transactions[0].import_id.value_or(""), "imp-1");
  EXPECT_EQ(created.value().duplicate_import_ids, std::vector<std::string>{"imp-2"});
  EXPECT_EQ(created.value().server_knowledge, 12);
}

// Proves the validation helpers name each field YNAB would refuse, count characters rather
// than bytes, and that nothing is sent when a batch is invalid.
TEST(YnabClientTest, ValidationNamesFields) {
  FakeHttpClient http;
  YnabClient client(http, Options());
  SaveTransaction bad = NewTransaction(std::string(37, 'i'));
  bad.memo = std::string(501, 'm');
  bad.payee_name = std::string(201, 'p');
  bad.cleared = "pending";
  bad.flag_color = "pink";
  bad.date = "2025-02-30";
  bad.category_id = "not-a-uuid";
  SaveTransaction missing;
  auto created = client.CreateTransactions("t", kBudget, {NewTransaction("ok"), bad, missing});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kValidationFailed);
  std::vector<std::string> fields;
  for (const auto& error : created.error().field_errors) fields.push_back(error.field);
  const std::vector<std::string> expected = {
      "transactions.1.import_id",   "transactions.1.payee_name", "transactions.1.memo",
      "transactions.1.category_id", "transactions.1.date",       "transactions.1.cleared",
      "transactions.1.flag_color",  "transactions.2.account_id", "transactions.2.date",
      "transactions.2.amount"};
  EXPECT_EQ(fields, expected);
  EXPECT_TRUE(http.requests.empty());

  std::vector<FieldError> errors;
  SaveTransaction accented = NewTransaction(std::string(36, 'i'));
  std::string memo;
  for (int i = 0; i < 500; ++i) memo += "é";  // 500 characters, 1000 bytes.
  accented.memo = memo;
  accented.payee_name = std::string(200, 'p');
  accented.flag_color = "";
  ValidateSaveTransaction(accented, true, "t", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(CodePointLength(memo), 500u);
  EXPECT_EQ(TruncateCodePoints(memo + "x", kMemoMaxLength), memo);
  EXPECT_EQ(TruncateCodePoints("héllo", 2), "hé");
  EXPECT_EQ(TruncateCodePoints("abc", 10), "abc");
  EXPECT_TRUE(IsFlagColor("purple"));
  EXPECT_FALSE(IsFlagColor("Purple"));
  EXPECT_TRUE(IsClearedStatus("reconciled"));
  EXPECT_FALSE(client.CreateTransactions("t", kBudget, {}).ok());
}

// Proves an update is one PATCH by id, and an update without id is refused unsent.
TEST(YnabClientTest, UpdateTransactionsPatchById) {
  FakeHttpClient http;
  http.Answer(209, R"({"data":{"transaction_ids":["t1"],"transactions":[)" +
                       TransactionJson("t1", "-5000") + R"(],"server_knowledge":13}})");
  YnabClient client(http, Options());
  SaveTransaction update;
  update.id = "t1";
  update.import_id = "ignored-when-id-is-set";
  update.amount = -5000;
  update.memo = "";
  auto updated = client.UpdateTransactions("t", kBudget, {update});
  ASSERT_TRUE(updated.ok()) << updated.error().detail;
  EXPECT_EQ(http.requests[0].method, "PATCH");
  EXPECT_EQ(http.requests[0].body, R"({"transactions":[{"id":"t1","amount":-5000,"memo":""}]})");
  EXPECT_EQ(updated.value().transactions[0].amount, -5000);
  SaveTransaction no_id;
  no_id.amount = 1;
  auto refused = client.UpdateTransactions("t", kBudget, {no_id});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field_errors[0].field, "transactions.0.id");
  EXPECT_EQ(http.requests.size(), 1u);
}

// Proves a delete is a DELETE on the transaction's path and returns it marked deleted.
TEST(YnabClientTest, DeleteTransaction) {
  FakeHttpClient http;
  std::string deleted = TransactionJson("t/1", "-5000");
  deleted.replace(deleted.find(R"("deleted":false)"), 15, R"("deleted":true)");
  http.Answer(200, R"({"data":{"transaction":)" + deleted + R"(,"server_knowledge":14}})");
  YnabClient client(http, Options());
  auto result = client.DeleteTransaction("t", kBudget, "t/1");
  ASSERT_TRUE(result.ok()) << result.error().detail;
  EXPECT_EQ(http.requests[0].method, "DELETE");
  EXPECT_EQ(http.requests[0].url,
            std::string("https://ynab.test/v1/budgets/") + kBudget + "/transactions/t%2F1");
  EXPECT_TRUE(result.value().transaction.deleted);
  EXPECT_EQ(result.value().server_knowledge, 14);
}

// Proves each YNAB answer maps to its ErrorCode with a message naming YNAB and its detail.
TEST(YnabClientTest, ErrorMappingTable) {
  struct Case {
    int status;
    std::vector<std::pair<std::string, std::string>> headers;
    ErrorCode code;
    std::string message;
    int64_t retry_after_seconds;
  };
  const Case cases[] = {
      {400, {}, ErrorCode::kValidationFailed, "YNAB answered 400 (bad_request): boom", 0},
      {401, {}, ErrorCode::kUnauthenticated, "YNAB rejected the access token: boom", 0},
      {403, {}, ErrorCode::kInsufficientScope, "YNAB answered 403 (bad_request): boom", 0},
      {404, {}, ErrorCode::kNotFound, "YNAB answered 404 (bad_request): boom", 0},
      {409, {}, ErrorCode::kConflict, "YNAB answered 409 (bad_request): boom", 0},
      {429, {}, ErrorCode::kTooManyRequests, "YNAB answered 429", 300},
      {429, {{"retry-after", "120"}}, ErrorCode::kTooManyRequests, "YNAB answered 429", 120},
      {429, {{"retry-after", "soon"}}, ErrorCode::kTooManyRequests, "YNAB answered 429", 300},
      {500, {}, ErrorCode::kUnavailable, "YNAB answered 500 (bad_request): boom", 0},
      {503, {}, ErrorCode::kUnavailable, "YNAB answered 503", 0},
      {302, {}, ErrorCode::kUnavailable, "unexpected status 302", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    FakeHttpClient http;
    http.Answer(c.status,
                R"({"error":{"id":")" + std::to_string(c.status) +
                    R"(","name":"bad_request","detail":"boom"}})",
                c.headers);
    YnabClient client(http, Options());
    auto user = client.GetUser("t");
    ASSERT_FALSE(user.ok());
    EXPECT_EQ(user.error().code, c.code);
    EXPECT_NE(user.error().detail.find(c.message), std::string::npos) << user.error().detail;
    EXPECT_EQ(user.error().retry_after_seconds, c.retry_after_seconds);
  }
  FakeHttpClient down;
  down.FailTransport("could not connect to ynab.test");
  down.Answer(502, "<html>bad gateway</html>");
  YnabClient client(down, Options());
  auto unreachable = client.GetUser("t");
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(unreachable.error().detail, "YNAB is unreachable: could not connect to ynab.test");
  auto html = client.GetUser("t");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().detail, "YNAB answered 502: no details given");
}

// Proves the sliding window: the limit is per token, the call over the limit is not sent and
// says when the oldest request leaves the window, and slots come back as time passes.
TEST(YnabClientTest, RateLimitSlidingWindow) {
  ManualClock clock(1'000'000'000);
  FakeHttpClient http;
  YnabClient client(http, Options(&clock, 3));
  ASSERT_TRUE(client.GetUser("a").ok());
  clock.Advance(600'000);  // 10 minutes.
  ASSERT_TRUE(client.GetUser("a").ok());
  ASSERT_TRUE(client.GetUser("a").ok());
  auto refused = client.GetUser("a");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(refused.error().retry_after_seconds, 3000);  // The first leaves in 50 minutes.
  EXPECT_EQ(http.count(), 3u);
  ASSERT_TRUE(client.GetUser("b").ok());  // Another token has its own window.
  clock.Advance(2'999'000);
  auto still = client.GetUser("a");
  ASSERT_FALSE(still.ok());
  EXPECT_EQ(still.error().retry_after_seconds, 1);
  clock.Advance(1'000);  // Exactly one hour after the first request: it has left.
  EXPECT_TRUE(client.GetUser("a").ok());
  EXPECT_FALSE(client.GetUser("a").ok());
  EXPECT_EQ(http.count(), 5u);
}

// Proves the window holds under concurrency: 8 threads racing for 200 slots send exactly 200.
TEST(YnabClientTest, RateLimitIsThreadSafe) {
  ManualClock clock(0);
  FakeHttpClient http;
  YnabClient client(http, Options(&clock, 200));
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto user = client.GetUser("shared");
        if (!user.ok() && user.error().code == ErrorCode::kTooManyRequests) ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(http.count(), 200u);
  EXPECT_EQ(refused.load(), 200);
}

}  // namespace
}  // namespace finsync::delivery::ynab
