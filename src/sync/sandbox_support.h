// What the application needs to run the sandbox bank for real: its consents kept in the
// database (so a restart of finsync does not make the bank forget them), and the adapter that
// lets the API approve consents and inject faults.
#pragma once

#include "sources/sandbox/consent_store.h"
#include "sources/sandbox/sandbox_source.h"
#include "store/database.h"
#include "sync/bank_data.h"

namespace finsync::sync {

class DatabaseSandboxConsentStore final : public sources::sandbox::SandboxConsentStore {
 public:
  explicit DatabaseSandboxConsentStore(store::Database& database) : database_(database) {}
  Result<std::optional<sources::sandbox::SandboxConsentRecord>> Load(
      std::string_view consent_reference) override;
  Status Save(const sources::sandbox::SandboxConsentRecord& record) override;
  Status Erase(std::string_view consent_reference) override;

 private:
  store::Database& database_;
};

class SandboxSimulator final : public ConsentSimulator {
 public:
  SandboxSimulator(sources::sandbox::SandboxSource& source, const Clock& clock)
      : source_(source), clock_(clock) {}
  Status Decide(std::string_view consent_reference, bool approve) override;
  Status SetFaults(std::string_view consent_reference, std::string_view spec) override;
  Status ValidateFaults(std::string_view spec) override;

 private:
  sources::sandbox::SandboxSource& source_;
  const Clock& clock_;
};

}  // namespace finsync::sync
