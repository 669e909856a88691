// Where the sandbox bank keeps its consents. A real bank remembers a consent across restarts
// of finsync, so the sandbox must too: the application plugs in a store backed by its
// database, and tests use the in-memory one. The record is plain data so any store can keep
// it in a row.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sources/sandbox/household.h"
#include "sources/source.h"

namespace finsync::sources::sandbox {

struct SandboxConsentRecord {
  std::string consent_reference;
  std::string institution_id;
  std::string caller_reference;
  std::string redirect_url;
  ConsentStatus status = ConsentStatus::kCreated;  // As last set; EX is derived from the
                                                   // clock when read, never stored.
  int64_t created_at_ms = 0;
  std::optional<int64_t> linked_at_ms;  // Set when the consent reached LN.
  int32_t max_historical_days = 0;
  int32_t access_valid_for_days = 0;
  uint64_t seed = 0;  // The household's seed. Stores with signed 64-bit columns keep its bits.
  int32_t account_count = 1;
  Volume volume;

  friend bool operator==(const SandboxConsentRecord&, const SandboxConsentRecord&) = default;
};

// Implementations must be safe to call from several threads at once.
class SandboxConsentStore {
 public:
  virtual ~SandboxConsentStore() = default;

  // The record, nullopt when there is none, or the store's own failure.
  virtual Result<std::optional<SandboxConsentRecord>> Load(std::string_view consent_reference) = 0;

  // Inserts the record or replaces the one with the same consent_reference.
  virtual Status Save(const SandboxConsentRecord& record) = 0;

  // Removes the record; removing a missing record is not an error.
  virtual Status Erase(std::string_view consent_reference) = 0;
};

class InMemorySandboxConsentStore final : public SandboxConsentStore {
 public:
  Result<std::optional<SandboxConsentRecord>> Load(std::string_view consent_reference) override;
  Status Save(const SandboxConsentRecord& record) override;
  Status Erase(std::string_view consent_reference) override;

 private:
  std::mutex mutex_;
  std::map<std::string, SandboxConsentRecord, std::less<>> records_;  // GUARDED_BY(mutex_)
};

}  // namespace finsync::sources::sandbox
