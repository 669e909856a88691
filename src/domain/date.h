// Calendar dates and UTC instants. Dates travel as "YYYY-MM-DD" and instants as RFC 3339
// ("2025-01-01T10:00:00Z"); both are validated strictly on the way in because bank data that
// is silently "corrected" (2025-02-30 becoming March 2nd) is worse than data that is refused.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace finsync::domain {

// The supported years: exactly those a four-digit RFC 3339 year can write. The calendar is the
// proleptic Gregorian one, as RFC 3339 and ISO 8601 require.
inline constexpr int32_t kYearMin = 0;
inline constexpr int32_t kYearMax = 9999;

bool IsLeapYear(int32_t year);

// Days in `month` (1..12) of `year`; 0 when the month is out of range.
int32_t DaysInMonth(int32_t year, int32_t month);

// A day of the proleptic Gregorian calendar between 0000-01-01 and 9999-12-31. Every Date that
// exists is valid: the factories refuse anything else. Immutable value type; ordering is
// chronological.
class Date {
 public:
  // 1970-01-01, the Unix epoch. Exists so result structs can hold a Date before it is known.
  constexpr Date() = default;

  // nullopt unless the year, month and day name a real day in the supported range.
  static std::optional<Date> FromYearMonthDay(int32_t year, int32_t month, int32_t day);

  // Day 0 is 1970-01-01 and day -1 is 1969-12-31. nullopt outside the supported years.
  static std::optional<Date> FromDaysSinceEpoch(int64_t days);

  int32_t year() const { return year_; }
  int32_t month() const { return month_; }
  int32_t day() const { return day_; }

  int64_t days_since_epoch() const;

  // The date `days` later (earlier when negative); nullopt if that leaves the supported years.
  std::optional<Date> AddDays(int64_t days) const;

  friend auto operator<=>(const Date& left, const Date& right) = default;

 private:
  constexpr Date(int32_t year, int32_t month, int32_t day)
      : year_(year), month_(month), day_(day) {}

  // Field order matters: the defaulted <=> compares year, then month, then day.
  int32_t year_ = 1970;
  int32_t month_ = 1;
  int32_t day_ = 1;
};

// An instant in UTC with millisecond precision, as milliseconds since 1970-01-01T00:00:00Z.
// Limited to the years RFC 3339 can write, so every Timestamp can be formatted. Immutable
// value type; ordering is chronological.
class Timestamp {
 public:
  static constexpr int64_t kUnixTimeMinMs = -62'167'219'200'000;  // 0000-01-01T00:00:00.000Z
  static constexpr int64_t kUnixTimeMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

  // The Unix epoch. Exists so result structs can hold a Timestamp before it is known.
  constexpr Timestamp() = default;

  // nullopt outside [kUnixTimeMinMs, kUnixTimeMaxMs].
  static std::optional<Timestamp> FromUnixTimeMs(int64_t unix_time_ms);

  // Midnight UTC at the start of `date`.
  static Timestamp FromDate(Date date);

  int64_t unix_time_ms() const { return unix_time_ms_; }

  // The UTC calendar day of this instant.
  Date date() const;

  // nullopt if the result leaves the supported range.
  std::optional<Timestamp> AddMilliseconds(int64_t duration_ms) const;

  friend auto operator<=>(const Timestamp& left, const Timestamp& right) = default;

 private:
  explicit constexpr Timestamp(int64_t unix_time_ms) : unix_time_ms_(unix_time_ms) {}

  int64_t unix_time_ms_ = 0;
};

// Why text was not a date or a timestamp.
enum class DateTimeError : uint8_t {
  kNone,
  kSyntax,              // Not the expected shape: wrong length, a missing digit or separator.
  kMonthOutOfRange,     // Month is not 01..12.
  kDayOutOfRange,       // Day is 00 or past the month's end (leap years included).
  kTimeOutOfRange,      // Hour > 23, minute > 59 or second > 59 (leap seconds are refused).
  kFractionTooLong,     // More than 9 digits of fractional seconds.
  kOffsetOutOfRange,    // UTC offset hour > 23 or minute > 59.
  kOutOfSupportedRange  // The offset moves the instant outside years 0000..9999 in UTC.
};

// A fixed English sentence for each error, suitable for a 422 detail.
std::string_view DescribeDateTimeError(DateTimeError error);

struct DateParseResult {
  DateTimeError error = DateTimeError::kNone;
  Date date;  // Meaningful only when ok().

  bool ok() const { return error == DateTimeError::kNone; }
};

struct TimestampParseResult {
  DateTimeError error = DateTimeError::kNone;
  Timestamp timestamp;  // Meaningful only when ok().

  bool ok() const { return error == DateTimeError::kNone; }
};

// Parses exactly "YYYY-MM-DD": ten bytes, no whitespace, no other layout.
DateParseResult ParseDate(std::string_view text);

// "YYYY-MM-DD", always ten bytes.
std::string FormatDate(Date date);

// Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". 'T' and 'Z'
// may be lowercase, as RFC 3339 allows. The fraction has 1 to 9 digits and is truncated to
// milliseconds (".1239" is 123 ms), never rounded, so parsing never moves an instant forward.
TimestampParseResult ParseTimestamp(std::string_view text);

// RFC 3339 in UTC: "2025-01-01T10:00:00Z", or "2025-01-01T10:00:00.123Z" when the
// milliseconds are not zero.
std::string FormatTimestamp(Timestamp timestamp);

}  // namespace finsync::domain
