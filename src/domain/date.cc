#include "domain/date.h"

namespace finsync::domain {
namespace {

constexpr int64_t kMillisecondsPerSecond = 1000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kMillisecondsPerDay = kSecondsPerDay * kMillisecondsPerSecond;

// The proleptic Gregorian calendar repeats every 400 years, which are exactly 146097 days.
// Counting years from March 1st puts the leap day last, so the day of the year never depends
// on whether the year is a leap year. This is the civil-from-days construction described by
// Howard Hinnant in "chrono-Compatible Low-Level Date Algorithms".
constexpr int64_t kDaysPerEra = 146'097;
constexpr int64_t kDaysFromEraStartToEpoch = 719'468;  // 0000-03-01 to 1970-01-01.

constexpr int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  const int64_t march_year = month <= 2 ? year - 1 : year;
  const int64_t era = (march_year >= 0 ? march_year : march_year - 399) / 400;
  const int64_t year_of_era = march_year - era * 400;                 // [0, 399]
  const int64_t march_month = month > 2 ? month - 3 : month + 9;      // [0, 11]
  const int64_t day_of_year = (153 * march_month + 2) / 5 + day - 1;  // [0, 365]
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * kDaysPerEra + day_of_era - kDaysFromEraStartToEpoch;
}

struct CivilDay {
  int64_t year;
  int64_t month;
  int64_t day;
};

constexpr CivilDay CivilFromDays(int64_t days_since_epoch) {
  const int64_t days = days_since_epoch + kDaysFromEraStartToEpoch;
  const int64_t era = (days >= 0 ? days : days - (kDaysPerEra - 1)) / kDaysPerEra;
  const int64_t day_of_era = days - era * kDaysPerEra;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
  const int64_t march_month = (5 * day_of_year + 2) / 153;                     // [0, 11]
  const int64_t day = day_of_year - (153 * march_month + 2) / 5 + 1;           // [1, 31]
  const int64_t month = march_month < 10 ? march_month + 3 : march_month - 9;  // [1, 12]
  const int64_t march_year = year_of_era + era * 400;
  return CivilDay{month <= 2 ? march_year + 1 : march_year, month, day};
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(2000, 3, 1) == 11'017);
static_assert(CivilFromDays(-1).year == 1969 && CivilFromDays(-1).day == 31);

constexpr int64_t kDaysSinceEpochMin = DaysFromCivil(kYearMin, 1, 1);
constexpr int64_t kDaysSinceEpochMax = DaysFromCivil(kYearMax, 12, 31);

static_assert(kDaysSinceEpochMin * kMillisecondsPerDay == Timestamp::kUnixTimeMinMs);
static_assert((kDaysSinceEpochMax + 1) * kMillisecondsPerDay - 1 == Timestamp::kUnixTimeMaxMs);

// Division that rounds toward negative infinity, so instants before 1970 fall on the right day.
int64_t FloorDivide(int64_t dividend, int64_t divisor) {
  const int64_t quotient = dividend / divisor;
  return (dividend % divisor != 0 && (dividend < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

bool IsDigit(char byte) { return byte >= '0' && byte <= '9'; }

// Reads exactly `count` digits at `offset`; nullopt if any is missing or not a digit.
std::optional<int32_t> ReadDigits(std::string_view text, size_t offset, size_t count) {
  if (offset + count > text.size()) return std::nullopt;
  int32_t value = 0;
  for (size_t index = offset; index < offset + count; ++index) {
    if (!IsDigit(text[index])) return std::nullopt;
    value = value * 10 + (text[index] - '0');
  }
  return value;
}

bool HasByte(std::string_view text, size_t offset, char expected) {
  return offset < text.size() && text[offset] == expected;
}

void AppendPadded(std::string& text, int64_t value, int32_t width) {
  char digits[20];
  int32_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int32_t padding = count; padding < width; ++padding) text.push_back('0');
  while (count > 0) text.push_back(digits[--count]);
}

// Validates the "YYYY-MM-DD" that starts at offset 0 of `text`; the caller checks what follows.
DateParseResult ParseDatePrefix(std::string_view text) {
  const std::optional<int32_t> year = ReadDigits(text, 0, 4);
  const std::optional<int32_t> month = ReadDigits(text, 5, 2);
  const std::optional<int32_t> day = ReadDigits(text, 8, 2);
  if (!year || !month || !day || !HasByte(text, 4, '-') || !HasByte(text, 7, '-')) {
    return {DateTimeError::kSyntax, Date()};
  }
  if (*month < 1 || *month > 12) return {DateTimeError::kMonthOutOfRange, Date()};
  const std::optional<Date> date = Date::FromYearMonthDay(*year, *month, *day);
  if (!date) return {DateTimeError::kDayOutOfRange, Date()};
  return {DateTimeError::kNone, *date};
}

struct TimeOfDay {
  DateTimeError error = DateTimeError::kNone;
  int64_t milliseconds = 0;  // Since local midnight.
  size_t end = 0;            // Offset just past the fraction, where the zone starts.
};

// Parses "HH:MM:SS[.fraction]" starting at `offset`.
TimeOfDay ParseTimeOfDay(std::string_view text, size_t offset) {
  const std::optional<int32_t> hour = ReadDigits(text, offset, 2);
  const std::optional<int32_t> minute = ReadDigits(text, offset + 3, 2);
  const std::optional<int32_t> second = ReadDigits(text, offset + 6, 2);
  if (!hour || !minute || !second || !HasByte(text, offset + 2, ':') ||
      !HasByte(text, offset + 5, ':')) {
    return {DateTimeError::kSyntax};
  }
  if (*hour > 23 || *minute > 59 || *second > 59) return {DateTimeError::kTimeOutOfRange};
  TimeOfDay time;
  time.milliseconds = ((*hour * 60 + *minute) * 60 + *second) * kMillisecondsPerSecond;
  time.end = offset + 8;
  if (!HasByte(text, time.end, '.')) return time;

  constexpr size_t kFractionDigitsMax = 9;
  const size_t fraction_start = time.end + 1;
  size_t position = fraction_start;
  int64_t fraction_ms = 0;
  while (position < text.size() && IsDigit(text[position])) {
    // Only the first three digits carry milliseconds; the rest are truncated on purpose.
    if (position - fraction_start < 3) fraction_ms = fraction_ms * 10 + (text[position] - '0');
    ++position;
  }
  const size_t fraction_digits = position - fraction_start;
  if (fraction_digits == 0) return {DateTimeError::kSyntax};
  if (fraction_digits > kFractionDigitsMax) return {DateTimeError::kFractionTooLong};
  for (size_t scale = fraction_digits; scale < 3; ++scale) fraction_ms *= 10;
  time.milliseconds += fraction_ms;
  time.end = position;
  return time;
}

struct UtcOffset {
  DateTimeError error = DateTimeError::kNone;
  int64_t milliseconds = 0;  // Local time minus UTC.
};

// Parses the zone, which must run to the end of the text: "Z", "z", "+HH:MM" or "-HH:MM".
UtcOffset ParseUtcOffset(std::string_view zone) {
  if (zone == "Z" || zone == "z") return {};
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
    return {DateTimeError::kSyntax};
  }
  const std::optional<int32_t> hours = ReadDigits(zone, 1, 2);
  const std::optional<int32_t> minutes = ReadDigits(zone, 4, 2);
  if (!hours || !minutes) return {DateTimeError::kSyntax};
  if (*hours > 23 || *minutes > 59) return {DateTimeError::kOffsetOutOfRange};
  const int64_t magnitude_ms = (*hours * 60 + *minutes) * 60 * kMillisecondsPerSecond;
  return {DateTimeError::kNone, zone[0] == '-' ? -magnitude_ms : magnitude_ms};
}

}  // namespace

bool IsLeapYear(int32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int32_t DaysInMonth(int32_t year, int32_t month) {
  constexpr int32_t kDaysInMonth[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDaysInMonth[month - 1];
}

std::optional<Date> Date::FromYearMonthDay(int32_t year, int32_t month, int32_t day) {
  if (year < kYearMin || year > kYearMax) return std::nullopt;
  if (day < 1 || day > DaysInMonth(year, month)) return std::nullopt;
  return Date(year, month, day);
}

std::optional<Date> Date::FromDaysSinceEpoch(int64_t days) {
  if (days < kDaysSinceEpochMin || days > kDaysSinceEpochMax) return std::nullopt;
  const CivilDay civil = CivilFromDays(days);
  return Date(static_cast<int32_t>(civil.year), static_cast<int32_t>(civil.month),
              static_cast<int32_t>(civil.day));
}

int64_t Date::days_since_epoch() const { return DaysFromCivil(year_, month_, day_); }

std::optional<Date> Date::AddDays(int64_t days) const {
  int64_t target = 0;
  if (__builtin_add_overflow(days_since_epoch(), days, &target)) return std::nullopt;
  return FromDaysSinceEpoch(target);
}

std::optional<Timestamp> Timestamp::FromUnixTimeMs(int64_t unix_time_ms) {
  if (unix_time_ms < kUnixTimeMinMs || unix_time_ms > kUnixTimeMaxMs) return std::nullopt;
  return Timestamp(unix_time_ms);
}

Timestamp Timestamp::FromDate(Date date) {
  return Timestamp(date.days_since_epoch() * kMillisecondsPerDay);
}

Date Timestamp::date() const {
  // Always in range: the timestamp range is exactly the date range's days.
  return *Date::FromDaysSinceEpoch(FloorDivide(unix_time_ms_, kMillisecondsPerDay));
}

std::optional<Timestamp> Timestamp::AddMilliseconds(int64_t duration_ms) const {
  int64_t target = 0;
  if (__builtin_add_overflow(unix_time_ms_, duration_ms, &target)) return std::nullopt;
  return FromUnixTimeMs(target);
}

std::string_view DescribeDateTimeError(DateTimeError error) {
  switch (error) {
    case DateTimeError::kNone:
      return "no error";
    case DateTimeError::kSyntax:
      return "expected YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ for a time";
    case DateTimeError::kMonthOutOfRange:
      return "month must be 01 to 12";
    case DateTimeError::kDayOutOfRange:
      return "day does not exist in that month";
    case DateTimeError::kTimeOutOfRange:
      return "time must be 00:00:00 to 23:59:59";
    case DateTimeError::kFractionTooLong:
      return "fractional seconds have more than 9 digits";
    case DateTimeError::kOffsetOutOfRange:
      return "UTC offset must be -23:59 to +23:59";
    case DateTimeError::kOutOfSupportedRange:
      return "instant is outside years 0000 to 9999 UTC";
  }
  return "unknown date or time error";
}

DateParseResult ParseDate(std::string_view text) {
  constexpr size_t kDateLength = 10;
  if (text.size() != kDateLength) return {DateTimeError::kSyntax, Date()};
  return ParseDatePrefix(text);
}

std::string FormatDate(Date date) {
  std::string text;
  text.reserve(10);
  AppendPadded(text, date.year(), 4);
  text.push_back('-');
  AppendPadded(text, date.month(), 2);
  text.push_back('-');
  AppendPadded(text, date.day(), 2);
  return text;
}

TimestampParseResult ParseTimestamp(std::string_view text) {
  const DateParseResult date = ParseDatePrefix(text);
  if (!date.ok()) return {date.error, Timestamp()};
  if (!HasByte(text, 10, 'T') && !HasByte(text, 10, 't')) {
    return {DateTimeError::kSyntax, Timestamp()};
  }
  const TimeOfDay time = ParseTimeOfDay(text, 11);
  if (time.error != DateTimeError::kNone) return {time.error, Timestamp()};
  const UtcOffset offset = ParseUtcOffset(text.substr(time.end));
  if (offset.error != DateTimeError::kNone) return {offset.error, Timestamp()};

  // Magnitudes stay below 2^49, far from int64 overflow.
  const int64_t local_ms = date.date.days_since_epoch() * kMillisecondsPerDay + time.milliseconds;
  const std::optional<Timestamp> timestamp =
      Timestamp::FromUnixTimeMs(local_ms - offset.milliseconds);
  if (!timestamp) return {DateTimeError::kOutOfSupportedRange, Timestamp()};
  return {DateTimeError::kNone, *timestamp};
}

std::string FormatTimestamp(Timestamp timestamp) {
  const int64_t unix_time_ms = timestamp.unix_time_ms();
  const int64_t day_ms =
      unix_time_ms - FloorDivide(unix_time_ms, kMillisecondsPerDay) * kMillisecondsPerDay;
  const int64_t second_of_day = day_ms / kMillisecondsPerSecond;
  const int64_t milliseconds = day_ms % kMillisecondsPerSecond;

  std::string text = FormatDate(timestamp.date());
  text.reserve(24);
  text.push_back('T');
  AppendPadded(text, second_of_day / 3600, 2);
  text.push_back(':');
  AppendPadded(text, second_of_day / 60 % 60, 2);
  text.push_back(':');
  AppendPadded(text, second_of_day % 60, 2);
  if (milliseconds != 0) {
    text.push_back('.');
    AppendPadded(text, milliseconds, 3);
  }
  text.push_back('Z');
  return text;
}

}  // namespace finsync::domain
