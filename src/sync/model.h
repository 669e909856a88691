// The sync layer's entities as plain values: bank connections (one consent at one bank),
// their bank accounts with the per-account configuration, and stored balances.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/date.h"
#include "ingest/ingest.h"

namespace finsync::sync {

// HEALTHY -> FAILING after a failed refresh -> DEAD after kDeadAfterFailures in a row; any
// successful refresh restores HEALTHY.
enum class HealthStatus : uint8_t { kHealthy, kFailing, kDead };
inline constexpr int64_t kDeadAfterFailures = 10;
std::string_view HealthStatusName(HealthStatus status);
HealthStatus ParseHealthStatus(std::string_view name);

struct Health {
  HealthStatus status = HealthStatus::kHealthy;
  std::string integrator_message;
  int64_t failure_count = 0;
  std::optional<int64_t> last_attempt_at_ms;
};

struct BankConnection {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string bank_id;  // The catalog's bank id.
  std::string integrator;
  std::string consent_reference;
  std::string status;  // Requisition status code: CR, GC, UA, RJ, SA, GA, LN, SU, EX.
  std::string status_message;
  bool enabled = true;
  bool sync_balances = true;
  int32_t max_historical_days = 90;
  int32_t access_valid_for_days = 90;
  std::optional<int64_t> consent_expires_at_ms;
  std::string auth_url;
  Health health;
  std::optional<int64_t> accounts_last_synced_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

inline constexpr int32_t kSyncFrequencyMinutesMin = 30;
inline constexpr int32_t kSyncFrequencyMinutesMax = 1440;
inline constexpr int32_t kSyncFrequencyMinutesDefault = 360;

struct AccountSettings {
  ingest::TextSource payee_source = ingest::TextSource::kAuto;
  ingest::TextSource description_source = ingest::TextSource::kAuto;
  ingest::DateSource date_source = ingest::DateSource::kAuto;
  std::optional<domain::Date> sync_start_date;
  bool sync_auto = true;
  bool sync_pending_transactions = true;
  bool sync_balances = true;
  int32_t sync_frequency_in_minutes = kSyncFrequencyMinutesDefault;
  std::vector<ingest::DuplicateField> duplicate_fields = ingest::DefaultDuplicateFields();
};

struct BankAccount {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t bank_connection_id = 0;
  std::string integrator_id;  // The source's account reference.
  std::string name;
  std::optional<std::string> display_name;  // The user's own name for the account.
  std::string iban;
  std::string bban;
  std::string owner_name;
  std::string currency;
  std::string product_name;
  std::string details;
  AccountSettings settings;
  Health health;
  std::optional<int64_t> details_last_synced_at_ms;
  std::optional<int64_t> transactions_last_synced_at_ms;
  std::optional<int64_t> balances_last_synced_at_ms;
  std::optional<int64_t> last_manual_sync_at_ms;
  std::optional<int64_t> sync_blocked_until_ms;  // The bank asked us to wait until then.
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // Latest stored balances, when known (minor units).
  std::optional<int64_t> balance_available_minor;
  std::optional<int64_t> balance_booked_minor;
};

struct StoredBalance {
  int64_t id = 0;
  int64_t bank_account_id = 0;
  std::string balance_type;  // closingBooked, interimAvailable, expected, ...
  int64_t amount_minor = 0;
  std::string currency;
  std::string reference_date;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

}  // namespace finsync::sync
