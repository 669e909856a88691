// Fuzzes the Lunch Money v1 client's reading of answers (delivery/lunchmoney/lunchmoney_client.h,
// namespace v1): whatever status, Retry-After and body Lunch Money (or something in between)
// sends, every parser answers a value or one of the documented errors, never a crash.
//
// Input layout: byte 0 picks the parser, byte 1 the HTTP status (from a table), byte 2 the
// length of a Retry-After value that follows; the rest is the body.
//
// Invariants checked, with checks that stay on in release builds:
// - ErrorFor answers an error for every non-2xx status; the error's code is one the client
//   documents, its detail names Lunch Money and holds no control characters, a 429 carries
//   retry_after_seconds in 1..86400 (and nothing else does), and a validation error names its
//   fields "lunch_money" or "transactions.<n>".
// - A parsed user, asset or transaction holds what the client promises: positive ids, exact
//   decimal amounts and balances, valid dates.
// - Truncation to Lunch Money's limits never exceeds the limit and keeps a prefix.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "delivery/lunchmoney/lunchmoney_client.h"
#include "domain/date.h"
#include "domain/money.h"

namespace {

namespace lm = finsync::delivery::lunchmoney;
using finsync::Error;
using finsync::ErrorCode;

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "lunchmoney_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

constexpr int kStatuses[] = {200, 201, 204, 400, 401, 403, 404, 409,
                             422, 429, 500, 502, 503, 302, 100, 0};

void CheckError(const Error& error) {
  Check(error.code == ErrorCode::kUnauthenticated || error.code == ErrorCode::kNotFound ||
            error.code == ErrorCode::kValidationFailed || error.code == ErrorCode::kConflict ||
            error.code == ErrorCode::kTooManyRequests || error.code == ErrorCode::kUnavailable,
        "error code is one the client documents");
  Check(error.detail.find("Lunch Money") != std::string::npos, "detail names Lunch Money");
  for (char c : error.detail) {
    Check(static_cast<unsigned char>(c) >= 0x20, "detail holds no control characters");
  }
  if (error.code == ErrorCode::kTooManyRequests) {
    Check(error.retry_after_seconds >= 1 && error.retry_after_seconds <= 86'400,
          "429 retry_after_seconds in 1..86400");
  } else {
    Check(error.retry_after_seconds == 0, "only 429 carries retry_after_seconds");
  }
  if (error.code == ErrorCode::kValidationFailed) {
    Check(!error.field_errors.empty(), "validation error names a field");
    for (const auto& field : error.field_errors) {
      Check(field.field == "lunch_money" || field.field.rfind("transactions.", 0) == 0,
            "validation field is lunch_money or transactions.<n>");
    }
  }
}

void CheckTransaction(const lm::Transaction& transaction) {
  Check(transaction.id > 0, "transaction id positive");
  Check(finsync::domain::ParseDate(transaction.date).ok(), "transaction date valid");
  Check(finsync::domain::ParseDecimalAmount(transaction.amount, 4).ok(),
        "transaction amount exact with at most 4 decimals");
  Check(!transaction.asset_id || *transaction.asset_id > 0, "asset id positive");
}

template <typename T>
void CheckResult(const finsync::Result<T>& result) {
  if (!result.ok()) CheckError(result.error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t parser = data[0] % 8;
  finsync::net::HttpResponse response;
  response.status = kStatuses[data[1] % (sizeof(kStatuses) / sizeof(kStatuses[0]))];
  size_t header_length = data[2] % 16;
  size_t offset = 3;
  if (header_length > size - offset) header_length = size - offset;
  if (header_length > 0) {
    response.headers.emplace_back(
        "retry-after", std::string(reinterpret_cast<const char*>(data + offset), header_length));
  }
  offset += header_length;
  response.body.assign(reinterpret_cast<const char*>(data + offset), size - offset);

  switch (parser) {
    case 0: {
      auto error = lm::v1::ErrorFor(response, "fuzzing");
      bool success = response.status >= 200 && response.status < 300;
      Check(success || error.has_value(), "every non-2xx status is an error");
      if (error) CheckError(*error);
      break;
    }
    case 1: {
      auto user = lm::v1::ParseUser(response);
      CheckResult(user);
      if (user.ok()) Check(user.value().user_id > 0, "user id positive");
      break;
    }
    case 2: {
      auto assets = lm::v1::ParseAssets(response);
      CheckResult(assets);
      if (!assets.ok()) break;
      for (const auto& asset : assets.value()) {
        Check(asset.id > 0, "asset id positive");
        Check(finsync::domain::ParseDecimalAmount(asset.balance, 4).ok(),
              "asset balance exact with at most 4 decimals");
      }
      break;
    }
    case 3: {
      auto ids = lm::v1::ParseInsertIds(response);
      CheckResult(ids);
      if (ids.ok()) {
        for (int64_t id : ids.value()) Check(id > 0, "inserted id positive");
      }
      break;
    }
    case 4: {
      auto transaction = lm::v1::ParseTransaction(response);
      CheckResult(transaction);
      if (transaction.ok()) {
        CheckTransaction(transaction.value());
        auto minor = lm::AmountMinor(transaction.value());
        if (!minor.ok()) Check(minor.error().code == ErrorCode::kValidationFailed, "amount");
      }
      break;
    }
    case 5: {
      auto page = lm::v1::ParseTransactionPage(response);
      CheckResult(page);
      if (page.ok()) {
        for (const auto& transaction : page.value().transactions) CheckTransaction(transaction);
      }
      break;
    }
    case 6: {
      auto updated = lm::v1::ParseUpdateAnswer(response);
      if (!updated.ok()) CheckError(updated.error());
      break;
    }
    default: {
      for (size_t limit : {lm::kExternalIdLengthMax, lm::kPayeeLengthMax, size_t{3}}) {
        std::string cut = lm::TruncateForLunchMoney(response.body, limit);
        Check(lm::LunchMoneyLength(cut) <= limit, "truncation respects the limit");
        Check(response.body.compare(0, cut.size(), cut) == 0, "truncation keeps a prefix");
        if (lm::LunchMoneyLength(response.body) <= limit) {
          Check(cut == response.body, "text within the limit is kept whole");
        }
      }
      break;
    }
  }
  return 0;
}
