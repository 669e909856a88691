#include "sources/sandbox/sandbox_source.h"

#include <algorithm>

#include "domain/date.h"
#include "sources/sandbox/bank_profiles.h"
#include "sources/sandbox/generator.h"
#include "sources/sandbox/hash.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerDay = 86'400'000;
constexpr int32_t kReferenceAttemptsMax = 8;

int64_t FloorDivide(int64_t dividend, int64_t divisor) {
  const int64_t quotient = dividend / divisor;
  return (dividend % divisor != 0 && (dividend < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

int64_t TodayOf(int64_t now_ms) { return FloorDivide(now_ms, kMillisecondsPerDay); }

SourceError ErrorOf(SourceErrorKind kind, std::string message) {
  return SourceError{kind, std::move(message), 0};
}

domain::Timestamp TimestampOrEpoch(int64_t unix_time_ms) {
  return domain::Timestamp::FromUnixTimeMs(unix_time_ms).value_or(domain::Timestamp());
}

int64_t ExpiresAtMs(const SandboxConsentRecord& record) {
  return record.linked_at_ms.value_or(0) +
         int64_t{record.access_valid_for_days} * kMillisecondsPerDay;
}

// The stored status, except that a linked consent whose access period is over reads as EX.
ConsentStatus EffectiveStatus(const SandboxConsentRecord& record, int64_t now_ms) {
  if (record.status == ConsentStatus::kLinked && now_ms >= ExpiresAtMs(record)) {
    return ConsentStatus::kExpired;
  }
  return record.status;
}

bool IsUnfinished(ConsentStatus status) {
  return status == ConsentStatus::kCreated || status == ConsentStatus::kGivingConsent ||
         status == ConsentStatus::kUndergoingAuthentication ||
         status == ConsentStatus::kSelectingAccounts || status == ConsentStatus::kGrantingAccess;
}

// Whether the user's step towards `target` is allowed from `current`. Repeating the step that
// led to `current` is allowed and changes nothing.
bool TransitionAllowed(ConsentStatus current, ConsentStatus target) {
  if (current == target) return true;
  switch (target) {
    case ConsentStatus::kUndergoingAuthentication:
      return current == ConsentStatus::kCreated;
    case ConsentStatus::kLinked:
    case ConsentStatus::kRejected:
      return IsUnfinished(current);
    case ConsentStatus::kSuspended:
      return !IsFinal(current);
    default:
      return false;
  }
}

std::string DateText(int64_t unix_time_ms) {
  return domain::FormatDate(TimestampOrEpoch(unix_time_ms).date());
}

SourceError NotReadable(const SandboxConsentRecord& record, ConsentStatus status) {
  const std::string& reference = record.consent_reference;
  switch (status) {
    case ConsentStatus::kExpired:
      return ErrorOf(SourceErrorKind::kConsentExpired,
                     "End User Agreement (EUA) for requisition " + reference + " expired on " +
                         DateText(ExpiresAtMs(record)) + "; the user must renew the consent.");
    case ConsentStatus::kRejected:
      return ErrorOf(SourceErrorKind::kConsentExpired,
                     "Requisition " + reference + " was rejected by the user.");
    case ConsentStatus::kSuspended:
      return ErrorOf(SourceErrorKind::kConsentExpired,
                     "Requisition " + reference + " was suspended by the bank.");
    default:
      return ErrorOf(SourceErrorKind::kInvalidRequest,
                     "Requisition " + reference + " is not linked yet (status " +
                         std::string(ConsentStatusCode(status)) + ").");
  }
}

SourceError InvalidLimit(std::string_view field, int32_t maximum, std::string_view bank_id) {
  return ErrorOf(SourceErrorKind::kInvalidRequest, std::string(field) + " must be 1 to " +
                                                       std::to_string(maximum) + " for " +
                                                       std::string(bank_id) + ".");
}

std::optional<SourceError> CheckConsentRequest(const ConsentRequest& request,
                                               const SandboxConsentOptions& options,
                                               const BankProfile* bank) {
  if (bank == nullptr) {
    return ErrorOf(SourceErrorKind::kInvalidRequest,
                   "Unknown institution '" + request.institution_id + "' at the sandbox bank.");
  }
  if (request.max_historical_days < 1 || request.max_historical_days > bank->max_historical_days) {
    return InvalidLimit("max_historical_days", bank->max_historical_days, bank->id);
  }
  if (request.access_valid_for_days < 1 ||
      request.access_valid_for_days > bank->max_access_valid_for_days) {
    return InvalidLimit("access_valid_for_days", bank->max_access_valid_for_days, bank->id);
  }
  if (options.account_count &&
      (*options.account_count < 1 || *options.account_count > kAccountsPerConsentMax)) {
    return ErrorOf(SourceErrorKind::kInvalidRequest, "account_count must be 1 to 3.");
  }
  if (options.volume && !IsValidVolume(*options.volume)) {
    return ErrorOf(SourceErrorKind::kInvalidRequest,
                   "daily transactions must satisfy 0 <= min <= max <= 10000.");
  }
  return std::nullopt;
}

// A renewed consent for the same connection must show the same customer, as a real bank
// would, so the caller's reference decides the seed when there is one; account references
// still change with every consent, as GoCardless account ids do.
uint64_t DefaultSeed(uint64_t bank_seed, const SandboxConsentRecord& record) {
  if (record.caller_reference.empty()) {
    return HashCombine(bank_seed, HashText(record.consent_reference));
  }
  return HashCombine(
      bank_seed, HashCombine(HashText(record.institution_id), HashText(record.caller_reference)));
}

}  // namespace

SandboxSource::SandboxSource(SandboxOptions options, SandboxConsentStore& store)
    : options_(std::move(options)), store_(store) {}

std::optional<SourceError> SandboxSource::TakeFault(std::string_view consent_reference,
                                                    std::string_view account_reference) {
  const std::lock_guard lock(fault_mutex_);
  const FaultKey keys[] = {{std::string(consent_reference), std::string(account_reference)},
                           {std::string(consent_reference), ""},
                           {"", ""}};
  for (const FaultKey& key : keys) {
    const auto found = fault_plans_.find(key);
    if (found == fault_plans_.end()) continue;
    std::optional<SourceError> fault = found->second.TakeCall();
    if (found->second.empty()) fault_plans_.erase(found);
    return fault;
  }
  return std::nullopt;
}

SourceResult<SandboxConsentRecord> SandboxSource::LoadRecord(std::string_view consent_reference) {
  Result<std::optional<SandboxConsentRecord>> loaded = store_.Load(consent_reference);
  if (!loaded.ok()) {
    return ErrorOf(SourceErrorKind::kServerError,
                   "The sandbox bank could not read its consents: " + loaded.error().detail);
  }
  if (!loaded.value()) {
    return ErrorOf(SourceErrorKind::kConsentNotFound,
                   "Requisition " + std::string(consent_reference) + " not found.");
  }
  return *std::move(loaded.value());
}

SourceResult<SandboxConsentRecord> SandboxSource::LoadReadableRecord(
    const SourceContext& context, std::string_view consent_reference) {
  SourceResult<SandboxConsentRecord> record = LoadRecord(consent_reference);
  if (!record.ok()) return record;
  const ConsentStatus status = EffectiveStatus(record.value(), context.clock.NowMilliseconds());
  if (status != ConsentStatus::kLinked) return NotReadable(record.value(), status);
  return record;
}

SourceResult<std::string> SandboxSource::NewConsentReference(const SourceContext& context) {
  const auto now_ms = static_cast<uint64_t>(context.clock.NowMilliseconds());
  for (int32_t attempt = 0; attempt < kReferenceAttemptsMax; ++attempt) {
    const uint64_t counter = consent_counter_.fetch_add(1);
    std::string reference = UuidFromHash(HashCombine(options_.seed, HashCombine(now_ms, counter)));
    Result<std::optional<SandboxConsentRecord>> existing = store_.Load(reference);
    if (!existing.ok()) {
      return ErrorOf(SourceErrorKind::kServerError,
                     "The sandbox bank could not read its consents: " + existing.error().detail);
    }
    if (!existing.value()) return reference;
  }
  return ErrorOf(SourceErrorKind::kServerError, "The sandbox bank could not allocate a consent.");
}

SourceResult<Consent> SandboxSource::StartConsent(const SourceContext& context,
                                                  const ConsentRequest& request) {
  return StartConsentWithOptions(context, request, SandboxConsentOptions{});
}

SourceResult<Consent> SandboxSource::StartConsentWithOptions(const SourceContext& context,
                                                             const ConsentRequest& request,
                                                             const SandboxConsentOptions& options) {
  if (std::optional<SourceError> fault = TakeFault("", "")) return *std::move(fault);
  const BankProfile* bank = FindSandboxBankProfile(request.institution_id);
  if (std::optional<SourceError> error = CheckConsentRequest(request, options, bank)) {
    return *std::move(error);
  }
  SourceResult<std::string> reference = NewConsentReference(context);
  if (!reference.ok()) return reference.error();
  SandboxConsentRecord record;
  record.consent_reference = std::move(reference.value());
  record.institution_id = request.institution_id;
  record.caller_reference = request.caller_reference;
  record.redirect_url = request.redirect_url;
  record.created_at_ms = context.clock.NowMilliseconds();
  record.max_historical_days = request.max_historical_days;
  record.access_valid_for_days = request.access_valid_for_days;
  record.seed = options.seed.value_or(DefaultSeed(options_.seed, record));
  record.account_count = options.account_count.value_or(
      1 + static_cast<int32_t>(Below(HashCombine(record.seed, 0xAC), kAccountsPerConsentMax)));
  record.volume = options.volume.value_or(options_.default_volume);
  const Status saved = store_.Save(record);
  if (!saved.ok()) {
    return ErrorOf(SourceErrorKind::kServerError,
                   "The sandbox bank could not store the consent: " + saved.error().detail);
  }
  return ConsentOf(record, record.created_at_ms);
}

Consent SandboxSource::ConsentOf(const SandboxConsentRecord& record, int64_t now_ms) const {
  Consent consent;
  consent.consent_reference = record.consent_reference;
  consent.institution_id = record.institution_id;
  consent.caller_reference = record.caller_reference;
  consent.status = EffectiveStatus(record, now_ms);
  consent.auth_url = options_.consent_page_url + record.consent_reference;
  consent.max_historical_days = record.max_historical_days;
  consent.access_valid_for_days = record.access_valid_for_days;
  consent.created_at = TimestampOrEpoch(record.created_at_ms);
  if (!record.linked_at_ms) return consent;
  consent.linked_at = TimestampOrEpoch(*record.linked_at_ms);
  consent.expires_at = TimestampOrEpoch(ExpiresAtMs(record));
  for (int32_t index = 0; index < record.account_count; ++index) {
    consent.account_references.push_back(
        AccountReferenceOf(record.consent_reference, static_cast<size_t>(index)));
  }
  return consent;
}

SourceResult<Consent> SandboxSource::GetConsent(const SourceContext& context,
                                                std::string_view consent_reference) {
  if (std::optional<SourceError> fault = TakeFault(consent_reference, "")) {
    return *std::move(fault);
  }
  SourceResult<SandboxConsentRecord> record = LoadRecord(consent_reference);
  if (!record.ok()) return record.error();
  return ConsentOf(record.value(), context.clock.NowMilliseconds());
}

SourceResult<std::monostate> SandboxSource::DeleteConsent(const SourceContext& /*context*/,
                                                          std::string_view consent_reference) {
  if (std::optional<SourceError> fault = TakeFault(consent_reference, "")) {
    return *std::move(fault);
  }
  const std::lock_guard lock(transition_mutex_);
  SourceResult<SandboxConsentRecord> record = LoadRecord(consent_reference);
  if (!record.ok()) return record.error();
  const Status erased = store_.Erase(consent_reference);
  if (!erased.ok()) {
    return ErrorOf(SourceErrorKind::kServerError,
                   "The sandbox bank could not delete the consent: " + erased.error().detail);
  }
  const std::lock_guard fault_lock(fault_mutex_);
  std::erase_if(fault_plans_, [consent_reference](const auto& entry) {
    return entry.first.first == consent_reference;
  });
  return std::monostate{};
}

SourceResult<Consent> SandboxSource::Transition(const SourceContext& context,
                                                std::string_view consent_reference,
                                                ConsentStatus target) {
  const std::lock_guard lock(transition_mutex_);
  SourceResult<SandboxConsentRecord> loaded = LoadRecord(consent_reference);
  if (!loaded.ok()) return loaded.error();
  SandboxConsentRecord& record = loaded.value();
  const int64_t now_ms = context.clock.NowMilliseconds();
  const ConsentStatus current = EffectiveStatus(record, now_ms);
  if (!TransitionAllowed(current, target)) {
    return ErrorOf(SourceErrorKind::kInvalidRequest,
                   "Requisition " + record.consent_reference + " cannot go from " +
                       std::string(ConsentStatusCode(current)) + " to " +
                       std::string(ConsentStatusCode(target)) + ".");
  }
  if (current == target) return ConsentOf(record, now_ms);
  record.status = target;
  if (target == ConsentStatus::kLinked) record.linked_at_ms = now_ms;
  const Status saved = store_.Save(record);
  if (!saved.ok()) {
    return ErrorOf(SourceErrorKind::kServerError,
                   "The sandbox bank could not store the consent: " + saved.error().detail);
  }
  return ConsentOf(record, now_ms);
}

SourceResult<Consent> SandboxSource::OpenConsentLink(const SourceContext& context,
                                                     std::string_view consent_reference) {
  return Transition(context, consent_reference, ConsentStatus::kUndergoingAuthentication);
}

SourceResult<Consent> SandboxSource::ApproveConsent(const SourceContext& context,
                                                    std::string_view consent_reference) {
  return Transition(context, consent_reference, ConsentStatus::kLinked);
}

SourceResult<Consent> SandboxSource::RejectConsent(const SourceContext& context,
                                                   std::string_view consent_reference) {
  return Transition(context, consent_reference, ConsentStatus::kRejected);
}

SourceResult<Consent> SandboxSource::SuspendConsent(const SourceContext& context,
                                                    std::string_view consent_reference) {
  return Transition(context, consent_reference, ConsentStatus::kSuspended);
}

SourceResult<std::vector<std::string>> SandboxSource::ListAccounts(
    const SourceContext& context, std::string_view consent_reference) {
  if (std::optional<SourceError> fault = TakeFault(consent_reference, "")) {
    return *std::move(fault);
  }
  SourceResult<SandboxConsentRecord> record = LoadReadableRecord(context, consent_reference);
  if (!record.ok()) return record.error();
  return ConsentOf(record.value(), context.clock.NowMilliseconds()).account_references;
}

SourceResult<Household> SandboxSource::HouseholdOf(std::string_view consent_reference) {
  SourceResult<SandboxConsentRecord> record = LoadRecord(consent_reference);
  if (!record.ok()) return record.error();
  return HouseholdOfRecord(record.value());
}

SourceResult<Household> SandboxSource::HouseholdOfRecord(const SandboxConsentRecord& record) {
  const BankProfile* bank = FindSandboxBankProfile(record.institution_id);
  const bool valid = bank != nullptr && record.account_count >= 1 &&
                     record.account_count <= kAccountsPerConsentMax && IsValidVolume(record.volume);
  if (!valid) {
    return ErrorOf(SourceErrorKind::kServerError,
                   "The sandbox bank holds an unusable record for requisition " +
                       record.consent_reference + ".");
  }
  return MakeHousehold(*bank, record.seed, record.consent_reference, record.account_count,
                       record.volume);
}

SourceResult<SandboxSource::LoadedAccount> SandboxSource::LoadAccount(const SourceContext& context,
                                                                      const AccountKey& account) {
  if (std::optional<SourceError> fault =
          TakeFault(account.consent_reference, account.account_reference)) {
    return *std::move(fault);
  }
  SourceResult<SandboxConsentRecord> record =
      LoadReadableRecord(context, account.consent_reference);
  if (!record.ok()) return record.error();
  SourceResult<Household> household = HouseholdOfRecord(record.value());
  if (!household.ok()) return household.error();
  const std::vector<SandboxAccount>& accounts = household.value().accounts;
  for (size_t index = 0; index < accounts.size(); ++index) {
    if (accounts[index].reference != account.account_reference) continue;
    return LoadedAccount{std::move(record.value()), std::move(household.value()), index};
  }
  return ErrorOf(SourceErrorKind::kAccountNotFound, "Account " + account.account_reference +
                                                        " not found in requisition " +
                                                        account.consent_reference + ".");
}

SourceResult<AccountDetails> SandboxSource::GetAccountDetails(const SourceContext& context,
                                                              const AccountKey& account) {
  SourceResult<LoadedAccount> loaded = LoadAccount(context, account);
  if (!loaded.ok()) return loaded.error();
  const Household& household = loaded.value().household;
  const SandboxAccount& sandbox_account = household.accounts[loaded.value().index];
  AccountDetails details;
  details.account_reference = sandbox_account.reference;
  details.iban = sandbox_account.iban;
  details.bban = sandbox_account.bban;
  details.name = sandbox_account.name;
  details.owner_name = household.owner_name;
  details.currency = sandbox_account.currency;
  details.product = sandbox_account.product;
  details.cash_account_type = sandbox_account.cash_account_type;
  return details;
}

SourceResult<std::vector<Balance>> SandboxSource::GetBalances(const SourceContext& context,
                                                              const AccountKey& account) {
  SourceResult<LoadedAccount> loaded = LoadAccount(context, account);
  if (!loaded.ok()) return loaded.error();
  const Household& household = loaded.value().household;
  const size_t index = loaded.value().index;
  const int64_t now_ms = context.clock.NowMilliseconds();
  const BalanceTotals totals = ComputeBalanceTotals(household, index, now_ms);
  const std::string& currency = household.accounts[index].currency;
  const int64_t today = TodayOf(now_ms);
  const std::optional<domain::Date> today_date = domain::Date::FromDaysSinceEpoch(today);
  const std::optional<domain::Date> yesterday = domain::Date::FromDaysSinceEpoch(today - 1);
  const int64_t available = totals.interim_booked_minor + totals.pending_minor;
  std::vector<Balance> balances;
  balances.push_back(
      {BalanceType::kClosingBooked, totals.closing_booked_minor, currency, yesterday});
  if (household.bank->reports_expected_balance) {
    balances.push_back({BalanceType::kExpected, available, currency, today_date});
    return balances;
  }
  balances.push_back({BalanceType::kInterimAvailable, available, currency, today_date});
  balances.push_back(
      {BalanceType::kInterimBooked, totals.interim_booked_minor, currency, today_date});
  return balances;
}

SourceResult<AccountTransactions> SandboxSource::GetTransactions(const SourceContext& context,
                                                                 const AccountKey& account,
                                                                 const TransactionQuery& query) {
  SourceResult<LoadedAccount> loaded = LoadAccount(context, account);
  if (!loaded.ok()) return loaded.error();
  const int64_t now_ms = context.clock.NowMilliseconds();
  const int64_t today = TodayOf(now_ms);
  const int64_t requested_from = query.date_from.days_since_epoch();
  const int64_t requested_to = query.date_to ? query.date_to->days_since_epoch() : today;
  if (requested_from > requested_to) {
    return ErrorOf(SourceErrorKind::kInvalidRequest, "date_from is after date_to.");
  }
  const int64_t earliest = today - loaded.value().record.max_historical_days;
  const int64_t from_day = std::max(requested_from, earliest);
  const int64_t to_day = std::min(requested_to, today);
  AccountTransactions transactions;
  if (from_day > to_day) return transactions;
  const Household& household = loaded.value().household;
  CollectTransactions(household, loaded.value().index, from_day, to_day, now_ms,
                      household.bank->supports_pending_transactions, transactions);
  return transactions;
}

void SandboxSource::SetFaultPlan(std::string_view consent_reference,
                                 std::string_view account_reference, FaultPlan plan) {
  const std::lock_guard lock(fault_mutex_);
  FaultKey key{std::string(consent_reference), std::string(account_reference)};
  if (plan.empty()) {
    fault_plans_.erase(key);
    return;
  }
  fault_plans_.insert_or_assign(std::move(key), std::move(plan));
}

Status SandboxSource::SetFaultPlanFromSpec(std::string_view consent_reference,
                                           std::string_view account_reference,
                                           std::string_view spec) {
  Result<FaultPlan> plan = FaultPlan::Parse(spec);
  if (!plan.ok()) return plan.error();
  SetFaultPlan(consent_reference, account_reference, std::move(plan.value()));
  return Status::Ok();
}

std::string SandboxSource::FaultPlanSpec(std::string_view consent_reference,
                                         std::string_view account_reference) const {
  const std::lock_guard lock(fault_mutex_);
  const auto found =
      fault_plans_.find(FaultKey{std::string(consent_reference), std::string(account_reference)});
  return found == fault_plans_.end() ? std::string() : found->second.ToSpec();
}

void SandboxSource::ClearFaultPlans() {
  const std::lock_guard lock(fault_mutex_);
  fault_plans_.clear();
}

}  // namespace finsync::sources::sandbox
