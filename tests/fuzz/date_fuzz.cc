// Fuzzes date and timestamp parsing and formatting. The whole input is tried as a date and as
// an RFC 3339 timestamp; its first 16 bytes also serve as two int64 values for the day-count,
// millisecond and date-arithmetic checks.
//
// Invariants checked, with checks that stay on in release builds:
// - A parsed date formats back to exactly the input, because the date grammar has one spelling.
// - Timestamp parse then format then parse gives the same instant, and formatting is canonical.
// - Day counts and millisecond counts convert to values and back without change.
// - Adding days and then subtracting them returns the original date.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "domain/date.h"

namespace {

using finsync::domain::Date;
using finsync::domain::Timestamp;

constexpr int64_t kMillisecondsPerDay = 86'400'000;

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "date_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

// Maps any int64 onto [minimum, maximum] so most inputs land inside the supported range.
int64_t IntoRange(int64_t value, int64_t minimum, int64_t maximum) {
  const auto span = static_cast<uint64_t>(maximum - minimum) + 1;
  return minimum + static_cast<int64_t>(static_cast<uint64_t>(value) % span);
}

void CheckDateText(std::string_view text) {
  const finsync::domain::DateParseResult parsed = finsync::domain::ParseDate(text);
  if (!parsed.ok()) return;
  Check(finsync::domain::FormatDate(parsed.date) == text, "format(parse(date)) == text");
  Check(Date::FromDaysSinceEpoch(parsed.date.days_since_epoch()) == parsed.date,
        "date survives a trip through its day count");
}

void CheckTimestampText(std::string_view text) {
  const finsync::domain::TimestampParseResult parsed = finsync::domain::ParseTimestamp(text);
  if (!parsed.ok()) return;
  const std::string formatted = finsync::domain::FormatTimestamp(parsed.timestamp);
  const finsync::domain::TimestampParseResult reparsed = finsync::domain::ParseTimestamp(formatted);
  Check(reparsed.ok(), "formatted timestamp parses");
  Check(reparsed.timestamp == parsed.timestamp, "parse(format(parse(text))) is stable");
  Check(finsync::domain::FormatTimestamp(reparsed.timestamp) == formatted,
        "timestamp formatting is canonical");
  const Timestamp day_start = Timestamp::FromDate(parsed.timestamp.date());
  Check(day_start <= parsed.timestamp, "instant is not before the start of its UTC day");
  Check(parsed.timestamp.unix_time_ms() - day_start.unix_time_ms() < kMillisecondsPerDay,
        "instant is within its UTC day");
}

void CheckDayCount(int64_t raw_days, int64_t raw_offset_days) {
  const int64_t days_min = Date::FromYearMonthDay(0, 1, 1)->days_since_epoch();
  const int64_t days_max = Date::FromYearMonthDay(9999, 12, 31)->days_since_epoch();
  const std::optional<Date> first =
      Date::FromDaysSinceEpoch(IntoRange(raw_days, days_min, days_max));
  Check(first.has_value(), "every day count in range makes a date");
  const finsync::domain::DateParseResult reparsed =
      finsync::domain::ParseDate(finsync::domain::FormatDate(*first));
  Check(reparsed.ok() && reparsed.date == *first, "parse(format(date)) == date");

  // Offsets a little wider than the whole range exercise both success and refusal.
  const int64_t offset_days = raw_offset_days % 4'000'000;
  const std::optional<Date> moved = first->AddDays(offset_days);
  const int64_t target_days = first->days_since_epoch() + offset_days;
  Check(moved.has_value() == (target_days >= days_min && target_days <= days_max),
        "adding days refuses exactly outside the range");
  if (!moved) return;
  Check(moved->AddDays(-offset_days) == first, "adding days is reversible");
  Check((*moved < *first) == (offset_days < 0), "adding days moves the right way");
}

void CheckMilliseconds(int64_t raw_ms) {
  const std::optional<Timestamp> timestamp = Timestamp::FromUnixTimeMs(
      IntoRange(raw_ms, Timestamp::kUnixTimeMinMs, Timestamp::kUnixTimeMaxMs));
  Check(timestamp.has_value(), "every millisecond count in range makes a timestamp");
  const finsync::domain::TimestampParseResult reparsed =
      finsync::domain::ParseTimestamp(finsync::domain::FormatTimestamp(*timestamp));
  Check(reparsed.ok() && reparsed.timestamp == *timestamp, "parse(format(instant)) == instant");
  const bool in_range = raw_ms >= Timestamp::kUnixTimeMinMs && raw_ms <= Timestamp::kUnixTimeMaxMs;
  Check(Timestamp::FromUnixTimeMs(raw_ms).has_value() == in_range, "range check is exact");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDateText(text);
  CheckTimestampText(text);
  if (size >= 16) {
    int64_t first = 0;
    int64_t second = 0;
    std::memcpy(&first, data, sizeof(first));
    std::memcpy(&second, data + 8, sizeof(second));
    CheckDayCount(first, second);
    CheckMilliseconds(first);
  }
  return 0;
}
