#include "sources/source.h"

#include <gtest/gtest.h>

#include <string_view>

namespace finsync::sources {
namespace {

TEST(SourceTest, ConsentStatusCodesRoundTrip) {
  // Proves every requisition status has its GoCardless code, parses back, and that exactly
  // RJ, SU and EX are final.
  struct Case {
    ConsentStatus status;
    std::string_view code;
    bool final;
  };
  const Case cases[] = {
      {ConsentStatus::kCreated, "CR", false},
      {ConsentStatus::kGivingConsent, "GC", false},
      {ConsentStatus::kUndergoingAuthentication, "UA", false},
      {ConsentStatus::kRejected, "RJ", true},
      {ConsentStatus::kSelectingAccounts, "SA", false},
      {ConsentStatus::kGrantingAccess, "GA", false},
      {ConsentStatus::kLinked, "LN", false},
      {ConsentStatus::kSuspended, "SU", true},
      {ConsentStatus::kExpired, "EX", true},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(ConsentStatusCode(test_case.status), test_case.code);
    EXPECT_EQ(ParseConsentStatusCode(test_case.code), test_case.status);
    EXPECT_EQ(IsFinal(test_case.status), test_case.final) << test_case.code;
  }
  EXPECT_FALSE(ParseConsentStatusCode("ln").has_value());
  EXPECT_FALSE(ParseConsentStatusCode("").has_value());
}

TEST(SourceTest, BalanceTypesUseBerlinGroupNames) {
  // Proves balance types map to and from the names GoCardless reports.
  struct Case {
    BalanceType type;
    std::string_view name;
  };
  const Case cases[] = {{BalanceType::kClosingBooked, "closingBooked"},
                        {BalanceType::kExpected, "expected"},
                        {BalanceType::kInterimAvailable, "interimAvailable"},
                        {BalanceType::kInterimBooked, "interimBooked"},
                        {BalanceType::kOpeningBooked, "openingBooked"},
                        {BalanceType::kForwardAvailable, "forwardAvailable"},
                        {BalanceType::kNonInvoiced, "nonInvoiced"}};
  for (const Case& test_case : cases) {
    EXPECT_EQ(BalanceTypeName(test_case.type), test_case.name);
    EXPECT_EQ(ParseBalanceTypeName(test_case.name), test_case.type);
  }
  EXPECT_FALSE(ParseBalanceTypeName("ClosingBooked").has_value());
}

TEST(SourceTest, ErrorKindsHaveNamesAndRetryPolicy) {
  // Proves each error kind's stable name and whether a scheduler retries it on its own.
  struct Case {
    SourceErrorKind kind;
    std::string_view name;
    bool retryable;
  };
  const Case cases[] = {
      {SourceErrorKind::kTimeout, "timeout", true},
      {SourceErrorKind::kRateLimited, "rate_limited", true},
      {SourceErrorKind::kServerError, "server_error", true},
      {SourceErrorKind::kConsentExpired, "consent_expired", false},
      {SourceErrorKind::kConsentNotFound, "consent_not_found", false},
      {SourceErrorKind::kAccountNotFound, "account_not_found", false},
      {SourceErrorKind::kInvalidRequest, "invalid_request", false},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(SourceErrorKindName(test_case.kind), test_case.name);
    EXPECT_EQ(IsRetryable(test_case.kind), test_case.retryable) << test_case.name;
  }
}

TEST(SourceTest, SourceResultHoldsAValueOrAnError) {
  // Proves the result type keeps the value or the error it was built from.
  const SourceResult<int> value(7);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), 7);
  const SourceResult<int> error(SourceError{SourceErrorKind::kRateLimited, "slow down", 30});
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().kind, SourceErrorKind::kRateLimited);
  EXPECT_EQ(error.error().retry_after_seconds, 30);
}

}  // namespace
}  // namespace finsync::sources
