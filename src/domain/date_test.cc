#include "domain/date.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace finsync::domain {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kDaysMin = -719'528;                 // 0000-01-01
constexpr int64_t kDaysMax = 2'932'896;                // 9999-12-31
constexpr int64_t kNewYear2025Ms = 1'735'689'600'000;  // 2025-01-01T00:00:00Z

Date DateOf(int32_t year, int32_t month, int32_t day) {
  return *Date::FromYearMonthDay(year, month, day);
}

TEST(DateTest, LeapYearsFollowTheGregorianRule) {
  // Proves the 4/100/400 rule, including year 0, which the proleptic calendar makes a leap year.
  struct Case {
    int32_t year;
    bool leap;
  };
  const Case cases[] = {{2024, true},  {2023, false}, {2000, true}, {1900, false},
                        {2100, false}, {2400, true},  {0, true},    {1, false}};
  for (const Case& test_case : cases) {
    EXPECT_EQ(IsLeapYear(test_case.year), test_case.leap) << test_case.year;
  }
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2023, 4), 30);
  EXPECT_EQ(DaysInMonth(2023, 12), 31);
  EXPECT_EQ(DaysInMonth(2023, 13), 0);
  EXPECT_EQ(DaysInMonth(2023, 0), 0);
}

TEST(DateTest, ParseAcceptsOnlyRealDaysInStrictLayout) {
  // Proves that only exact "YYYY-MM-DD" naming a real day parses, and each refusal says why.
  using enum DateTimeError;
  struct Case {
    std::string_view text;
    DateTimeError error;
    int32_t year, month, day;  // Checked only when error is kNone.
  };
  const Case cases[] = {
      {"2025-01-01", kNone, 2025, 1, 1},
      {"2024-02-29", kNone, 2024, 2, 29},
      {"2000-02-29", kNone, 2000, 2, 29},
      {"0000-01-01", kNone, 0, 1, 1},
      {"9999-12-31", kNone, 9999, 12, 31},
      {"1970-01-01", kNone, 1970, 1, 1},
      {"2023-02-29", kDayOutOfRange, 0, 0, 0},
      {"1900-02-29", kDayOutOfRange, 0, 0, 0},
      {"2025-04-31", kDayOutOfRange, 0, 0, 0},
      {"2025-01-32", kDayOutOfRange, 0, 0, 0},
      {"2025-01-00", kDayOutOfRange, 0, 0, 0},
      {"2025-13-01", kMonthOutOfRange, 0, 0, 0},
      {"2025-00-10", kMonthOutOfRange, 0, 0, 0},
      {"2025-1-01", kSyntax, 0, 0, 0},
      {"2025-01-1", kSyntax, 0, 0, 0},
      {"2025-01-01 ", kSyntax, 0, 0, 0},
      {" 2025-01-01", kSyntax, 0, 0, 0},
      {"2025/01/01", kSyntax, 0, 0, 0},
      {"20250101", kSyntax, 0, 0, 0},
      {"2025-01-01T00:00:00Z", kSyntax, 0, 0, 0},
      {"+2025-01-01", kSyntax, 0, 0, 0},
      {"-001-01-01", kSyntax, 0, 0, 0},
      {"2025-0a-01", kSyntax, 0, 0, 0},
      {"", kSyntax, 0, 0, 0},
  };
  for (const Case& test_case : cases) {
    const DateParseResult result = ParseDate(test_case.text);
    EXPECT_EQ(result.error, test_case.error) << test_case.text;
    if (!result.ok()) continue;
    EXPECT_EQ(result.date, DateOf(test_case.year, test_case.month, test_case.day));
    EXPECT_EQ(FormatDate(result.date), test_case.text);
  }
}

TEST(DateTest, FactoryRefusesDaysThatDoNotExist) {
  // Proves that a Date cannot be built for an impossible day or a year outside 0000..9999.
  EXPECT_TRUE(Date::FromYearMonthDay(2024, 2, 29).has_value());
  EXPECT_FALSE(Date::FromYearMonthDay(2023, 2, 29).has_value());
  EXPECT_FALSE(Date::FromYearMonthDay(2023, 0, 1).has_value());
  EXPECT_FALSE(Date::FromYearMonthDay(2023, 1, 0).has_value());
  EXPECT_FALSE(Date::FromYearMonthDay(-1, 12, 31).has_value());
  EXPECT_FALSE(Date::FromYearMonthDay(10000, 1, 1).has_value());
}

TEST(DateTest, DaysSinceEpochMatchKnownAnchors) {
  // Proves the day count against independently computed values on both sides of the epoch.
  struct Case {
    int32_t year, month, day;
    int64_t days;
  };
  const Case cases[] = {
      {1970, 1, 1, 0},     {1969, 12, 31, -1},       {2000, 3, 1, 11017},    {2024, 2, 29, 19782},
      {2025, 1, 1, 20089}, {1900, 3, 1, -25508},     {1600, 2, 29, -135081}, {1, 1, 1, -719162},
      {0, 1, 1, kDaysMin}, {9999, 12, 31, kDaysMax},
  };
  for (const Case& test_case : cases) {
    const Date date = DateOf(test_case.year, test_case.month, test_case.day);
    EXPECT_EQ(date.days_since_epoch(), test_case.days) << FormatDate(date);
    EXPECT_EQ(Date::FromDaysSinceEpoch(test_case.days), date) << test_case.days;
  }
}

TEST(DateTest, EveryDayInRangeRoundTripsAndFollowsItsPredecessor) {
  // Proves the civil-from-days algorithm exhaustively: walking every day from 0000-01-01 to
  // 9999-12-31, each day converts back to its count and is the calendar successor of the last.
  Date previous = DateOf(0, 1, 1);
  for (int64_t days = kDaysMin + 1; days <= kDaysMax; ++days) {
    const std::optional<Date> date = Date::FromDaysSinceEpoch(days);
    ASSERT_TRUE(date.has_value()) << days;
    ASSERT_EQ(date->days_since_epoch(), days);
    const bool month_ends = previous.day() == DaysInMonth(previous.year(), previous.month());
    const bool year_ends = month_ends && previous.month() == 12;
    const int32_t expected_day = month_ends ? 1 : previous.day() + 1;
    const int32_t expected_month = year_ends ? 1 : previous.month() + (month_ends ? 1 : 0);
    const int32_t expected_year = previous.year() + (year_ends ? 1 : 0);
    ASSERT_EQ(*date, DateOf(expected_year, expected_month, expected_day)) << days;
    ASSERT_LT(previous, *date);
    previous = *date;
  }
  EXPECT_EQ(previous, DateOf(9999, 12, 31));
}

TEST(DateTest, DaysOutsideTheSupportedYearsAreRefused) {
  // Proves that day counts outside 0000-01-01..9999-12-31 produce no Date.
  const int64_t cases[] = {kDaysMin - 1, kDaysMax + 1, kInt64Min, kInt64Max};
  for (int64_t days : cases) EXPECT_FALSE(Date::FromDaysSinceEpoch(days).has_value()) << days;
}

TEST(DateTest, AddDaysCrossesMonthsYearsAndLeapDays) {
  // Proves date arithmetic across boundaries and that leaving the supported range is refused.
  struct Case {
    Date start;
    int64_t days;
    std::optional<Date> expected;
  };
  const Case cases[] = {
      {DateOf(2024, 2, 28), 1, DateOf(2024, 2, 29)},  {DateOf(2024, 2, 29), 1, DateOf(2024, 3, 1)},
      {DateOf(2023, 2, 28), 1, DateOf(2023, 3, 1)},   {DateOf(2025, 12, 31), 1, DateOf(2026, 1, 1)},
      {DateOf(2025, 1, 1), -1, DateOf(2024, 12, 31)}, {DateOf(2025, 1, 1), 365, DateOf(2026, 1, 1)},
      {DateOf(2024, 1, 1), 366, DateOf(2025, 1, 1)},  {DateOf(2025, 1, 1), 0, DateOf(2025, 1, 1)},
      {DateOf(9999, 12, 31), 1, std::nullopt},        {DateOf(0, 1, 1), -1, std::nullopt},
      {DateOf(2025, 1, 1), kInt64Max, std::nullopt},  {DateOf(2025, 1, 1), kInt64Min, std::nullopt},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(test_case.start.AddDays(test_case.days), test_case.expected)
        << FormatDate(test_case.start) << " + " << test_case.days;
  }
}

TEST(DateTest, OrderingIsChronological) {
  // Proves that comparison orders by year, then month, then day.
  EXPECT_LT(DateOf(2024, 12, 31), DateOf(2025, 1, 1));
  EXPECT_LT(DateOf(2025, 1, 31), DateOf(2025, 2, 1));
  EXPECT_LT(DateOf(2025, 2, 1), DateOf(2025, 2, 2));
  EXPECT_EQ(DateOf(2025, 2, 1), DateOf(2025, 2, 1));
  EXPECT_EQ(Date(), DateOf(1970, 1, 1));
}

TEST(TimestampTest, ParseReadsRfc3339IntoUtcMilliseconds) {
  // Proves RFC 3339 parsing: offsets are applied, fractions are truncated to milliseconds, and
  // every malformed or out-of-range part is refused with its own error.
  using enum DateTimeError;
  constexpr int64_t kTenOClock2025Ms = kNewYear2025Ms + 10 * 3'600'000;
  struct Case {
    std::string_view text;
    DateTimeError error;
    int64_t unix_time_ms;  // Checked only when error is kNone.
  };
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", kNone, 0},
      {"2025-01-01T10:00:00Z", kNone, kTenOClock2025Ms},
      {"2025-01-01t10:00:00z", kNone, kTenOClock2025Ms},
      {"2025-01-01T10:00:00.123Z", kNone, kTenOClock2025Ms + 123},
      {"2025-01-01T10:00:00.1Z", kNone, kTenOClock2025Ms + 100},
      {"2025-01-01T10:00:00.05Z", kNone, kTenOClock2025Ms + 50},
      {"2025-01-01T10:00:00.000Z", kNone, kTenOClock2025Ms},
      {"2025-01-01T10:00:00.123456789Z", kNone, kTenOClock2025Ms + 123},
      {"2025-01-01T10:00:00.999999999Z", kNone, kTenOClock2025Ms + 999},
      {"2025-01-01T12:00:00+02:00", kNone, kTenOClock2025Ms},
      {"2025-01-01T05:30:00-04:30", kNone, kTenOClock2025Ms},
      {"2025-01-01T10:00:00-00:00", kNone, kTenOClock2025Ms},
      {"2025-01-01T00:30:00+01:00", kNone, kNewYear2025Ms - 1'800'000},
      {"2025-01-01T23:59:59.999+23:59", kNone, kNewYear2025Ms + 60'000 - 1},
      {"1969-12-31T23:59:59.999Z", kNone, -1},
      {"0000-01-01T00:00:00Z", kNone, Timestamp::kUnixTimeMinMs},
      {"9999-12-31T23:59:59.999Z", kNone, Timestamp::kUnixTimeMaxMs},
      {"2025-01-01T10:00:00.1234567890Z", kFractionTooLong, 0},
      {"2025-01-01T10:00:00.Z", kSyntax, 0},
      {"2025-01-01T10:00:00", kSyntax, 0},
      {"2025-01-01T10:00Z", kSyntax, 0},
      {"2025-01-01 10:00:00Z", kSyntax, 0},
      {"2025-01-01T10:00:00ZZ", kSyntax, 0},
      {"2025-01-01T10:00:00 Z", kSyntax, 0},
      {"2025-01-01T10:00:00+0100", kSyntax, 0},
      {"2025-01-01T10:00:00+01", kSyntax, 0},
      {"2025-01-01T10:00:00+01:00:00", kSyntax, 0},
      {"2025-01-01T1:00:00Z", kSyntax, 0},
      {"2025-01-01", kSyntax, 0},
      {"", kSyntax, 0},
      {"2025-01-01T24:00:00Z", kTimeOutOfRange, 0},
      {"2025-01-01T23:60:00Z", kTimeOutOfRange, 0},
      {"2016-12-31T23:59:60Z", kTimeOutOfRange, 0},
      {"2025-01-01T10:00:00+24:00", kOffsetOutOfRange, 0},
      {"2025-01-01T10:00:00+01:60", kOffsetOutOfRange, 0},
      {"2025-02-30T10:00:00Z", kDayOutOfRange, 0},
      {"2025-13-01T10:00:00Z", kMonthOutOfRange, 0},
      {"0000-01-01T00:30:00+01:00", kOutOfSupportedRange, 0},
      {"9999-12-31T23:30:00-01:00", kOutOfSupportedRange, 0},
  };
  for (const Case& test_case : cases) {
    const TimestampParseResult result = ParseTimestamp(test_case.text);
    EXPECT_EQ(result.error, test_case.error) << test_case.text;
    if (result.ok()) {
      EXPECT_EQ(result.timestamp.unix_time_ms(), test_case.unix_time_ms);
    }
  }
}

TEST(TimestampTest, FormatWritesUtcWithMillisecondsOnlyWhenPresent) {
  // Proves the canonical output, including instants before 1970 and at the range edges.
  struct Case {
    int64_t unix_time_ms;
    std::string_view text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {-86'400'000, "1969-12-31T00:00:00Z"},
      {kNewYear2025Ms + 10 * 3'600'000, "2025-01-01T10:00:00Z"},
      {kNewYear2025Ms + 123, "2025-01-01T00:00:00.123Z"},
      {kNewYear2025Ms + 5, "2025-01-01T00:00:00.005Z"},
      {kNewYear2025Ms + 50, "2025-01-01T00:00:00.050Z"},
      {kNewYear2025Ms - 1, "2024-12-31T23:59:59.999Z"},
      {Timestamp::kUnixTimeMinMs, "0000-01-01T00:00:00Z"},
      {Timestamp::kUnixTimeMaxMs, "9999-12-31T23:59:59.999Z"},
  };
  for (const Case& test_case : cases) {
    const Timestamp timestamp = *Timestamp::FromUnixTimeMs(test_case.unix_time_ms);
    EXPECT_EQ(FormatTimestamp(timestamp), test_case.text);
    EXPECT_EQ(ParseTimestamp(test_case.text).timestamp, timestamp) << test_case.text;
  }
}

TEST(TimestampTest, RangeAndArithmeticStayWithinWritableYears) {
  // Proves that timestamps exist only where RFC 3339 can write them, and arithmetic keeps that.
  EXPECT_FALSE(Timestamp::FromUnixTimeMs(Timestamp::kUnixTimeMinMs - 1).has_value());
  EXPECT_FALSE(Timestamp::FromUnixTimeMs(Timestamp::kUnixTimeMaxMs + 1).has_value());
  EXPECT_FALSE(Timestamp::FromUnixTimeMs(kInt64Min).has_value());
  const Timestamp epoch;
  EXPECT_EQ(epoch.AddMilliseconds(1500)->unix_time_ms(), 1500);
  EXPECT_EQ(epoch.AddMilliseconds(-1)->unix_time_ms(), -1);
  EXPECT_FALSE(epoch.AddMilliseconds(kInt64Max).has_value());
  EXPECT_FALSE(epoch.AddMilliseconds(kInt64Min).has_value());
  EXPECT_LT(epoch, *epoch.AddMilliseconds(1));
}

TEST(TimestampTest, DateIsTheUtcCalendarDay) {
  // Proves the conversion between instants and days, including the last millisecond of a day.
  struct Case {
    int64_t unix_time_ms;
    Date date;
  };
  const Case cases[] = {
      {0, DateOf(1970, 1, 1)},
      {-1, DateOf(1969, 12, 31)},
      {kNewYear2025Ms - 1, DateOf(2024, 12, 31)},
      {kNewYear2025Ms, DateOf(2025, 1, 1)},
      {Timestamp::kUnixTimeMinMs, DateOf(0, 1, 1)},
      {Timestamp::kUnixTimeMaxMs, DateOf(9999, 12, 31)},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(Timestamp::FromUnixTimeMs(test_case.unix_time_ms)->date(), test_case.date);
  }
  EXPECT_EQ(Timestamp::FromDate(DateOf(2025, 1, 1)).unix_time_ms(), kNewYear2025Ms);
  EXPECT_EQ(Timestamp::FromDate(DateOf(0, 1, 1)).unix_time_ms(), Timestamp::kUnixTimeMinMs);
}

TEST(TimestampTest, EveryErrorHasADescription) {
  // Proves that each error has its own sentence for API responses.
  using enum DateTimeError;
  const DateTimeError errors[] = {
      kSyntax,          kMonthOutOfRange,  kDayOutOfRange,      kTimeOutOfRange,
      kFractionTooLong, kOffsetOutOfRange, kOutOfSupportedRange};
  for (DateTimeError first : errors) {
    for (DateTimeError second : errors) {
      if (first != second) {
        EXPECT_NE(DescribeDateTimeError(first), DescribeDateTimeError(second));
      }
    }
  }
  EXPECT_EQ(DescribeDateTimeError(kMonthOutOfRange), "month must be 01 to 12");
}

}  // namespace
}  // namespace finsync::domain
