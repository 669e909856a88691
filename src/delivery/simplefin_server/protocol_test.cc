#include "delivery/simplefin_server/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace finsync::delivery::simplefin {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

domain::Date DateOf(int32_t year, int32_t month, int32_t day) {
  return *domain::Date::FromYearMonthDay(year, month, day);
}

constexpr int64_t kDay = kSecondsPerDay;
constexpr int64_t k2025_03_14 = 1'741'910'400;  // 2025-03-14T00:00:00Z

TEST(SimplefinQueryTest, ParsesEveryParameterOfTheProtocol) {
  Params params{{"start-date", "1700000000"},
                {"end-date", "1700086400.5"},
                {"pending", "1"},
                {"account", "7"},
                {"account", "9"},
                {"account", "7"},
                {"balances-only", "0"},
                {"version", "2"}};
  auto query = ParseAccountsQuery(params);
  ASSERT_TRUE(query.ok()) << query.error().detail;
  EXPECT_EQ(query.value().start_date, 1'700'000'000);
  EXPECT_EQ(query.value().end_date, 1'700'086'401);  // A fraction rounds up.
  EXPECT_TRUE(query.value().pending);
  EXPECT_FALSE(query.value().balances_only);
  EXPECT_EQ(query.value().account_ids, (std::vector<std::string>{"7", "9"}));
  EXPECT_EQ(query.value().version, ProtocolVersion::kV2);
  EXPECT_TRUE(query.value().unknown_parameters.empty());
}

TEST(SimplefinQueryTest, DefaultsAreVersionOneWithoutPendingOrFilters) {
  auto query = ParseAccountsQuery(Params{});
  ASSERT_TRUE(query.ok());
  EXPECT_FALSE(query.value().start_date);
  EXPECT_FALSE(query.value().end_date);
  EXPECT_FALSE(query.value().pending);
  EXPECT_FALSE(query.value().balances_only);
  EXPECT_TRUE(query.value().account_ids.empty());
  EXPECT_EQ(query.value().version, ProtocolVersion::kV1);
}

TEST(SimplefinQueryTest, UnknownParametersAreIgnoredButReported) {
  auto query = ParseAccountsQuery(Params{{"start_date", "1"}, {"start_date", "2"}, {"x", ""}});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query.value().unknown_parameters, (std::vector<std::string>{"start_date", "x"}));
  EXPECT_FALSE(query.value().start_date);
}

TEST(SimplefinQueryTest, EchoedTextIsPrintableAscii) {
  EXPECT_EQ(PrintableText("ok-1 \x01\xc3\xa9~"), "ok-1 ???~");
  auto query = ParseAccountsQuery(Params{{"bad\xff", "1"}, {std::string(100, 'n'), "1"}});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query.value().unknown_parameters,
            (std::vector<std::string>{"bad?", std::string(64, 'n')}));
}

TEST(SimplefinQueryTest, RefusesMalformedValuesNamingTheParameter) {
  struct Case {
    Params params;
    std::string parameter;
  };
  std::vector<Case> cases = {
      {{{"start-date", ""}}, "start-date"},
      {{{"start-date", "-5"}}, "start-date"},
      {{{"start-date", "1e9"}}, "start-date"},
      {{{"start-date", " 5"}}, "start-date"},
      {{{"start-date", "5."}}, "start-date"},
      {{{"end-date", ".5"}}, "end-date"},
      {{{"end-date", "253402300800"}}, "end-date"},  // Year 10000.
      {{{"end-date", "9999999999999"}}, "end-date"},
      {{{"start-date", "1"}, {"start-date", "1"}}, "start-date"},
      {{{"pending", "yes"}}, "pending"},
      {{{"pending", "1"}, {"pending", "1"}}, "pending"},
      {{{"balances-only", "2"}}, "balances-only"},
      {{{"version", "3"}}, "version"},
      {{{"account", ""}}, "account"},
      {{{"account", std::string(65, 'a')}}, "account"},
  };
  for (const auto& test_case : cases) {
    auto query = ParseAccountsQuery(test_case.params);
    ASSERT_FALSE(query.ok()) << test_case.params[0].second;
    EXPECT_EQ(query.error().code, ErrorCode::kBadRequest);
    ASSERT_EQ(query.error().field_errors.size(), 1u);
    EXPECT_EQ(query.error().field_errors[0].field, test_case.parameter);
  }
  Params many;
  for (int i = 0; i <= 100; ++i) many.emplace_back("account", std::to_string(i));
  EXPECT_FALSE(ParseAccountsQuery(many).ok());
  many.pop_back();
  EXPECT_TRUE(ParseAccountsQuery(many).ok());
}

TEST(SimplefinWindowTest, ResolvesDatesAgainstTheNinetyDayCap) {
  constexpr int64_t kNow = 1'750'000'000;
  constexpr int64_t kCap = 90 * kDay;
  struct Case {
    std::optional<int64_t> start;
    std::optional<int64_t> end;
    int64_t expected_start;
    std::optional<int64_t> expected_end;
    bool capped;
    bool empty;
  };
  std::vector<Case> cases = {
      {std::nullopt, std::nullopt, kNow - kCap, std::nullopt, false, false},
      {std::nullopt, kNow - kDay, kNow - kDay - kCap, kNow - kDay, false, false},
      {kNow - 10 * kDay, std::nullopt, kNow - 10 * kDay, std::nullopt, false, false},
      {kNow - kCap, std::nullopt, kNow - kCap, std::nullopt, false, false},
      {kNow - kCap - 1, std::nullopt, kNow - kCap, std::nullopt, true, false},
      {0, kNow, kNow - kCap, kNow, true, false},
      {kNow, kNow, kNow, kNow, false, true},
      {kNow, kNow - 1, kNow, kNow - 1, false, true},
  };
  for (const auto& test_case : cases) {
    AccountsQuery query;
    query.start_date = test_case.start;
    query.end_date = test_case.end;
    Window window = ResolveWindow(query, kNow, std::nullopt);
    EXPECT_EQ(window.start_seconds, test_case.expected_start);
    EXPECT_EQ(window.end_seconds, test_case.expected_end);
    EXPECT_EQ(window.empty, test_case.empty);
    bool capped = false;
    for (const auto& error : window.errors) {
      EXPECT_EQ(error.code, "gen.api");
      capped = capped || error.message.find("exceeds limit of 90 days") != std::string::npos;
    }
    EXPECT_EQ(capped, test_case.capped) << test_case.expected_start;
  }
}

TEST(SimplefinWindowTest, NeverReachesBeforeTheRetentionStart) {
  AccountsQuery query;
  query.start_date = k2025_03_14 - 30 * kDay;
  Window window = ResolveWindow(query, k2025_03_14, DateOf(2025, 3, 7));
  EXPECT_EQ(window.start_seconds, k2025_03_14 - 7 * kDay);
  EXPECT_TRUE(window.errors.empty());
  query.end_date = k2025_03_14 - 8 * kDay;
  EXPECT_TRUE(ResolveWindow(query, k2025_03_14, DateOf(2025, 3, 7)).empty);
}

TEST(SimplefinBase64Test, FollowsRfc4648) {
  std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                              {"f", "Zg=="},
                                                              {"fo", "Zm8="},
                                                              {"foo", "Zm9v"},
                                                              {"foob", "Zm9vYg=="},
                                                              {"fooba", "Zm9vYmE="},
                                                              {"foobar", "Zm9vYmFy"},
                                                              {"\xff\xfe", "//4="}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), plain);
  }
  EXPECT_EQ(Base64Decode("Zm8"), "fo");  // Padding is optional.
  for (std::string_view bad : {"Z", "Zm9v!", "Zm=8", "Zg===", "Zm9=", "-_8="}) {
    EXPECT_FALSE(Base64Decode(bad)) << bad;
  }
}

TEST(SimplefinBasicAuthTest, ReadsCredentials) {
  auto credentials = ParseBasicAuthorization("Basic " + Base64Encode("12:s3cr:et"));
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->username, "12");
  EXPECT_EQ(credentials->password, "s3cr:et");  // Only the first colon separates.
  auto lower = ParseBasicAuthorization("basic   " + Base64Encode("a:b") + " ");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->username, "a");
  for (std::string bad : {std::string("Bearer abc"), std::string("Basic"), std::string("Basic "),
                          "Basic " + Base64Encode("no-colon"), std::string("Basic !!!!"),
                          "Basicx " + Base64Encode("a:b")}) {
    EXPECT_FALSE(ParseBasicAuthorization(bad)) << bad;
  }
}

TEST(SimplefinUrlTest, AccessUrlCarriesTheCredentials) {
  EXPECT_EQ(AccessUrl("https://finsync.example/simplefin", "3", "pw"),
            "https://3:pw@finsync.example/simplefin");
  EXPECT_EQ(AccessUrl("http://127.0.0.1:8080/simplefin", "3", "pw"),
            "http://3:pw@127.0.0.1:8080/simplefin");
}

StoredTransaction CardPayment() {
  StoredTransaction stored;
  stored.id = 42;
  stored.booking_date = DateOf(2025, 3, 14);
  stored.value_date = DateOf(2025, 3, 13);
  stored.value_datetime_ms = (k2025_03_14 - kDay + 3600) * 1000 + 999;
  stored.generated_date = DateOf(2025, 3, 14);
  stored.amount_minor = -4250;
  stored.generated_payee = "Spotify";
  stored.generated_description = "Spotify Premium";
  stored.remittance_unstructured = "CARD PAYMENT SPOTIFY";
  stored.remittance_structured = "RF18539007547034";
  return stored;
}

TEST(SimplefinTransactionTest, MapsABookedTransaction) {
  Transaction transaction = ToProtocolTransaction(CardPayment());
  EXPECT_EQ(transaction.id, "42");
  EXPECT_EQ(transaction.posted, k2025_03_14);
  EXPECT_EQ(transaction.transacted_at, k2025_03_14 - kDay + 3600);
  EXPECT_EQ(transaction.amount, "-42.50");
  EXPECT_EQ(transaction.description, "Spotify Premium");
  EXPECT_EQ(transaction.payee, "Spotify");
  EXPECT_EQ(transaction.memo, "CARD PAYMENT SPOTIFY");
  EXPECT_FALSE(transaction.pending);
  EXPECT_EQ(FilterInstant(transaction), k2025_03_14);
}

TEST(SimplefinTransactionTest, PendingTransactionsPostAtZeroAndFilterOnTheirEventTime) {
  StoredTransaction stored = CardPayment();
  stored.pending = true;
  stored.booking_date.reset();
  Transaction transaction = ToProtocolTransaction(stored);
  EXPECT_EQ(transaction.posted, 0);
  EXPECT_TRUE(transaction.pending);
  EXPECT_EQ(FilterInstant(transaction), k2025_03_14 - kDay + 3600);
}

TEST(SimplefinTransactionTest, FallsBackFieldByField) {
  struct Case {
    const char* label;
    void (*change)(StoredTransaction&);
    int64_t posted;
    int64_t transacted_at;
    std::string description;
    std::string memo;
  };
  std::vector<Case> cases = {
      {"no value time: the booking time",
       [](StoredTransaction& t) {
         t.value_datetime_ms.reset();
         t.booking_datetime_ms = k2025_03_14 * 1000 + 60'000;
       },
       k2025_03_14, k2025_03_14 + 60, "Spotify Premium", "CARD PAYMENT SPOTIFY"},
      {"no times: the value date", [](StoredTransaction& t) { t.value_datetime_ms.reset(); },
       k2025_03_14, k2025_03_14 - kDay, "Spotify Premium", "CARD PAYMENT SPOTIFY"},
      {"no booking date: the generated date",
       [](StoredTransaction& t) {
         t.booking_date.reset();
         t.generated_date = DateOf(2025, 3, 16);
       },
       k2025_03_14 + 2 * kDay, k2025_03_14 - kDay + 3600, "Spotify Premium",
       "CARD PAYMENT SPOTIFY"},
      {"only the generated date",
       [](StoredTransaction& t) {
         t.booking_date.reset();
         t.value_date.reset();
         t.value_datetime_ms.reset();
       },
       k2025_03_14, k2025_03_14, "Spotify Premium", "CARD PAYMENT SPOTIFY"},
      {"no description: the payee, structured remittance",
       [](StoredTransaction& t) {
         t.generated_description.clear();
         t.remittance_unstructured.clear();
       },
       k2025_03_14, k2025_03_14 - kDay + 3600, "Spotify", "RF18539007547034"},
  };
  for (const auto& test_case : cases) {
    StoredTransaction stored = CardPayment();
    test_case.change(stored);
    Transaction transaction = ToProtocolTransaction(stored);
    EXPECT_EQ(transaction.posted, test_case.posted) << test_case.label;
    EXPECT_EQ(transaction.transacted_at, test_case.transacted_at) << test_case.label;
    EXPECT_EQ(transaction.description, test_case.description) << test_case.label;
    EXPECT_EQ(transaction.memo, test_case.memo) << test_case.label;
  }
}

TEST(SimplefinTransactionTest, AmountsAreExactInEveryExponent) {
  struct Case {
    int64_t minor;
    int32_t exponent;
    std::string text;
  };
  for (const auto& [minor, exponent, text] :
       std::vector<Case>{{-4250, 2, "-42.50"},
                         {5, 2, "0.05"},
                         {1200, 0, "1200"},
                         {-1, 3, "-0.001"},
                         {INT64_MAX, 2, "92233720368547758.07"}}) {
    StoredTransaction stored = CardPayment();
    stored.amount_minor = minor;
    stored.exponent = exponent;
    EXPECT_EQ(ToProtocolTransaction(stored).amount, text);
  }
}

TEST(SimplefinTransactionTest, WindowStartIsInclusiveAndEndExclusive) {
  Transaction transaction = ToProtocolTransaction(CardPayment());
  Window window;
  window.start_seconds = k2025_03_14;
  window.end_seconds = k2025_03_14 + 1;
  EXPECT_TRUE(InWindow(window, transaction));
  window.start_seconds = k2025_03_14 + 1;
  window.end_seconds.reset();
  EXPECT_FALSE(InWindow(window, transaction));
  window.start_seconds = 0;
  window.end_seconds = k2025_03_14;
  EXPECT_FALSE(InWindow(window, transaction));
  window.end_seconds.reset();
  window.empty = true;
  EXPECT_FALSE(InWindow(window, transaction));
}

TEST(SimplefinTransactionTest, SortsByPostedThenTimeThenNumericId) {
  auto make = [](std::string id, int64_t posted, int64_t at) {
    Transaction t;
    t.id = std::move(id);
    t.posted = posted;
    t.transacted_at = at;
    return t;
  };
  std::vector<Transaction> list = {make("10", 5, 1), make("9", 5, 1), make("3", 0, 7),
                                   make("1", 5, 0), make("2", 0, 6)};
  SortTransactions(list);
  std::vector<std::string> ids;
  for (const auto& t : list) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"2", "3", "1", "9", "10"}));
}

AccountSet SmallSet() {
  AccountSet set;
  set.errors.push_back({"con.auth", "Connection to Bank may need attention: x.", "4", ""});
  set.connections.push_back({"4", "Bank", "BANK_ID"});
  Account account;
  account.id = "12";
  account.name = "Girokonto";
  account.currency = "EUR";
  account.balance = "100.23";
  account.available_balance = "75.23";
  account.balance_date = 978366153;
  account.connection_id = "4";
  account.transactions.push_back(ToProtocolTransaction(CardPayment()));
  set.accounts.push_back(account);
  return set;
}

TEST(SimplefinRenderTest, VersionOneHasErrorStringsAndOrganizations) {
  EXPECT_EQ(RenderAccountSet(SmallSet(), ProtocolVersion::kV1, "https://f.example/simplefin"),
            R"({"errors":["Connection to Bank may need attention: x."],"accounts":[{"org":{"name":)"
            R"("Bank","sfin-url":"https://f.example/simplefin","id":"BANK_ID"},"id":"12","name":)"
            R"("Girokonto","currency":"EUR","balance":"100.23","available-balance":"75.23",)"
            R"("balance-date":978366153,"transactions":[{"id":"42","posted":1741910400,"amount":)"
            R"("-42.50","description":"Spotify Premium","payee":"Spotify","memo":"CARD PAYMENT )"
            R"(SPOTIFY","transacted_at":1741827600,"pending":false}]}]})");
}

TEST(SimplefinRenderTest, VersionTwoHasAnErrorListAndConnections) {
  AccountSet set = SmallSet();
  set.accounts[0].available_balance.reset();
  set.accounts[0].transactions.clear();
  set.errors.push_back({"act.", "The account 9 was not found.", "", "9"});
  EXPECT_EQ(RenderAccountSet(set, ProtocolVersion::kV2, "https://f.example/simplefin"),
            R"({"errlist":[{"code":"con.auth","msg":"Connection to Bank may need attention: )"
            R"(x.","conn_id":"4"},{"code":"act.","msg":"The account 9 was not found.",)"
            R"("account_id":"9"}],"connections":[{"conn_id":"4","name":"Bank","org_id":)"
            R"("BANK_ID","sfin_url":"https://f.example/simplefin"}],"accounts":[{"id":"12",)"
            R"("name":"Girokonto","conn_id":"4","currency":"EUR","balance":"100.23",)"
            R"("balance-date":978366153,"transactions":[]}]})");
}

TEST(SimplefinRenderTest, ErrorsOnlyAndInfo) {
  EXPECT_EQ(RenderErrorsOnly({{"gen.api", "Bad \"x\".", "", ""}}),
            R"({"errors":["Bad \"x\"."],"errlist":[{"code":"gen.api","msg":"Bad \"x\"."}],)"
            R"("connections":[],"accounts":[]})");
  EXPECT_EQ(RenderInfo(), R"({"versions":["1.0","2.0"]})");
}

}  // namespace
}  // namespace finsync::delivery::simplefin
