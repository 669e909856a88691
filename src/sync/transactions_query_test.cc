#include "sync/transactions_query.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace finsync::sync {
namespace {

using store::Value;

QueryParameters Params(std::initializer_list<std::pair<std::string, std::string>> list) {
  return QueryParameters(list);
}

// The amount CASE used when no currency is given, spelled out once for the expectations.
const std::string kCase =
    "(CASE WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', "
    "'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN ? WHEN currency IN ('BHD', "
    "'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN ? WHEN currency IN ('CLF', 'UYW') THEN ? "
    "ELSE ? END)";

// Every filter becomes exactly one SQL condition with its bound values.
TEST(TransactionsQueryTest, EachFilterBuildsItsCondition) {
  struct Case {
    QueryParameters params;
    std::string sql;            // After "user_id = ?".
    std::vector<Value> values;  // After the user id.
  };
  const std::string search_sql =
      " AND (generated_payee LIKE ? ESCAPE '\\' OR generated_description LIKE ? "
      "ESCAPE '\\' OR creditor_name LIKE ? ESCAPE '\\' OR debtor_name LIKE ? "
      "ESCAPE '\\' OR remittance_unstructured LIKE ? ESCAPE '\\' OR "
      "remittance_structured LIKE ? ESCAPE '\\')";
  auto six = [](const std::string& pattern) { return std::vector<Value>(6, Value(pattern)); };
  // clang-format off
  const Case cases[] = {
      {Params({}), "", {}},
      {Params({{"bank_account_id", "7"}}), " AND bank_account_id = ?", {int64_t{7}}},
      {Params({{"filter[bank_account_id]", "7"}}), " AND bank_account_id = ?", {int64_t{7}}},
      {Params({{"status", "BOOKED"}}), " AND status = ?", {std::string("BOOKED")}},
      {Params({{"status", "pending"}}), " AND status = ?", {std::string("PENDING")}},
      {Params({{"status", "PENDING,BOOKED"}}), "", {}},
      {Params({{"date_from", "2025-01-02"}}), " AND generated_date >= ?",
       {std::string("2025-01-02")}},
      {Params({{"posted_date_from", "2025-01-02"}}), " AND generated_date >= ?",
       {std::string("2025-01-02")}},
      {Params({{"date_to", "2025-01-31"}}), " AND generated_date <= ?",
       {std::string("2025-01-31")}},
      {Params({{"posted_date_to", "2025-01-31"}}), " AND generated_date <= ?",
       {std::string("2025-01-31")}},
      {Params({{"booking_date_from", "2025-01-02"}}), " AND booking_date >= ?",
       {std::string("2025-01-02")}},
      {Params({{"filter[booking_date_to]", "2025-01-02"}}), " AND booking_date <= ?",
       {std::string("2025-01-02")}},
      {Params({{"currency", "eur"}}), " AND currency = ?", {std::string("EUR")}},
      {Params({{"currency", "EUR"}, {"amount_gte", "-42.5"}}),
       " AND currency = ? AND amount_minor >= ?", {std::string("EUR"), int64_t{-4250}}},
      {Params({{"currency", "EUR"}, {"amount_gte", "1.005"}}),
       " AND currency = ? AND amount_minor >= ?", {std::string("EUR"), int64_t{101}}},
      {Params({{"currency", "EUR"}, {"amount_gt", "1.005"}}),
       " AND currency = ? AND amount_minor > ?", {std::string("EUR"), int64_t{100}}},
      {Params({{"currency", "EUR"}, {"amount_lte", "-1.005"}}),
       " AND currency = ? AND amount_minor <= ?", {std::string("EUR"), int64_t{-101}}},
      {Params({{"currency", "EUR"}, {"amount_lt", "-1.005"}}),
       " AND currency = ? AND amount_minor < ?", {std::string("EUR"), int64_t{-100}}},
      {Params({{"currency", "JPY"}, {"amount_lt", "1500"}}),
       " AND currency = ? AND amount_minor < ?", {std::string("JPY"), int64_t{1500}}},
      {Params({{"amount_gte", "1.5"}}), " AND amount_minor >= " + kCase,
       {int64_t{2}, int64_t{1500}, int64_t{15000}, int64_t{150}}},
      {Params({{"amount_lte", "1.5"}}), " AND amount_minor <= " + kCase,
       {int64_t{1}, int64_t{1500}, int64_t{15000}, int64_t{150}}},
      {Params({{"search", "Café 50%_off\\"}}), search_sql, six("%café 50\\%\\_off\\\\%")},
  };
  // clang-format on
  for (const Case& test : cases) {
    auto query = ParseListQuery(test.params);
    ASSERT_TRUE(query.ok()) << test.sql << ": " << query.error().field_errors.size();
    SqlQuery built = BuildFilterSql(query.value().filters, 42);
    EXPECT_EQ(built.sql, "user_id = ?" + test.sql);
    std::vector<Value> expected{int64_t{42}};
    expected.insert(expected.end(), test.values.begin(), test.values.end());
    EXPECT_EQ(built.params, expected) << test.sql;
  }
}

// Bounds with more decimals than a currency has are rounded towards the side the comparison
// keeps, for every exponent, so filters stay exact when currencies are mixed.
TEST(TransactionsQueryTest, AmountBoundsRoundPerExponent) {
  struct Case {
    std::string text;
    int32_t exponent;
    int64_t floor_minor;
    int64_t ceil_minor;
  };
  // clang-format off
  const Case cases[] = {
      {"1.005", 2, 100, 101},
      {"1.005", 3, 1005, 1005},
      {"1.005", 0, 1, 2},
      {"-1.005", 2, -101, -100},
      {"-0.001", 0, -1, 0},
      {"0.001", 0, 0, 1},
      {"42", 0, 42, 42},
      {"42", 4, 420000, 420000},
      {"+3.10", 2, 310, 310},
      {"-0", 2, 0, 0},
      {"0.00000000000000000001", 4, 0, 1},
  };
  // clang-format on
  for (const Case& test : cases) {
    auto query = ParseListQuery(Params({{"amount_gte", test.text}}));
    ASSERT_TRUE(query.ok()) << test.text;
    const AmountBound& bound = *query.value().filters.amount_gte;
    EXPECT_EQ(bound.floor_minor[test.exponent], test.floor_minor) << test.text;
    EXPECT_EQ(bound.ceil_minor[test.exponent], test.ceil_minor) << test.text;
  }
}

// Each invalid parameter is a 422 naming it as sent, with a message saying what is wrong.
TEST(TransactionsQueryTest, InvalidParametersAreFieldErrors) {
  struct Case {
    QueryParameters params;
    std::string field;
    std::string message_start;
  };
  // clang-format off
  const Case cases[] = {
      {Params({{"amount_gte", "abc"}}), "amount_gte", "must be a decimal amount"},
      {Params({{"amount_lt", "1e5"}}), "amount_lt", "must be a decimal amount"},
      {Params({{"amount_lte", "1.5.5"}}), "amount_lte", "must be a decimal amount"},
      {Params({{"amount_gt", "99999999999999999999"}}), "amount_gt", "is out of range"},
      {Params({{"status", "COMPLETE"}}), "status", "must be BOOKED, PENDING"},
      {Params({{"status", "BOOKED,"}}), "status", "must be BOOKED, PENDING"},
      {Params({{"bank_account_id", "0"}}), "bank_account_id", "must be a positive integer"},
      {Params({{"bank_account_id", "-3"}}), "bank_account_id", "must be a positive integer"},
      {Params({{"filter[bank_account_id]", "x"}}), "filter[bank_account_id]", "must be a pos"},
      {Params({{"date_from", "2025-02-30"}}), "date_from", "must be a date"},
      {Params({{"posted_date_to", "yesterday"}}), "posted_date_to", "must be a date"},
      {Params({{"date_from", "2025-02-02"}, {"date_to", "2025-02-01"}}), "date_from",
       "must not be after date_to"},
      {Params({{"currency", "EURO"}}), "currency", "must be an ISO 4217"},
      {Params({{"currency", "XAU"}}), "currency", "must be an ISO 4217"},
      {Params({{"sort", "amount"}}), "sort", "must be -date"},
      {Params({{"limit", "0"}}), "limit", "must be an integer from 1 to 500"},
      {Params({{"limit", "501"}}), "limit", "must be an integer from 1 to 500"},
      {Params({{"limit", "ten"}}), "limit", "must be an integer from 1 to 500"},
      {Params({{"page[size]", "501"}}), "page[size]", "must be an integer from 1 to 500"},
      {Params({{"page[number]", "0"}}), "page[number]", "must be a positive integer"},
      {Params({{"page[number]", "21"}, {"page[size]", "500"}}), "page[number]",
       "reaches past the first 10000"},
      {Params({{"page[number]", "2"}, {"limit", "5"}}), "limit", "cannot be combined"},
      {Params({{"page[number]", "2"}, {"page_token", "x"}}), "page_token",
       "cannot be combined"},
      {Params({{"page_token", "not-a-token"}}), "page_token", "is not a valid page token"},
      {Params({{"search", std::string(201, 'a')}}), "search", "must be at most 200"},
      {Params({{"search", ""}}), "search", "must not be empty"},
      {Params({{"amount_gtee", "5"}}), "amount_gtee", "is not a known parameter"},
      {Params({{"filter[limit]", "5"}}), "filter[limit]", "is not a known parameter"},
      {Params({{"status", "BOOKED"}, {"status", "BOOKED"}}), "status", "must be given at most"},
      {Params({{"date_from", "2025-01-01"}, {"posted_date_from", "2025-01-01"}}),
       "posted_date_from", "must be given at most once (also as date_from)"},
  };
  // clang-format on
  for (const Case& test : cases) {
    auto query = ParseListQuery(test.params);
    ASSERT_FALSE(query.ok()) << test.field;
    EXPECT_EQ(query.error().code, ErrorCode::kValidationFailed) << test.field;
    ASSERT_EQ(query.error().field_errors.size(), 1u) << test.field;
    EXPECT_EQ(query.error().field_errors[0].field, test.field);
    EXPECT_EQ(query.error().field_errors[0].message.rfind(test.message_start, 0), 0u)
        << test.field << ": " << query.error().field_errors[0].message;
  }
}

// Several broken parameters are all reported at once.
TEST(TransactionsQueryTest, ReportsEveryInvalidParameter) {
  auto query = ParseListQuery(Params({{"amount_gte", "x"}, {"status", "y"}, {"limit", "0"}}));
  ASSERT_FALSE(query.ok());
  ASSERT_EQ(query.error().field_errors.size(), 3u);
  EXPECT_EQ(query.error().field_errors[0].field, "amount_gte");
  EXPECT_EQ(query.error().field_errors[1].field, "status");
  EXPECT_EQ(query.error().field_errors[2].field, "limit");
}

// Defaults: newest first, cursor paging, 50 rows.
TEST(TransactionsQueryTest, Defaults) {
  auto query = ParseListQuery(Params({{"page_token", ""}}));
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query.value().sort, SortOrder::kDateDescending);
  EXPECT_EQ(query.value().paging, PagingStyle::kCursor);
  EXPECT_EQ(query.value().page_size, 50);
  EXPECT_FALSE(query.value().after);
}

// A page of the cursor style continues strictly after the token's row with one extra row to
// detect the end; the page style uses LIMIT and OFFSET within the window.
TEST(TransactionsQueryTest, ListSqlForBothPagingStyles) {
  ListQuery query;
  query.page_size = 10;
  query.after = PagePosition{"2025-03-01", 99};
  SqlQuery cursor = BuildListSql(query, 5, "id");
  EXPECT_EQ(cursor.sql,
            "SELECT id FROM bank_transactions WHERE user_id = ? AND (generated_date, id) < "
            "(?, ?) ORDER BY generated_date DESC, id DESC LIMIT ?");
  EXPECT_EQ(cursor.params,
            (std::vector<Value>{int64_t{5}, std::string("2025-03-01"), int64_t{99}, int64_t{11}}));
  query.sort = SortOrder::kDateAscending;
  EXPECT_EQ(BuildListSql(query, 5, "id").sql,
            "SELECT id FROM bank_transactions WHERE user_id = ? AND (generated_date, id) > "
            "(?, ?) ORDER BY generated_date ASC, id ASC LIMIT ?");
  query.paging = PagingStyle::kPage;
  query.page_number = 3;
  SqlQuery page = BuildListSql(query, 5, "id");
  EXPECT_EQ(page.sql,
            "SELECT id FROM bank_transactions WHERE user_id = ? ORDER BY generated_date ASC, "
            "id ASC LIMIT ? OFFSET ?");
  EXPECT_EQ(page.params, (std::vector<Value>{int64_t{5}, int64_t{10}, int64_t{20}}));
  SqlQuery count = BuildCappedCountSql(query.filters, 5, 10001);
  EXPECT_EQ(count.sql,
            "SELECT COUNT(*) FROM (SELECT 1 FROM bank_transactions WHERE user_id = ? LIMIT ?) "
            "AS capped");
  EXPECT_EQ(count.params, (std::vector<Value>{int64_t{5}, int64_t{10001}}));
}

// A token decodes to what was encoded, and a request with the same filters accepts it.
TEST(TransactionsQueryTest, PageTokenRoundTrip) {
  auto first = ParseListQuery(Params({{"status", "BOOKED"}, {"amount_lt", "0"}}));
  ASSERT_TRUE(first.ok());
  PageToken token{SortOrder::kDateDescending,
                  {"2025-01-31", 1234},
                  FilterHash(first.value().filters, first.value().sort)};
  std::string text = EncodePageToken(token);
  for (char c : text) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
  auto decoded = DecodePageToken(text);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->position.generated_date, "2025-01-31");
  EXPECT_EQ(decoded->position.id, 1234);
  EXPECT_EQ(decoded->filter_hash, token.filter_hash);
  // The same filters in another spelling and order are the same filters.
  auto next = ParseListQuery(
      Params({{"filter[amount_lt]", "0.00"}, {"status", "booked"}, {"page_token", text}}));
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next.value().after);
  EXPECT_EQ(next.value().after->id, 1234);
}

// Changing any one character of a token makes it invalid: the checksum covers everything.
TEST(TransactionsQueryTest, TamperedPageTokensAreRefused) {
  std::string text =
      EncodePageToken({SortOrder::kDateAscending, {"2025-01-31", 77}, "0123456789abcdef"});
  ASSERT_TRUE(DecodePageToken(text));
  const std::string replacements = "AZaz09-_";
  for (size_t i = 0; i < text.size(); ++i) {
    for (char replacement : replacements) {
      if (replacement == text[i]) continue;
      std::string tampered = text;
      tampered[i] = replacement;
      EXPECT_FALSE(DecodePageToken(tampered)) << i << " " << replacement;
    }
  }
  EXPECT_FALSE(DecodePageToken(text.substr(0, text.size() - 1)));
  EXPECT_FALSE(DecodePageToken(text + "A"));
  EXPECT_FALSE(DecodePageToken(""));
  EXPECT_FALSE(DecodePageToken(EncodeChangeCursor(5)));  // A cursor is not a page token.
}

// A token used with other filters or another sort is a 400, not a silently wrong page.
TEST(TransactionsQueryTest, PageTokenForOtherFiltersIsBadRequest) {
  auto first = ParseListQuery(Params({{"status", "BOOKED"}}));
  ASSERT_TRUE(first.ok());
  std::string text =
      EncodePageToken({SortOrder::kDateDescending,
                       {"2025-01-31", 1},
                       FilterHash(first.value().filters, SortOrder::kDateDescending)});
  // clang-format off
  const QueryParameters mismatches[] = {
      Params({{"page_token", text}}),
      Params({{"status", "PENDING"}, {"page_token", text}}),
      Params({{"status", "BOOKED"}, {"sort", "date"}, {"page_token", text}}),
      Params({{"status", "BOOKED"}, {"search", "x"}, {"page_token", text}}),
  };
  // clang-format on
  for (const auto& params : mismatches) {
    auto query = ParseListQuery(params);
    ASSERT_FALSE(query.ok());
    EXPECT_EQ(query.error().code, ErrorCode::kBadRequest);
  }
  EXPECT_TRUE(
      ParseListQuery(Params({{"status", "BOOKED"}, {"limit", "7"}, {"page_token", text}})).ok());
}

// Change cursors round-trip, refuse tampering, and the feed's parameters are validated.
TEST(TransactionsQueryTest, ChangeFeedCursorAndParameters) {
  for (int64_t seq : {int64_t{0}, int64_t{1}, int64_t{123456789012}}) {
    EXPECT_EQ(DecodeChangeCursor(EncodeChangeCursor(seq)), seq);
  }
  std::string cursor = EncodeChangeCursor(41);
  cursor[2] = cursor[2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DecodeChangeCursor(cursor));
  auto defaults = ParseChangeFeedQuery(Params({{"cursor", ""}}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults.value().after_seq, 0);
  EXPECT_EQ(defaults.value().limit, 100);
  auto given = ParseChangeFeedQuery(Params({{"cursor", EncodeChangeCursor(9)}, {"limit", "3"}}));
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given.value().after_seq, 9);
  EXPECT_EQ(given.value().limit, 3);
  struct Case {
    QueryParameters params;
    std::string field;
  };
  // clang-format off
  const Case invalid[] = {
      {Params({{"cursor", "garbage"}}), "cursor"}, {Params({{"limit", "501"}}), "limit"},
      {Params({{"limit", "0"}}), "limit"},         {Params({{"since", "1"}}), "since"},
      {Params({{"limit", "1"}, {"limit", "2"}}), "limit"},
  };
  // clang-format on
  for (const Case& test : invalid) {
    auto query = ParseChangeFeedQuery(test.params);
    ASSERT_FALSE(query.ok()) << test.field;
    EXPECT_EQ(query.error().code, ErrorCode::kValidationFailed);
    EXPECT_EQ(query.error().field_errors[0].field, test.field);
  }
}

// Changes to one transaction within a page collapse into the one a client needs.
TEST(TransactionsQueryTest, CollapseChanges) {
  using K = ChangeKind;
  struct Case {
    std::vector<Change> changes;
    std::vector<int64_t> added;
    std::vector<int64_t> modified;
    std::vector<int64_t> removed;
  };
  // clang-format off
  const Case cases[] = {
      {{{1, 10, 1, K::kAdded}}, {10}, {}, {}},
      {{{1, 10, 1, K::kModified}}, {}, {10}, {}},
      {{{1, 10, 1, K::kRemoved}}, {}, {}, {10}},
      {{{1, 10, 1, K::kAdded}, {2, 10, 1, K::kModified}}, {10}, {}, {}},
      {{{1, 10, 1, K::kAdded}, {2, 10, 1, K::kRemoved}}, {}, {}, {}},
      {{{1, 10, 1, K::kModified}, {2, 10, 1, K::kModified}}, {}, {10}, {}},
      {{{1, 10, 1, K::kModified}, {2, 10, 1, K::kRemoved}}, {}, {}, {10}},
      {{{1, 10, 1, K::kRemoved}, {2, 10, 1, K::kAdded}}, {10}, {}, {}},
      {{{1, 10, 1, K::kAdded}, {2, 11, 1, K::kAdded}, {3, 10, 1, K::kModified}},
       {11, 10}, {}, {}},
  };
  // clang-format on
  for (const Case& test : cases) {
    CollapsedChanges collapsed = CollapseChanges(test.changes);
    EXPECT_EQ(collapsed.added, test.added);
    EXPECT_EQ(collapsed.modified, test.modified);
    std::vector<int64_t> removed;
    for (const auto& entry : collapsed.removed) removed.push_back(entry.id);
    EXPECT_EQ(removed, test.removed);
  }
}

// base64url matches RFC 4648's test vectors (without padding) and refuses non-canonical text.
TEST(TransactionsQueryTest, Base64Url) {
  // clang-format off
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff", "-_8"},
  };
  // clang-format on
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(Base64UrlEncode(bytes), text);
    EXPECT_EQ(Base64UrlDecode(text), bytes);
  }
  EXPECT_FALSE(Base64UrlDecode("Zh"));     // Non-zero leftover bits.
  EXPECT_FALSE(Base64UrlDecode("Z"));      // Impossible length.
  EXPECT_FALSE(Base64UrlDecode("Zm9v+"));  // Standard alphabet, not URL-safe.
  EXPECT_FALSE(Base64UrlDecode("Zm8="));   // Padding.
}

}  // namespace
}  // namespace finsync::sync
