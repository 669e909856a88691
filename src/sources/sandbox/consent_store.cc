#include "sources/sandbox/consent_store.h"

namespace finsync::sources::sandbox {

Result<std::optional<SandboxConsentRecord>> InMemorySandboxConsentStore::Load(
    std::string_view consent_reference) {
  const std::lock_guard lock(mutex_);
  const auto found = records_.find(consent_reference);
  if (found == records_.end()) return std::optional<SandboxConsentRecord>();
  return std::optional<SandboxConsentRecord>(found->second);
}

Status InMemorySandboxConsentStore::Save(const SandboxConsentRecord& record) {
  const std::lock_guard lock(mutex_);
  records_.insert_or_assign(record.consent_reference, record);
  return Status::Ok();
}

Status InMemorySandboxConsentStore::Erase(std::string_view consent_reference) {
  const std::lock_guard lock(mutex_);
  const auto found = records_.find(consent_reference);
  if (found != records_.end()) records_.erase(found);
  return Status::Ok();
}

}  // namespace finsync::sources::sandbox
