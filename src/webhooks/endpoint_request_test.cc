#include "webhooks/endpoint_request.h"

#include <gtest/gtest.h>

namespace finsync::webhooks {
namespace {

TEST(WebhookEndpointRequestTest, UrlRules) {
  struct Case {
    const char* url;
    bool allowed;
  };
  const Case cases[] = {
      {"https://example.com/hooks", true},
      {"HTTPS://Example.com", true},
      {"http://127.0.0.1:8080/x?y=1", true},  // Private addresses are refused at send time.
      {"https://[::1]:443/", true},
      {"https://user:pass@example.com/", true},
      {"ftp://example.com/", false},
      {"example.com/hooks", false},
      {"https:///path", false},
      {"https://example.com:0/", false},
      {"https://example.com:65536/", false},
      {"https://example.com:/", false},
      {"https://example.com:8a/", false},
      {"https://[::1/", false},
      {"https://example.com/#fragment", false},
      {"https://exa mple.com/", false},
      {"https://example.com/\x01", false},
  };
  for (const Case& c : cases) EXPECT_EQ(!UrlProblem(c.url).has_value(), c.allowed) << c.url;
  EXPECT_TRUE(UrlProblem("https://example.com/" + std::string(2048, 'a')).has_value());
}

TEST(WebhookEndpointRequestTest, ParsesEveryField) {
  auto change = ParseEndpointChange(
      R"({"url":"https://example.com","description":"d","events":["balance.updated"],)"
      R"("bank_account_ids":[3,4],"omit_sensitive_identifiers":true,"enabled":false})");
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(*change.value().url, "https://example.com");
  EXPECT_EQ(*change.value().description, "d");
  EXPECT_EQ(*change.value().event_types, std::vector<std::string>{"balance.updated"});
  EXPECT_EQ(*change.value().bank_account_ids, (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(*change.value().omit_sensitive_identifiers);
  EXPECT_FALSE(*change.value().enabled);
}

TEST(WebhookEndpointRequestTest, NullMeansAllAndAbsentMeansUnchanged) {
  auto change = ParseEndpointChange(R"({"events":null,"bank_account_ids":null})");
  ASSERT_TRUE(change.ok());
  EXPECT_FALSE(change.value().url.has_value());
  EXPECT_TRUE(change.value().event_types->empty());
  EXPECT_TRUE(change.value().bank_account_ids->empty());
}

TEST(WebhookEndpointRequestTest, NamesEveryWrongField) {
  auto change = ParseEndpointChange(
      R"({"url":5,"events":["balance.updated",7],"bank_account_ids":[0],"enabled":"yes",)"
      R"("event":[]})");
  ASSERT_FALSE(change.ok());
  std::vector<std::string> fields;
  for (const auto& error : change.error().field_errors) fields.push_back(error.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"event", "url", "events.1", "bank_account_ids.0",
                                              "enabled"}));
}

TEST(WebhookEndpointRequestTest, UnknownEventTypesAreNamedWithTheKnownOnes) {
  EndpointChange change;
  change.event_types = {"transactions.created", "transactions.deleted"};
  Error errors;
  ValidateEndpointChange(change, errors);
  ASSERT_EQ(errors.field_errors.size(), 1u);
  EXPECT_EQ(errors.field_errors[0].field, "events.1");
  EXPECT_NE(errors.field_errors[0].message.find("'transactions.deleted'"), std::string::npos);
  EXPECT_NE(errors.field_errors[0].message.find("balance.updated"), std::string::npos);
  EXPECT_FALSE(IsKnownEventType("webhook.test"));
  EXPECT_EQ(EventTypes().size(), 8u);
}

}  // namespace
}  // namespace finsync::webhooks
