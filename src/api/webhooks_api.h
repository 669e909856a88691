// Webhook endpoints and their deliveries (/api/v1/webhook-endpoints): create, list, get,
// update, delete, rotate secret, send a test event; list and inspect deliveries with every
// attempt, redeliver. Handlers only translate; the business functions are
// webhooks::WebhookService. A secret appears only in the answers of create and rotate-secret.
#pragma once

#include "api/api.h"
#include "webhooks/webhook_service.h"

namespace finsync::api {

void RegisterWebhookRoutes(http::Router& router, ApiContext& context,
                           webhooks::WebhookService& service);

}  // namespace finsync::api
