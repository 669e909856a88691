// Fuzzes the parsers of YNAB's answers (delivery/ynab/ynab_client.h): any byte string, read as
// any answer type or as an error answer with any status, must yield a value or an error with a
// detail naming YNAB, never a crash; error answers always map to a 4xx/5xx-like code.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/ynab/ynab_client.h"

namespace ynab = finsync::delivery::ynab;

namespace {

template <typename T>
void Check(const finsync::Result<T>& result) {
  if (result.ok()) return;
  assert(result.error().code == finsync::ErrorCode::kUnavailable);
  assert(result.error().detail.find("YNAB") != std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0:
      Check(ynab::parse::User(body));
      break;
    case 1:
      Check(ynab::parse::Budgets(body));
      break;
    case 2:
      Check(ynab::parse::Accounts(body));
      break;
    case 3:
      Check(ynab::parse::Payees(body));
      break;
    case 4:
      Check(ynab::parse::Categories(body));
      break;
    case 5:
      Check(ynab::parse::Transactions(body));
      break;
    case 6:
      Check(ynab::parse::SaveTransactions(body));
      break;
    case 7:
      Check(ynab::parse::OneTransaction(body));
      break;
    default: {
      finsync::net::HttpResponse response;
      response.status = 400 + data[0] % 200;
      response.body = std::string(body);
      response.headers.emplace_back("retry-after", std::string(body.substr(0, 8)));
      const finsync::Error error = ynab::parse::ErrorFromAnswer(response);
      assert(error.detail.find("YNAB") != std::string::npos);
      assert(error.code != finsync::ErrorCode::kTooManyRequests ||
             (error.retry_after_seconds >= 1 && error.retry_after_seconds <= 86'400));
      break;
    }
  }
  return 0;
}
