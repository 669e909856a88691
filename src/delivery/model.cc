#include "delivery/model.h"

#include <array>

namespace finsync::delivery {

namespace {

constexpr std::array<std::string_view, 3> kDestinationTypeNames = {"YNAB", "LUNCH_MONEY",
                                                                   "WEBHOOK"};
constexpr std::array<std::string_view, 6> kStatusNames = {"SCHEDULED", "TRANSFERRED", "UPDATED",
                                                          "FAILED",    "SKIPPED",     "UNDONE"};

}  // namespace

std::string_view DestinationTypeName(DestinationType type) {
  return kDestinationTypeNames[static_cast<size_t>(type)];
}

std::optional<DestinationType> ParseDestinationType(std::string_view name) {
  for (size_t index = 0; index < kDestinationTypeNames.size(); ++index) {
    if (kDestinationTypeNames[index] == name) return static_cast<DestinationType>(index);
  }
  return std::nullopt;
}

rules::Destination RulesDestination(DestinationType type) {
  switch (type) {
    case DestinationType::kYnab:
      return rules::Destination::kYnab;
    case DestinationType::kLunchMoney:
      return rules::Destination::kLunchMoney;
    case DestinationType::kWebhook:
      return rules::Destination::kWebhook;
  }
  return rules::Destination::kWebhook;
}

std::string_view TransferStatusName(TransferStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

std::optional<TransferStatus> ParseTransferStatus(std::string_view name) {
  for (size_t index = 0; index < kStatusNames.size(); ++index) {
    if (kStatusNames[index] == name) return static_cast<TransferStatus>(index);
  }
  return std::nullopt;
}

}  // namespace finsync::delivery
