#include "sync/statistics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace finsync::sync {
namespace {

domain::Date Day(int32_t year, int32_t month, int32_t day) {
  return *domain::Date::FromYearMonthDay(year, month, day);
}

// Parses as on 2025-06-30.
Result<TransactionStatisticsQuery> Parse(const QueryParameters& params) {
  return ParseTransactionStatisticsQuery(params, Day(2025, 6, 30));
}

std::vector<std::string> ErrorFields(const QueryParameters& params) {
  auto parsed = Parse(params);
  std::vector<std::string> fields;
  if (parsed.ok()) return fields;
  for (const auto& error : parsed.error().field_errors) fields.push_back(error.field);
  return fields;
}

// Without dates the range is the 30 days ending today, grouped by day, with no filters.
TEST(StatisticsQueryTest, DefaultsToTheLastThirtyDays) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().date_from, Day(2025, 6, 1));
  EXPECT_EQ(parsed.value().date_to, Day(2025, 6, 30));
  EXPECT_EQ(parsed.value().group_by, StatisticsPeriod::kDay);
  EXPECT_FALSE(parsed.value().bank_account_id);
  EXPECT_EQ(parsed.value().status, StatusFilter::kAny);
}

// Only date_to given: the 30 days ending there, not a range reaching today.
TEST(StatisticsQueryTest, DateToAloneAnchorsTheDefaultRange) {
  auto parsed = Parse({{"date_to", "2024-03-01"}});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().date_from, Day(2024, 2, 1));
}

// Three years from February 29th end on February 28th; one more day is refused.
TEST(StatisticsQueryTest, RangeIsAtMostThreeYears) {
  EXPECT_TRUE(ErrorFields({{"date_from", "2024-02-29"}, {"date_to", "2027-02-28"}}).empty());
  EXPECT_EQ(ErrorFields({{"date_from", "2024-02-29"}, {"date_to", "2027-03-01"}}),
            std::vector<std::string>{"date_to"});
}

// Each bad parameter is reported once, under the name it was sent with.
TEST(StatisticsQueryTest, NamesEveryInvalidParameter) {
  EXPECT_EQ(ErrorFields(
                {{"group_by", "year"}, {"status", "X"}, {"bank_account_id", "-1"}, {"limit", "5"}}),
            (std::vector<std::string>{"group_by", "status", "bank_account_id", "limit"}));
  EXPECT_EQ(ErrorFields({{"status", "booked"}, {"status", "pending"}}),
            std::vector<std::string>{"status"});
  EXPECT_EQ(ErrorFields({{"date_from", "2025-07-01"}}), std::vector<std::string>{"date_from"});
}

// Lower-case and combined statuses are accepted, as on the transaction list.
TEST(StatisticsQueryTest, ParsesStatusAndGrouping) {
  auto parsed = Parse({{"status", "pending"}, {"group_by", "month"}, {"bank_account_id", "7"}});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().status, StatusFilter::kPending);
  EXPECT_EQ(parsed.value().group_by, StatisticsPeriod::kMonth);
  EXPECT_EQ(parsed.value().bank_account_id, 7);
}

}  // namespace
}  // namespace finsync::sync
