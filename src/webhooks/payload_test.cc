#include "webhooks/payload.h"

#include <gtest/gtest.h>

namespace finsync::webhooks {
namespace {

TEST(WebhookPayloadTest, TheEnvelopeWrapsTheDataAsIs) {
  EXPECT_EQ(RenderEnvelope("balance.updated", "evt_1", 7, 1'700'000'000'123, R"({"a":1})"),
            R"({"event_type":"balance.updated","event_id":"evt_1","webhook_endpoint_id":7,)"
            R"("created_at":"2023-11-14T22:13:20.123Z","data":{"a":1}})");
}

TEST(WebhookPayloadTest, StripsIdentifiersAtAnyDepth) {
  struct Case {
    const char* input;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"iban":"DE89370400440532013000","x":1})", R"({"iban":null,"x":1})"},
      {R"({"a":{"BBAN":"123","Owner_Name":"Ann","ownerName":"Ann"}})",
       R"({"a":{"BBAN":null,"Owner_Name":null,"ownerName":null}})"},
      {R"({"list":[{"masked-pan":"1234","msisdn":"+49","account_number":"9"}]})",
       R"({"list":[{"masked-pan":null,"msisdn":null,"account_number":null}]})"},
      {R"({"raw":{"debtorAccount":{"iban":"X"}},"bank_account_id":4})",
       R"({"raw":null,"bank_account_id":4})"},
      {R"({"bank_account_id":4,"count":2,"transaction_ids":[1,2]})",
       R"({"bank_account_id":4,"count":2,"transaction_ids":[1,2]})"},
      {R"([1,2])", R"({})"},
      {R"(not json)", R"({})"},
  };
  for (const Case& c : cases) EXPECT_EQ(StripSensitiveIdentifiers(c.input), c.expected) << c.input;
}

TEST(WebhookPayloadTest, RemovesTheAccountHoldersNameButKeepsTheCounterparty) {
  // Money going out: the debtor is the holder. Money coming in: the creditor is.
  std::string out = StripSensitiveIdentifiers(
      R"({"transactions":[{"amount_minor":-500,"creditor":{"name":"Shop","iban":"C1","account":null},)"
      R"("debtor":{"name":"Holder","iban":"D1","account":"7"}},)"
      R"({"amount_minor":900,"creditor":{"name":"Holder","iban":"C2","account":null},)"
      R"("debtor":{"name":"Employer","iban":"D2","account":null}}]})");
  EXPECT_EQ(out, R"({"transactions":[{"amount_minor":-500,"creditor":{"name":"Shop","iban":null,)"
                 R"("account":null},"debtor":{"name":null,"iban":null,"account":null}},)"
                 R"({"amount_minor":900,"creditor":{"name":null,"iban":null,"account":null},)"
                 R"("debtor":{"name":"Employer","iban":null,"account":null}}]})");
}

}  // namespace
}  // namespace finsync::webhooks
