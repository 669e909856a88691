#include "sync/sandbox_support.h"

#include <charconv>
#include <cstring>

namespace finsync::sync {

namespace {

using sources::sandbox::SandboxConsentRecord;

// The caller reference is "user:<id>" (see BankDataService::CreateConnection).
int64_t UserIdOf(std::string_view caller_reference) {
  constexpr std::string_view kPrefix = "user:";
  if (caller_reference.substr(0, kPrefix.size()) != kPrefix) return 0;
  int64_t id = 0;
  auto digits = caller_reference.substr(kPrefix.size());
  std::from_chars(digits.data(), digits.data() + digits.size(), id);
  return id;
}

// The seed is an unsigned 64-bit value; SQLite integers are signed, so keep its bits.
int64_t SeedToColumn(uint64_t seed) {
  int64_t column = 0;
  std::memcpy(&column, &seed, sizeof(column));
  return column;
}

uint64_t SeedFromColumn(int64_t column) {
  uint64_t seed = 0;
  std::memcpy(&seed, &column, sizeof(seed));
  return seed;
}

Error FromSourceError(const sources::SourceError& error) {
  return Error::Of(error.kind == sources::SourceErrorKind::kInvalidRequest
                       ? ErrorCode::kConflict
                       : ErrorCode::kUnavailable,
                   error.message);
}

}  // namespace

Result<std::optional<SandboxConsentRecord>> DatabaseSandboxConsentStore::Load(
    std::string_view consent_reference) {
  std::optional<SandboxConsentRecord> record;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT consent_reference, institution_id, caller_reference, redirect_url, status, "
        "created_at, linked_at, max_historical_days, access_valid_for_days, seed, "
        "account_count, daily_transactions_min, daily_transactions_max FROM sandbox_consents "
        "WHERE consent_reference = ?",
        {std::string(consent_reference)});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::Ok();
    const store::Row& row = rows.value()[0];
    SandboxConsentRecord r;
    r.consent_reference = row.Text(0);
    r.institution_id = row.Text(1);
    r.caller_reference = row.Text(2);
    r.redirect_url = row.Text(3);
    r.status =
        sources::ParseConsentStatusCode(row.Text(4)).value_or(sources::ConsentStatus::kCreated);
    r.created_at_ms = row.Int(5);
    r.linked_at_ms = row.OptionalInt(6);
    r.max_historical_days = static_cast<int32_t>(row.Int(7));
    r.access_valid_for_days = static_cast<int32_t>(row.Int(8));
    r.seed = SeedFromColumn(row.Int(9));
    r.account_count = static_cast<int32_t>(row.Int(10));
    r.volume.daily_transactions_min = static_cast<int32_t>(row.Int(11));
    r.volume.daily_transactions_max = static_cast<int32_t>(row.Int(12));
    record = std::move(r);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return record;
}

Status DatabaseSandboxConsentStore::Save(const SandboxConsentRecord& r) {
  return database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute(
            "INSERT INTO sandbox_consents (consent_reference, user_id, institution_id, "
            "caller_reference, redirect_url, status, created_at, linked_at, "
            "max_historical_days, access_valid_for_days, seed, account_count, "
            "daily_transactions_min, daily_transactions_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?) ON CONFLICT (consent_reference) DO UPDATE SET status = "
            "excluded.status, linked_at = excluded.linked_at, access_valid_for_days = "
            "excluded.access_valid_for_days, redirect_url = excluded.redirect_url",
            {r.consent_reference, UserIdOf(r.caller_reference), r.institution_id,
             r.caller_reference, r.redirect_url, std::string(sources::ConsentStatusCode(r.status)),
             r.created_at_ms, store::OptionalInt(r.linked_at_ms), int64_t{r.max_historical_days},
             int64_t{r.access_valid_for_days}, SeedToColumn(r.seed), int64_t{r.account_count},
             int64_t{r.volume.daily_transactions_min}, int64_t{r.volume.daily_transactions_max}})
        .status();
  });
}

Status DatabaseSandboxConsentStore::Erase(std::string_view consent_reference) {
  return database_.Write([&](store::Connection& connection) -> Status {
    return connection
        .Execute("DELETE FROM sandbox_consents WHERE consent_reference = ?",
                 {std::string(consent_reference)})
        .status();
  });
}

Status SandboxSimulator::Decide(std::string_view consent_reference, bool approve) {
  sources::SourceContext context{clock_};
  // The user opens the link before deciding, as in a browser. Opening an already opened or
  // decided consent is refused as an invalid step, which is fine here. These are the user's
  // steps at the bank, so fault plans (which target finsync's calls) do not apply.
  auto opened = source_.OpenConsentLink(context, consent_reference);
  if (!opened.ok() && opened.error().kind != sources::SourceErrorKind::kInvalidRequest) {
    return FromSourceError(opened.error());
  }
  auto decided = approve ? source_.ApproveConsent(context, consent_reference)
                         : source_.RejectConsent(context, consent_reference);
  if (!decided.ok()) return FromSourceError(decided.error());
  return Status::Ok();
}

Status SandboxSimulator::SetFaults(std::string_view consent_reference, std::string_view spec) {
  return source_.SetFaultPlanFromSpec(consent_reference, "", spec);
}

Status SandboxSimulator::ValidateFaults(std::string_view spec) {
  auto plan = sources::sandbox::FaultPlan::Parse(spec);
  return plan.ok() ? Status::Ok() : Status(plan.error());
}

}  // namespace finsync::sync
