// Rules, rule conditions, rule actions and rule logs (Synci's Rules, RuleConditions,
// RuleActions and RuleLogs groups): CRUD, attachments to bank accounts, banks, transfer links
// and destinations in order, undo, preview and apply. Handlers only translate; the business
// functions are rules::RuleService.
#pragma once

#include "api/api.h"
#include "rules/rule_service.h"

namespace finsync::api {

void RegisterRuleRoutes(http::Router& router, ApiContext& context, rules::RuleService& service);

}  // namespace finsync::api
