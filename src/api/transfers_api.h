// Transfer links, transfer logs, transfer statistics and webhook destinations.
#pragma once

#include "api/api.h"
#include "delivery/delivery_service.h"
#include "delivery/webhook_destination.h"

namespace finsync::api {

void RegisterTransferRoutes(http::Router& router, ApiContext& context,
                            delivery::DeliveryService& delivery);
void RegisterWebhookDestinationRoutes(http::Router& router, ApiContext& context,
                                      delivery::WebhookDestinations& destinations);

}  // namespace finsync::api
