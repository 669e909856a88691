#include "sources/source.h"

#include <array>

namespace finsync::sources {
namespace {

struct ConsentStatusEntry {
  ConsentStatus status;
  std::string_view code;
};

constexpr std::array<ConsentStatusEntry, 9> kConsentStatusCodes = {{
    {ConsentStatus::kCreated, "CR"},
    {ConsentStatus::kGivingConsent, "GC"},
    {ConsentStatus::kUndergoingAuthentication, "UA"},
    {ConsentStatus::kRejected, "RJ"},
    {ConsentStatus::kSelectingAccounts, "SA"},
    {ConsentStatus::kGrantingAccess, "GA"},
    {ConsentStatus::kLinked, "LN"},
    {ConsentStatus::kSuspended, "SU"},
    {ConsentStatus::kExpired, "EX"},
}};

struct BalanceTypeEntry {
  BalanceType type;
  std::string_view name;
};

constexpr std::array<BalanceTypeEntry, 7> kBalanceTypeNames = {{
    {BalanceType::kClosingBooked, "closingBooked"},
    {BalanceType::kExpected, "expected"},
    {BalanceType::kInterimAvailable, "interimAvailable"},
    {BalanceType::kInterimBooked, "interimBooked"},
    {BalanceType::kOpeningBooked, "openingBooked"},
    {BalanceType::kForwardAvailable, "forwardAvailable"},
    {BalanceType::kNonInvoiced, "nonInvoiced"},
}};

}  // namespace

std::string_view SourceErrorKindName(SourceErrorKind kind) {
  switch (kind) {
    case SourceErrorKind::kTimeout:
      return "timeout";
    case SourceErrorKind::kRateLimited:
      return "rate_limited";
    case SourceErrorKind::kServerError:
      return "server_error";
    case SourceErrorKind::kConsentExpired:
      return "consent_expired";
    case SourceErrorKind::kConsentNotFound:
      return "consent_not_found";
    case SourceErrorKind::kAccountNotFound:
      return "account_not_found";
    case SourceErrorKind::kInvalidRequest:
      return "invalid_request";
  }
  return "server_error";
}

bool IsRetryable(SourceErrorKind kind) {
  return kind == SourceErrorKind::kTimeout || kind == SourceErrorKind::kRateLimited ||
         kind == SourceErrorKind::kServerError;
}

std::string_view ConsentStatusCode(ConsentStatus status) {
  for (const ConsentStatusEntry& entry : kConsentStatusCodes) {
    if (entry.status == status) return entry.code;
  }
  return "CR";
}

std::optional<ConsentStatus> ParseConsentStatusCode(std::string_view code) {
  for (const ConsentStatusEntry& entry : kConsentStatusCodes) {
    if (entry.code == code) return entry.status;
  }
  return std::nullopt;
}

bool IsFinal(ConsentStatus status) {
  return status == ConsentStatus::kRejected || status == ConsentStatus::kSuspended ||
         status == ConsentStatus::kExpired;
}

std::string_view BalanceTypeName(BalanceType type) {
  for (const BalanceTypeEntry& entry : kBalanceTypeNames) {
    if (entry.type == type) return entry.name;
  }
  return "closingBooked";
}

std::optional<BalanceType> ParseBalanceTypeName(std::string_view name) {
  for (const BalanceTypeEntry& entry : kBalanceTypeNames) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

}  // namespace finsync::sources
