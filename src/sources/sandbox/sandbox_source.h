// The built-in sandbox bank as a Source. It behaves like an aggregator in front of a real
// bank: consents with the requisition life cycle and an expiry, one to three accounts per
// consent, balances, and booked and pending transactions generated deterministically from a
// seed (see generator.h). On top of the Source interface it offers what only a sandbox can:
// the user's side of the consent flow, and fault plans that make chosen calls fail.
//
// Thread-safe. Consents live in the SandboxConsentStore given at construction; fault plans
// live in memory only, since they are a test instrument.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "sources/sandbox/consent_store.h"
#include "sources/sandbox/fault_plan.h"
#include "sources/sandbox/household.h"
#include "sources/source.h"

namespace finsync::sources::sandbox {

struct SandboxOptions {
  uint64_t seed = 0x5A4D'B0C5'F1A5'2025ULL;  // Derives consent references and default seeds.
  // The page where a user approves a consent; auth_url is this prefix + consent reference.
  // The application serves that page, so it passes its own base URL here.
  std::string consent_page_url = "/sandbox/consents/";
  Volume default_volume{};
};

// Choices a sandbox consent can make that a real bank would not offer.
struct SandboxConsentOptions {
  // Default: from the bank seed and the caller's reference (so a renewed consent for the same
  // connection shows the same customer), or the consent reference when the caller gave none.
  std::optional<uint64_t> seed{};
  std::optional<int32_t> account_count{};  // 1..3; default: derived from the seed.
  std::optional<Volume> volume{};          // Default: SandboxOptions::default_volume.
};

class SandboxSource final : public Source {
 public:
  // `store` must outlive the source.
  SandboxSource(SandboxOptions options, SandboxConsentStore& store);

  std::string_view integrator() const override { return "SANDBOX"; }

  SourceResult<Consent> StartConsent(const SourceContext& context,
                                     const ConsentRequest& request) override;
  SourceResult<Consent> GetConsent(const SourceContext& context,
                                   std::string_view consent_reference) override;
  SourceResult<std::monostate> DeleteConsent(const SourceContext& context,
                                             std::string_view consent_reference) override;
  SourceResult<std::vector<std::string>> ListAccounts(const SourceContext& context,
                                                      std::string_view consent_reference) override;
  SourceResult<AccountDetails> GetAccountDetails(const SourceContext& context,
                                                 const AccountKey& account) override;
  SourceResult<std::vector<Balance>> GetBalances(const SourceContext& context,
                                                 const AccountKey& account) override;
  SourceResult<AccountTransactions> GetTransactions(const SourceContext& context,
                                                    const AccountKey& account,
                                                    const TransactionQuery& query) override;

  // StartConsent with sandbox choices. kInvalidRequest for an account_count outside 1..3 or
  // an invalid volume, besides what StartConsent checks.
  SourceResult<Consent> StartConsentWithOptions(const SourceContext& context,
                                                const ConsentRequest& request,
                                                const SandboxConsentOptions& options);

  // The user's side of the flow, driven by the consent page or the API for scripts. Each
  // answers the consent after the change. Opening the link moves CR to UA. Approving moves
  // any unfinished status to LN and starts the access period. Rejecting moves an unfinished
  // status to RJ; suspending moves any status that is not final to SU. A step that the current
  // status does not allow is kInvalidRequest naming the status; repeating the step that led to
  // the current status answers the consent unchanged. Fault plans do not apply here.
  SourceResult<Consent> OpenConsentLink(const SourceContext& context,
                                        std::string_view consent_reference);
  SourceResult<Consent> ApproveConsent(const SourceContext& context,
                                       std::string_view consent_reference);
  SourceResult<Consent> RejectConsent(const SourceContext& context,
                                      std::string_view consent_reference);
  SourceResult<Consent> SuspendConsent(const SourceContext& context,
                                       std::string_view consent_reference);

  // Makes the next Source calls fail as the plan says. An empty account_reference targets
  // every call about the consent; an empty consent_reference targets every call to the bank.
  // A call takes its step from the most specific non-empty plan: account, consent, bank.
  // Setting an empty plan removes the target's plan.
  void SetFaultPlan(std::string_view consent_reference, std::string_view account_reference,
                    FaultPlan plan);
  // The same from the text form (see fault_plan.h); kValidationFailed when it does not parse.
  Status SetFaultPlanFromSpec(std::string_view consent_reference,
                              std::string_view account_reference, std::string_view spec);
  // The remaining plan of a target in text form; empty when it has none.
  std::string FaultPlanSpec(std::string_view consent_reference,
                            std::string_view account_reference) const;
  void ClearFaultPlans();

  // The customer behind a consent, for tests and benchmarks that need the ground truth or
  // want to drive the generator directly. Not affected by fault plans or consent status.
  SourceResult<Household> HouseholdOf(std::string_view consent_reference);

 private:
  using FaultKey = std::pair<std::string, std::string>;  // (consent, account) references.

  struct LoadedAccount {
    SandboxConsentRecord record;
    Household household;
    size_t index = 0;  // Of the account in household.accounts.
  };

  std::optional<SourceError> TakeFault(std::string_view consent_reference,
                                       std::string_view account_reference);
  SourceResult<SandboxConsentRecord> LoadRecord(std::string_view consent_reference);
  SourceResult<SandboxConsentRecord> LoadReadableRecord(const SourceContext& context,
                                                        std::string_view consent_reference);
  SourceResult<LoadedAccount> LoadAccount(const SourceContext& context, const AccountKey& account);
  static SourceResult<Household> HouseholdOfRecord(const SandboxConsentRecord& record);
  Consent ConsentOf(const SandboxConsentRecord& record, int64_t now_ms) const;
  SourceResult<Consent> Transition(const SourceContext& context, std::string_view consent_reference,
                                   ConsentStatus target);
  SourceResult<std::string> NewConsentReference(const SourceContext& context);

  const SandboxOptions options_;
  SandboxConsentStore& store_;
  std::atomic<uint64_t> consent_counter_{0};
  std::mutex transition_mutex_;  // Serialises read-modify-write of consent records.
  mutable std::mutex fault_mutex_;
  std::map<FaultKey, FaultPlan> fault_plans_;  // GUARDED_BY(fault_mutex_)
};

}  // namespace finsync::sources::sandbox
