// The vocabulary of webhook endpoints that needs no store: the event types, what a create or
// update request asks for, and the checks on it. Parsing the request body lives here (not in
// the API layer) so the fuzz target can reach it without the services.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace finsync::webhooks {

// Every type an endpoint can subscribe to; webhook.test is sent only by the test route.
std::span<const std::string_view> EventTypes();
inline constexpr std::string_view kTestEventType = "webhook.test";
bool IsKnownEventType(std::string_view type);

inline constexpr size_t kUrlLengthMax = 2048;
inline constexpr size_t kDescriptionLengthMax = 500;

// A create (absent fields take defaults) or a partial update (absent fields stay). An empty
// event_types or bank_account_ids list means "all".
struct EndpointChange {
  std::optional<std::string> url{};
  std::optional<std::string> description{};
  std::optional<std::vector<std::string>> event_types{};
  std::optional<std::vector<int64_t>> bank_account_ids{};
  std::optional<bool> omit_sensitive_identifiers{};
  std::optional<bool> enabled{};
};

// Reads a request body: {"url", "description", "events", "bank_account_ids",
// "omit_sensitive_identifiers", "enabled"}; null means "the default" (empty description, all
// events, all accounts). Errors: kMalformedJson / kBadRequest from the JSON parser,
// kValidationFailed naming each wrong field (unknown fields too: a misspelt "event" silently
// ignored would subscribe to everything).
Result<EndpointChange> ParseEndpointChange(std::string_view body);

// Adds a field error for every value the change sets that is not allowed: url (see
// UrlProblem), description (at most 500 bytes), events.N (unknown type, naming the known
// ones). Bank account ownership needs the store and is checked by the service.
void ValidateEndpointChange(const EndpointChange& change, Error& errors);

// Why `url` cannot be a webhook URL, or nullopt when it can: absolute http(s), a host, an
// optional numeric port, no fragment, no whitespace or control characters, at most 2048 bytes.
// Whether the host is a private address is decided at send time, after DNS resolution.
std::optional<std::string> UrlProblem(std::string_view url);

}  // namespace finsync::webhooks
