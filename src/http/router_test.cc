#include "http/router.h"

#include <gtest/gtest.h>

namespace finsync::http {
namespace {

// Proves that routing picks literals over parameters, extracts parameters, and tells an
// unknown path (404) from a known path with the wrong method (405 + Allow).
TEST(RouterTest, MatchesTable) {
  Router router;
  auto noop = [](Request&, Response&) {};
  router.Add("GET", "/api/v1/tokens", noop);
  router.Add("POST", "/api/v1/tokens", noop);
  router.Add("DELETE", "/api/v1/tokens/{id}", noop);
  router.Add("GET", "/api/v1/tokens/current", noop);
  router.Add("GET", "/api/v1/banks/{bank}/accounts/{account}", noop);

  struct Case {
    std::string method, path;
    RouteMatch::Outcome outcome;
    std::string pattern, allow;
    std::vector<std::pair<std::string, std::string>> params;
  };
  using O = RouteMatch::Outcome;
  const std::vector<Case> cases = {
      {"GET", "/api/v1/tokens", O::kFound, "/api/v1/tokens", "", {}},
      {"GET", "/api/v1/tokens/", O::kFound, "/api/v1/tokens", "", {}},
      {"HEAD", "/api/v1/tokens", O::kFound, "/api/v1/tokens", "", {}},
      {"POST", "/api/v1/tokens", O::kFound, "/api/v1/tokens", "", {}},
      {"PUT", "/api/v1/tokens", O::kMethodNotAllowed, "/api/v1/tokens", "GET, POST", {}},
      {"DELETE", "/api/v1/tokens/42", O::kFound, "/api/v1/tokens/{id}", "", {{"id", "42"}}},
      {"GET", "/api/v1/tokens/42", O::kMethodNotAllowed, "/api/v1/tokens/{id}", "DELETE", {}},
      {"GET", "/api/v1/tokens/current", O::kFound, "/api/v1/tokens/current", "", {}},
      {"GET",
       "/api/v1/banks/7/accounts/9",
       O::kFound,
       "/api/v1/banks/{bank}/accounts/{account}",
       "",
       {{"bank", "7"}, {"account", "9"}}},
      {"GET", "/api/v1/banks/7", O::kNotFound, "", "", {}},
      {"GET", "/nope", O::kNotFound, "", "", {}},
      {"GET", "/", O::kNotFound, "", "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    RouteMatch match = router.Match(c.method, c.path);
    EXPECT_EQ(match.outcome, c.outcome);
    EXPECT_EQ(match.pattern, c.pattern);
    EXPECT_EQ(match.allow, c.allow);
    if (c.outcome == O::kFound) {
      EXPECT_EQ(match.params, c.params);
    }
  }
}

// Proves that registering one method and pattern twice is refused loudly.
TEST(RouterTest, DuplicateRouteIsAProgrammerError) {
  Router router;
  router.Add("GET", "/a", [](Request&, Response&) {});
  EXPECT_THROW(router.Add("GET", "/a", [](Request&, Response&) {}), std::logic_error);
}

// Proves percent-decoding handles escapes, '+' only in queries, and malformed escapes.
TEST(MessageTest, PercentDecodeTable) {
  struct Case {
    std::string text;
    bool plus_is_space;
    std::optional<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"a%20b", false, "a b"},     {"a+b", true, "a b"},
      {"a+b", false, "a+b"},       {"%41%62", false, "Ab"},
      {"%4", false, std::nullopt}, {"%zz", false, std::nullopt},
      {"%", false, std::nullopt},  {"", false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(PercentDecode(c.text, c.plus_is_space), c.expected);
  }
}

// Proves query parameters are split, decoded and kept in order with repeats.
TEST(MessageTest, QueryParams) {
  Request request;
  request.query_string = "filter%5Bstatus%5D=BOOKED&limit=10&&x&limit=20&q=a+b";
  auto params = request.QueryParams();
  std::vector<std::pair<std::string, std::string>> expected = {
      {"filter[status]", "BOOKED"}, {"limit", "10"}, {"x", ""}, {"limit", "20"}, {"q", "a b"}};
  EXPECT_EQ(params, expected);
  EXPECT_EQ(request.Query("limit"), "10");
  EXPECT_EQ(request.Query("missing"), std::nullopt);
}

}  // namespace
}  // namespace finsync::http
