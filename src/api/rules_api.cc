#include "api/rules_api.h"

#include "api/fields.h"

#include <charconv>
#include <utility>

#include "common/json.h"

namespace finsync::api {

namespace {

using http::Request;
using http::Response;
using identity::Principal;
using rules::StoredRule;

constexpr int64_t kLogLimitDefault = 50;
constexpr int64_t kLogLimitMax = 500;
constexpr int64_t kPreviewLimitDefault = 100;

// Condition and action values are text; integers and booleans are taken as their JSON text,
// and a fractional number is refused because a double cannot carry an exact amount.
std::optional<std::string> OptionalValue(const rapidjson::Value& object, const std::string& path,
                                         Error& errors) {
  const rapidjson::Value* value = Member(object, "value");
  if (value == nullptr) return std::nullopt;
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  if (value->IsInt64()) return std::to_string(value->GetInt64());
  if (value->IsBool()) return std::string(value->GetBool() ? "true" : "false");
  errors.field_errors.push_back(
      {path, "must be a string (send amounts as decimal text, e.g. \"-42.50\")"});
  return std::nullopt;
}

template <typename Enum, typename AllFunction, typename NameFunction>
std::string EnumList(AllFunction all, NameFunction name) {
  std::string list;
  for (Enum value : all()) {
    if (!list.empty()) list += ", ";
    list += name(value);
  }
  return list;
}

std::optional<rules::Operator> ParseOperatorField(const rapidjson::Value& object,
                                                  const std::string& path, Error& errors) {
  auto text = OptionalString(object, "operator", path, errors);
  if (!text) return std::nullopt;
  auto parsed = rules::ParseOperator(*text);
  if (!parsed) {
    errors.field_errors.push_back(
        {path,
         "must be one of " + EnumList<rules::Operator>(rules::AllOperators, rules::OperatorName)});
  }
  return parsed;
}

std::optional<rules::ActionType> ParseActionTypeField(const rapidjson::Value& object,
                                                      const std::string& path, Error& errors) {
  auto text = OptionalString(object, "action_type", path, errors);
  if (!text) return std::nullopt;
  auto parsed = rules::ParseActionType(*text);
  if (!parsed) {
    errors.field_errors.push_back(
        {path, "must be one of " +
                   EnumList<rules::ActionType>(rules::AllActionTypes, rules::ActionTypeName)});
  }
  return parsed;
}

std::optional<rules::RuleType> ParseRuleTypeField(const rapidjson::Value& object, Error& errors) {
  auto text = OptionalString(object, "type", "type", errors);
  if (!text) return std::nullopt;
  auto parsed = rules::ParseRuleType(*text);
  if (!parsed) {
    errors.field_errors.push_back(
        {"type",
         "must be one of " + EnumList<rules::RuleType>(rules::AllRuleTypes, rules::RuleTypeName)});
  }
  return parsed;
}

std::string Key(std::string_view list, size_t index, std::string_view field) {
  return std::string(list) + "." + std::to_string(index) + "." + std::string(field);
}

// Calls `item` for each object of the array member `name`; nullopt when absent.
template <typename ItemFunction>
bool ForEachItem(const rapidjson::Value& root, const char* name, Error& errors, ItemFunction item) {
  const rapidjson::Value* list = Member(root, name);
  if (list == nullptr) return false;
  if (!list->IsArray()) {
    errors.field_errors.push_back({name, "must be an array"});
    return false;
  }
  for (rapidjson::SizeType index = 0; index < list->Size(); ++index) {
    const rapidjson::Value& value = (*list)[index];
    if (!value.IsObject()) {
      errors.field_errors.push_back(
          {std::string(name) + "." + std::to_string(index), "must be an object"});
      continue;
    }
    item(value, static_cast<size_t>(index));
  }
  return true;
}

rules::ConditionPatch ParseConditionFields(const rapidjson::Value& object, std::string_view list,
                                           size_t index, Error& errors) {
  auto key = [&](std::string_view field) {
    return list.empty() ? std::string(field) : Key(list, index, field);
  };
  rules::ConditionPatch patch;
  patch.field_name = OptionalString(object, "field_name", key("field_name"), errors);
  patch.operation = ParseOperatorField(object, key("operator"), errors);
  patch.value = OptionalValue(object, key("value"), errors);
  patch.case_sensitive = OptionalBool(object, "case_sensitive", key("case_sensitive"), errors);
  return patch;
}

rules::ActionPatch ParseActionFields(const rapidjson::Value& object, std::string_view list,
                                     size_t index, Error& errors) {
  auto key = [&](std::string_view field) {
    return list.empty() ? std::string(field) : Key(list, index, field);
  };
  rules::ActionPatch patch;
  patch.order = OptionalInteger(object, "order", key("order"), errors);
  patch.type = ParseActionTypeField(object, key("action_type"), errors);
  patch.field_name = OptionalString(object, "field_name", key("field_name"), errors);
  patch.value = OptionalValue(object, key("value"), errors);
  return patch;
}

std::vector<rules::Condition> ParseConditions(const rapidjson::Value& root, bool& present,
                                              Error& errors) {
  std::vector<rules::Condition> conditions;
  present =
      ForEachItem(root, "conditions", errors, [&](const rapidjson::Value& item, size_t index) {
        rules::ConditionPatch patch = ParseConditionFields(item, "conditions", index, errors);
        if (!patch.operation && !Member(item, "operator")) {
          errors.field_errors.push_back({Key("conditions", index, "operator"), "is required"});
        }
        rules::Condition condition;
        condition.field_name = patch.field_name.value_or("");
        condition.operation = patch.operation.value_or(rules::Operator::kEquals);
        condition.value = patch.value.value_or("");
        condition.case_sensitive = patch.case_sensitive.value_or(false);
        conditions.push_back(std::move(condition));
      });
  return conditions;
}

std::vector<rules::Action> ParseActions(const rapidjson::Value& root, bool& present,
                                        std::vector<int64_t>& orders, Error& errors) {
  std::vector<rules::Action> actions;
  present = ForEachItem(root, "actions", errors, [&](const rapidjson::Value& item, size_t index) {
    rules::ActionPatch patch = ParseActionFields(item, "actions", index, errors);
    if (!patch.type && !Member(item, "action_type")) {
      errors.field_errors.push_back({Key("actions", index, "action_type"), "is required"});
    }
    rules::Action action;
    action.type = patch.type.value_or(rules::ActionType::kSetField);
    action.field_name = patch.field_name.value_or("");
    action.value = patch.value.value_or("");
    actions.push_back(std::move(action));
    orders.push_back(patch.order.value_or(static_cast<int64_t>(index)));
  });
  return actions;
}

std::optional<std::vector<rules::TargetRequest>> ParseTargets(const rapidjson::Value& root,
                                                              const char* name,
                                                              rules::TargetKind kind,
                                                              Error& errors) {
  std::vector<rules::TargetRequest> targets;
  const bool present =
      ForEachItem(root, name, errors, [&](const rapidjson::Value& item, size_t index) {
        rules::TargetRequest target;
        target.kind = kind;
        auto id = OptionalInteger(item, "id", Key(name, index, "id"), errors);
        if (!id && !Member(item, "id")) {
          errors.field_errors.push_back({Key(name, index, "id"), "is required"});
        }
        target.id = id.value_or(0);
        target.order = OptionalInteger(item, "order", Key(name, index, "order"), errors);
        if (std::string_view(name) == "destinations") {
          auto type = OptionalString(item, "type", Key(name, index, "type"), errors);
          auto destination = type ? rules::ParseDestinationKind(*type) : std::nullopt;
          if (!destination) {
            errors.field_errors.push_back(
                {Key(name, index, "type"), "must be one of YNAB, LUNCH_MONEY, WEBHOOK"});
          } else {
            target.kind = *destination;
          }
        }
        targets.push_back(target);
      });
  if (!present) return std::nullopt;
  return targets;
}

rules::AttachmentRequests ParseAttachments(const rapidjson::Value& root, Error& errors) {
  rules::AttachmentRequests requests;
  requests.bank_accounts =
      ParseTargets(root, "bank_accounts", rules::TargetKind::kBankAccount, errors);
  requests.transfer_links =
      ParseTargets(root, "transfer_links", rules::TargetKind::kTransferLink, errors);
  requests.destinations = ParseTargets(root, "destinations", rules::TargetKind::kYnab, errors);
  requests.banks = ParseTargets(root, "banks", rules::TargetKind::kBankAccount, errors);
  return requests;
}

// The create and update bodies share one shape; create fills in defaults afterwards.
Result<rules::RuleUpdate> ParseRuleBody(const Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  const rapidjson::Document& root = body.value();
  Error errors = Invalid();
  rules::RuleUpdate update;
  update.name = OptionalString(root, "name", "name", errors);
  update.description = OptionalString(root, "description", "description", errors);
  update.enabled = OptionalBool(root, "enabled", "enabled", errors);
  update.trigger_on_any_condition =
      OptionalBool(root, "trigger_on_any_condition", "trigger_on_any_condition", errors);
  update.skip_other_rules_when_triggered = OptionalBool(root, "skip_other_rules_when_triggered",
                                                        "skip_other_rules_when_triggered", errors);
  update.type = ParseRuleTypeField(root, errors);
  bool present = false;
  std::vector<rules::Condition> conditions = ParseConditions(root, present, errors);
  if (present) update.conditions = std::move(conditions);
  std::vector<rules::Action> actions = ParseActions(root, present, update.action_orders, errors);
  if (present) update.actions = std::move(actions);
  update.attachments = ParseAttachments(root, errors);
  if (!errors.field_errors.empty()) return errors;
  return update;
}

rules::NewRule NewRuleOf(rules::RuleUpdate update) {
  rules::NewRule created;
  created.rule.name = update.name.value_or("");
  created.rule.description = update.description.value_or("");
  created.rule.enabled = update.enabled.value_or(true);
  created.rule.type = update.type.value_or(rules::RuleType::kBank);
  created.rule.trigger_on_any_condition = update.trigger_on_any_condition.value_or(false);
  created.rule.skip_other_rules_when_triggered =
      update.skip_other_rules_when_triggered.value_or(false);
  if (update.conditions) created.rule.conditions = std::move(*update.conditions);
  if (update.actions) created.rule.actions = std::move(*update.actions);
  created.action_orders = std::move(update.action_orders);
  created.attachments = std::move(update.attachments);
  return created;
}

// Rendering.

void WriteCondition(json::Writer& writer, const rules::Condition& condition, int64_t rule_id,
                    rules::RuleType type, const rules::ItemRecord& record) {
  writer.StartObject();
  writer.Field("id", condition.id);
  writer.Field("rule_id", rule_id);
  writer.Field("transaction_type", rules::RuleTypeName(type));
  writer.Field("field_name", condition.field_name);
  writer.Field("operator", rules::OperatorName(condition.operation));
  writer.Field("value", condition.value);
  writer.Field("case_sensitive", condition.case_sensitive);
  writer.Field("position", record.order);
  writer.Field("created_at", FormatTimeMs(record.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(record.updated_at_ms));
  writer.EndObject();
}

void WriteAction(json::Writer& writer, const rules::Action& action, int64_t rule_id,
                 const rules::ItemRecord& record) {
  writer.StartObject();
  writer.Field("id", action.id);
  writer.Field("rule_id", rule_id);
  writer.Field("order", record.order);
  writer.Field("action_type", rules::ActionTypeName(action.type));
  writer.Field("field_name", action.field_name);
  writer.Field("value", action.value);
  writer.Field("created_at", FormatTimeMs(record.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(record.updated_at_ms));
  writer.EndObject();
}

void WriteAccount(json::Writer& writer, const rules::AccountRecord& account) {
  writer.StartObject();
  writer.Field("id", account.id);
  writer.Field("bank_connection_id", account.bank_connection_id);
  writer.Field("name", account.name);
  writer.Field("iban", account.iban);
  writer.Field("currency", account.currency);
  writer.EndObject();
}

void WriteAttachments(json::Writer& writer, rules::RuleService& service, const StoredRule& rule) {
  int64_t accounts = 0;
  writer.Key("bank_accounts").StartArray();
  for (const rules::Attachment& attachment : rule.attachments) {
    if (attachment.kind != rules::TargetKind::kBankAccount) continue;
    auto account = service.LoadAccount(rule.user_id, attachment.target_id);
    if (!account.ok() || !account.value()) continue;
    writer.StartObject().Field("rule_position", attachment.position).Key("bank_account");
    WriteAccount(writer, *account.value());
    writer.EndObject();
    ++accounts;
  }
  writer.EndArray();
  writer.Field("bank_accounts_count", accounts);
  int64_t links = 0;
  writer.Key("transfer_links").StartArray();
  for (const rules::Attachment& attachment : rule.attachments) {
    if (attachment.kind != rules::TargetKind::kTransferLink) continue;
    writer.StartObject().Field("rule_position", attachment.position);
    writer.Field("transfer_link_id", attachment.target_id).EndObject();
    ++links;
  }
  writer.EndArray();
  writer.Field("transfer_links_count", links);
  int64_t destinations = 0;
  writer.Key("destinations").StartArray();
  for (const rules::Attachment& attachment : rule.attachments) {
    if (attachment.kind == rules::TargetKind::kBankAccount ||
        attachment.kind == rules::TargetKind::kTransferLink) {
      continue;
    }
    writer.StartObject().Field("type", rules::TargetKindName(attachment.kind));
    writer.Field("rule_position", attachment.position);
    writer.Field("destination_id", attachment.target_id).EndObject();
    ++destinations;
  }
  writer.EndArray();
  writer.Field("destinations_count", destinations);
}

void WriteRule(json::Writer& writer, rules::RuleService& service, const StoredRule& stored) {
  const rules::Rule& rule = stored.rule;
  writer.StartObject();
  writer.Field("id", rule.id);
  writer.Field("type", rules::RuleTypeName(rule.type));
  writer.Field("name", rule.name);
  writer.Field("description", rule.description);
  writer.Field("enabled", rule.enabled);
  writer.Field("migrated", false);
  writer.Field("trigger_on_any_condition", rule.trigger_on_any_condition);
  writer.Field("skip_other_rules_when_triggered", rule.skip_other_rules_when_triggered);
  writer.Key("conditions").StartArray();
  for (size_t index = 0; index < rule.conditions.size(); ++index) {
    WriteCondition(writer, rule.conditions[index], rule.id, rule.type, stored.conditions[index]);
  }
  writer.EndArray();
  writer.Field("conditions_count", static_cast<int64_t>(rule.conditions.size()));
  writer.Key("actions").StartArray();
  for (size_t index = 0; index < rule.actions.size(); ++index) {
    writer.StartObject().Field("action_position", static_cast<int64_t>(index)).Key("action");
    WriteAction(writer, rule.actions[index], rule.id, stored.actions[index]);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Field("actions_count", static_cast<int64_t>(rule.actions.size()));
  WriteAttachments(writer, service, stored);
  writer.Field("created_at", FormatTimeMs(stored.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(stored.updated_at_ms));
  writer.EndObject();
}

void WriteLog(json::Writer& writer, const rules::RuleLog& log) {
  writer.StartObject();
  if (log.id != 0) writer.Field("id", log.id);
  writer.Field("rule_id", log.rule_id);
  writer.Field("rule_action_id", log.action_id);
  writer.Field("bank_transaction_id", log.bank_transaction_id);
  writer.Field("bank_account_id", log.bank_account_id);
  writer.Field("field", log.field);
  writer.Field("previous_value", log.previous_value);
  writer.Field("new_value", log.new_value);
  writer.Field("success", log.success);
  writer.Field("message", log.message);
  if (log.id != 0) {
    writer.Field("executed_at", FormatTimeMs(log.executed_at_ms));
    WriteOptionalTime(writer, "undone_at", log.undone_at_ms);
    writer.Key("undo_of_rule_log_id");
    if (log.undo_of_log_id) {
      writer.Int(*log.undo_of_log_id);
    } else {
      writer.Null();
    }
  }
  writer.EndObject();
}

}  // namespace

void RegisterRuleCrudRoutes(http::Router& router, ApiContext& context, rules::RuleService& service);
void RegisterRuleItemRoutes(http::Router& router, ApiContext& context, rules::RuleService& service);
void RegisterRuleTargetRoutes(http::Router& router, ApiContext& context,
                              rules::RuleService& service);
void RegisterRuleLogRoutes(http::Router& router, ApiContext& context, rules::RuleService& service);

void RegisterRuleRoutes(http::Router& router, ApiContext& context, rules::RuleService& service) {
  RegisterRuleCrudRoutes(router, context, service);
  RegisterRuleItemRoutes(router, context, service);
  RegisterRuleTargetRoutes(router, context, service);
  RegisterRuleLogRoutes(router, context, service);
}

void RegisterRuleCrudRoutes(http::Router& router, ApiContext& context,
                            rules::RuleService& service) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  rules::RuleService* rules_service = &service;
  auto respond_rule = [rules_service](Request& request, Response& response,
                                      const Result<StoredRule>& rule, unsigned status,
                                      std::string_view message) {
    if (!rule.ok()) return RespondError(request, response, rule.error());
    RespondObject(response, status, message,
                  [&](json::Writer& writer) { WriteRule(writer, *rules_service, rule.value()); });
  };
  router.Add("POST", "/api/v1/rules",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto parsed = ParseRuleBody(request);
                             if (!parsed.ok())
                               return RespondError(request, response, parsed.error());
                             auto created = rules_service->CreateRule(
                                 who.user.id, NewRuleOf(std::move(parsed.value())));
                             respond_rule(request, response, created, 201, "Rule created.");
                           }));
  router.Add("GET", "/api/v1/rules",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto page = ParsePage(request);
                             if (!page.ok()) return RespondError(request, response, page.error());
                             Error errors = Invalid();
                             rules::RuleFilter filter;
                             filter.page_number = page.value().number;
                             filter.page_size = page.value().size;
                             filter.enabled = QueryBool(request, "enabled", errors);
                             filter.bank_account_id =
                                 QueryInteger(request, "bank_account_id", 1, INT64_MAX, errors);
                             if (auto type = request.Query("type")) {
                               filter.type = rules::ParseRuleType(*type);
                               if (!filter.type) {
                                 errors.field_errors.push_back(
                                     {"type", "must be one of BANK, YNAB, LUNCH_MONEY, WEBHOOK"});
                               }
                             }
                             if (!errors.field_errors.empty())
                               return RespondError(request, response, errors);
                             int64_t total = 0;
                             auto listed = rules_service->ListRules(who.user.id, filter, total);
                             if (!listed.ok())
                               return RespondError(request, response, listed.error());
                             json::Writer writer;
                             writer.StartObject().Key("data").StartArray();
                             for (const StoredRule& rule : listed.value()) {
                               WriteRule(writer, *rules_service, rule);
                             }
                             writer.EndArray();
                             writer.Key("meta").StartObject().Field("total", total);
                             writer.Field("current_page", filter.page_number);
                             writer.Field("per_page", filter.page_size).EndObject();
                             writer.Key("links").StartObject().EndObject();
                             writer.EndObject();
                             response.Json(200, writer.str());
                           }));
  router.Add("GET", "/api/v1/rules/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_rule(request, response,
                                          rules_service->GetRule(who.user.id, id.value()), 200, "");
                           }));
  router.Add("PUT", "/api/v1/rules/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto parsed = ParseRuleBody(request);
                             if (!parsed.ok())
                               return RespondError(request, response, parsed.error());
                             respond_rule(
                                 request, response,
                                 rules_service->UpdateRule(who.user.id, id.value(), parsed.value()),
                                 200, "Rule updated.");
                           }));
  router.Add("DELETE", "/api/v1/rules/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted = rules_service->DeleteRule(who.user.id, id.value());
                             if (!deleted.ok())
                               return RespondError(request, response, deleted.error());
                             response.NoContent();
                           }));
  router.Add(
      "POST", "/api/v1/rules/{id}/preview",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            auto id = PathId(request, "id", "The rule");
            if (!id.ok()) return RespondError(request, response, id.error());
            auto body = OptionalBody(request);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Invalid();
            auto account =
                OptionalInteger(body.value(), "bank_account_id", "bank_account_id", errors);
            auto limit = OptionalInteger(body.value(), "limit", "limit", errors);
            if (limit && (*limit < 1 || *limit > rules::RuleService::kPreviewLimitMax)) {
              errors.field_errors.push_back({"limit", "must be an integer from 1 to 1000"});
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto preview = rules_service->PreviewRule(who.user.id, id.value(), account,
                                                      limit.value_or(kPreviewLimitDefault));
            if (!preview.ok()) return RespondError(request, response, preview.error());
            json::Writer writer;
            writer.StartObject().Key("data").StartArray();
            for (const rules::RuleLog& change : preview.value().changes) {
              WriteLog(writer, change);
            }
            writer.EndArray();
            writer.Key("meta").StartObject();
            writer.Field("transactions_scanned", preview.value().transactions_scanned);
            writer.Field("changes", static_cast<int64_t>(preview.value().changes.size()));
            writer.Field("truncated", preview.value().truncated).EndObject();
            writer.EndObject();
            response.Json(200, writer.str());
          }));
}

void RegisterRuleItemRoutes(http::Router& router, ApiContext& context,
                            rules::RuleService& service) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  rules::RuleService* rules_service = &service;
  auto respond_condition = [](Request& request, Response& response,
                              const Result<rules::ConditionResource>& condition, unsigned status,
                              std::string_view message) {
    if (!condition.ok()) return RespondError(request, response, condition.error());
    const rules::ConditionResource& item = condition.value();
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteCondition(writer, item.condition, item.rule_id, item.rule_type, item.record);
    });
  };
  auto respond_action = [](Request& request, Response& response,
                           const Result<rules::ActionResource>& action, unsigned status,
                           std::string_view message) {
    if (!action.ok()) return RespondError(request, response, action.error());
    const rules::ActionResource& item = action.value();
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteAction(writer, item.action, item.rule_id, item.record);
    });
  };
  // Both resources: list (optionally of one rule), create with rule_id, get, update, delete.
  auto rule_id_of = [](const rapidjson::Value& root, Error& errors) {
    auto rule_id = OptionalInteger(root, "rule_id", "rule_id", errors);
    if (!rule_id && !Member(root, "rule_id")) {
      errors.field_errors.push_back({"rule_id", "is required"});
    }
    return rule_id.value_or(0);
  };
  router.Add(
      "GET", "/api/v1/rule-conditions",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            auto page = ParsePage(request);
            if (!page.ok()) return RespondError(request, response, page.error());
            Error errors = Invalid();
            auto rule_id = QueryInteger(request, "rule_id", 1, INT64_MAX, errors);
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto listed = rules_service->ListConditions(
                who.user.id, rule_id, rules::Page{page.value().number, page.value().size});
            if (!listed.ok()) return RespondError(request, response, listed.error());
            json::Writer writer;
            writer.StartObject().Key("data").StartArray();
            for (const auto& item : listed.value()) {
              WriteCondition(writer, item.condition, item.rule_id, item.rule_type, item.record);
            }
            writer.EndArray().Key("meta").StartObject();
            writer.Field("current_page", page.value().number);
            writer.Field("per_page", page.value().size).EndObject();
            writer.Key("links").StartObject().EndObject().EndObject();
            response.Json(200, writer.str());
          }));
  router.Add(
      "POST", "/api/v1/rule-conditions",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto body = json::ParseObject(request.body);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Invalid();
            int64_t rule_id = rule_id_of(body.value(), errors);
            rules::ConditionPatch fields = ParseConditionFields(body.value(), "", 0, errors);
            if (!fields.operation && !Member(body.value(), "operator")) {
              errors.field_errors.push_back({"operator", "is required"});
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            respond_condition(request, response,
                              rules_service->CreateCondition(who.user.id, rule_id, fields), 201,
                              "Rule condition created.");
          }));
  router.Add("GET", "/api/v1/rule-conditions/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule condition");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_condition(request, response,
                                               rules_service->GetCondition(who.user.id, id.value()),
                                               200, "");
                           }));
  router.Add(
      "PUT", "/api/v1/rule-conditions/{id}",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto id = PathId(request, "id", "The rule condition");
            if (!id.ok()) return RespondError(request, response, id.error());
            auto body = json::ParseObject(request.body);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Invalid();
            rules::ConditionPatch patch = ParseConditionFields(body.value(), "", 0, errors);
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            respond_condition(request, response,
                              rules_service->UpdateCondition(who.user.id, id.value(), patch), 200,
                              "Rule condition updated.");
          }));
  router.Add("DELETE", "/api/v1/rule-conditions/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule condition");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted =
                                 rules_service->DeleteCondition(who.user.id, id.value());
                             if (!deleted.ok())
                               return RespondError(request, response, deleted.error());
                             response.NoContent();
                           }));
  router.Add("GET", "/api/v1/rule-actions",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto page = ParsePage(request);
                             if (!page.ok()) return RespondError(request, response, page.error());
                             Error errors = Invalid();
                             auto rule_id = QueryInteger(request, "rule_id", 1, INT64_MAX, errors);
                             if (!errors.field_errors.empty())
                               return RespondError(request, response, errors);
                             auto listed = rules_service->ListActions(
                                 who.user.id, rule_id,
                                 rules::Page{page.value().number, page.value().size});
                             if (!listed.ok())
                               return RespondError(request, response, listed.error());
                             json::Writer writer;
                             writer.StartObject().Key("data").StartArray();
                             for (const auto& item : listed.value()) {
                               WriteAction(writer, item.action, item.rule_id, item.record);
                             }
                             writer.EndArray().Key("meta").StartObject();
                             writer.Field("current_page", page.value().number);
                             writer.Field("per_page", page.value().size).EndObject();
                             writer.Key("links").StartObject().EndObject().EndObject();
                             response.Json(200, writer.str());
                           }));
  router.Add(
      "POST", "/api/v1/rule-actions",
      Authenticated(context, kScopeWrite,
                    [=](Request& request, Response& response, const Principal& who) {
                      auto body = json::ParseObject(request.body);
                      if (!body.ok()) return RespondError(request, response, body.error());
                      Error errors = Invalid();
                      int64_t rule_id = rule_id_of(body.value(), errors);
                      rules::ActionPatch fields = ParseActionFields(body.value(), "", 0, errors);
                      if (!fields.type && !Member(body.value(), "action_type")) {
                        errors.field_errors.push_back({"action_type", "is required"});
                      }
                      if (!errors.field_errors.empty())
                        return RespondError(request, response, errors);
                      respond_action(request, response,
                                     rules_service->CreateAction(who.user.id, rule_id, fields), 201,
                                     "Rule action created.");
                    }));
  router.Add("GET", "/api/v1/rule-actions/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule action");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_action(request, response,
                                            rules_service->GetAction(who.user.id, id.value()), 200,
                                            "");
                           }));
  router.Add(
      "PUT", "/api/v1/rule-actions/{id}",
      Authenticated(context, kScopeWrite,
                    [=](Request& request, Response& response, const Principal& who) {
                      auto id = PathId(request, "id", "The rule action");
                      if (!id.ok()) return RespondError(request, response, id.error());
                      auto body = json::ParseObject(request.body);
                      if (!body.ok()) return RespondError(request, response, body.error());
                      Error errors = Invalid();
                      rules::ActionPatch patch = ParseActionFields(body.value(), "", 0, errors);
                      if (!errors.field_errors.empty())
                        return RespondError(request, response, errors);
                      respond_action(request, response,
                                     rules_service->UpdateAction(who.user.id, id.value(), patch),
                                     200, "Rule action updated.");
                    }));
  router.Add("DELETE", "/api/v1/rule-actions/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule action");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted = rules_service->DeleteAction(who.user.id, id.value());
                             if (!deleted.ok())
                               return RespondError(request, response, deleted.error());
                             response.NoContent();
                           }));
}

namespace {

void RespondTargetRules(Response& response, rules::TargetKind kind, int64_t target_id,
                        const std::vector<int64_t>& rule_ids, std::string_view message) {
  RespondObject(response, 200, message, [&](json::Writer& writer) {
    writer.StartObject();
    writer.Field("target_type", rules::TargetKindName(kind));
    writer.Field("target_id", target_id);
    writer.Key("rules").StartArray();
    for (size_t position = 0; position < rule_ids.size(); ++position) {
      writer.StartObject().Field("rule_position", static_cast<int64_t>(position));
      writer.Field("rule_id", rule_ids[position]).EndObject();
    }
    writer.EndArray();
    writer.EndObject();
  });
}

// The target of a path: its kind (destinations name it in the path) and id.
struct TargetPath {
  rules::TargetKind kind = rules::TargetKind::kBankAccount;
  int64_t id = 0;
};

using TargetParser = std::function<Result<TargetPath>(const Request&)>;

Result<std::vector<int64_t>> ParseRuleIds(const Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  const rapidjson::Value* list = Member(body.value(), "rule_ids");
  std::vector<int64_t> ids;
  bool valid = list != nullptr && list->IsArray();
  if (valid) {
    for (const auto& item : list->GetArray()) {
      valid = valid && item.IsInt64();
      if (valid) ids.push_back(item.GetInt64());
    }
  }
  if (valid) return ids;
  Error errors = Invalid();
  errors.field_errors.push_back({"rule_ids", "must be an array of rule ids"});
  return errors;
}

// Attach, detach and reorder under `prefix` ("/api/v1/banks/accounts/{account_id}").
void RegisterTargetRoutes(http::Router& router, ApiContext& context, rules::RuleService* service,
                          const std::string& prefix, TargetParser parse_target) {
  using identity::kScopeWrite;
  router.Add(
      "POST", prefix + "/rules/{rule_id}",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto target = parse_target(request);
            if (!target.ok()) return RespondError(request, response, target.error());
            auto rule_id = PathId(request, "rule_id", "The rule");
            if (!rule_id.ok()) return RespondError(request, response, rule_id.error());
            auto body = OptionalBody(request);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Invalid();
            auto order = OptionalInteger(body.value(), "order", "order", errors);
            if (order && *order < 0) errors.field_errors.push_back({"order", "must be 0 or more"});
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            const TargetPath& path = target.value();
            auto ids = service->Attach(who.user.id, path.kind, path.id, rule_id.value(), order);
            if (!ids.ok()) return RespondError(request, response, ids.error());
            RespondTargetRules(response, path.kind, path.id, ids.value(), "Rule attached.");
          }));
  router.Add(
      "DELETE", prefix + "/rules/{rule_id}",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto target = parse_target(request);
            if (!target.ok()) return RespondError(request, response, target.error());
            auto rule_id = PathId(request, "rule_id", "The rule");
            if (!rule_id.ok()) return RespondError(request, response, rule_id.error());
            const TargetPath& path = target.value();
            auto ids = service->Detach(who.user.id, path.kind, path.id, rule_id.value());
            if (!ids.ok()) return RespondError(request, response, ids.error());
            RespondTargetRules(response, path.kind, path.id, ids.value(), "Rule detached.");
          }));
  router.Add(
      "PUT", prefix + "/rules",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto target = parse_target(request);
            if (!target.ok()) return RespondError(request, response, target.error());
            auto rule_ids = ParseRuleIds(request);
            if (!rule_ids.ok()) return RespondError(request, response, rule_ids.error());
            const TargetPath& path = target.value();
            auto ids = service->Reorder(who.user.id, path.kind, path.id, rule_ids.value());
            if (!ids.ok()) return RespondError(request, response, ids.error());
            RespondTargetRules(response, path.kind, path.id, ids.value(), "Rules reordered.");
          }));
}

}  // namespace

void RegisterRuleTargetRoutes(http::Router& router, ApiContext& context,
                              rules::RuleService& service) {
  using identity::kScopeWrite;
  rules::RuleService* rules_service = &service;
  auto id_target = [](rules::TargetKind kind, std::string_view what) {
    return [kind, what](const Request& request) -> Result<TargetPath> {
      auto id = PathId(request, "id", what);
      if (!id.ok()) return id.error();
      return TargetPath{kind, id.value()};
    };
  };
  RegisterTargetRoutes(router, context, rules_service, "/api/v1/banks/accounts/{id}",
                       id_target(rules::TargetKind::kBankAccount, "The bank account"));
  RegisterTargetRoutes(router, context, rules_service, "/api/v1/transfer-links/{id}",
                       id_target(rules::TargetKind::kTransferLink, "The transfer link"));
  RegisterTargetRoutes(
      router, context, rules_service, "/api/v1/destinations/{type}/{id}",
      [](const Request& request) -> Result<TargetPath> {
        auto kind = rules::ParseDestinationKind(request.PathParam("type"));
        if (!kind) {
          Error errors = Invalid();
          errors.field_errors.push_back({"type", "must be one of YNAB, LUNCH_MONEY, WEBHOOK"});
          return errors;
        }
        auto id = PathId(request, "id", "The destination");
        if (!id.ok()) return id.error();
        return TargetPath{*kind, id.value()};
      });
  auto bank_route = [rules_service](bool attach) {
    return [rules_service, attach](Request& request, Response& response, const Principal& who) {
      auto rule_id = PathId(request, "id", "The rule");
      if (!rule_id.ok()) return RespondError(request, response, rule_id.error());
      auto connection_id = PathId(request, "connection_id", "The bank connection");
      if (!connection_id.ok()) return RespondError(request, response, connection_id.error());
      auto rule =
          attach
              ? rules_service->AttachToBank(who.user.id, rule_id.value(), connection_id.value())
              : rules_service->DetachFromBank(who.user.id, rule_id.value(), connection_id.value());
      if (!rule.ok()) return RespondError(request, response, rule.error());
      RespondObject(response, 200, attach ? "Rule attached to bank." : "Rule detached from bank.",
                    [&](json::Writer& writer) { WriteRule(writer, *rules_service, rule.value()); });
    };
  };
  router.Add("POST", "/api/v1/rules/{id}/banks/{connection_id}",
             Authenticated(context, kScopeWrite, bank_route(true)));
  router.Add("DELETE", "/api/v1/rules/{id}/banks/{connection_id}",
             Authenticated(context, kScopeWrite, bank_route(false)));
  router.Add(
      "POST", "/api/v1/banks/accounts/{id}/rules/apply",
      Authenticated(context, kScopeWrite,
                    [=](Request& request, Response& response, const Principal& who) {
                      auto id = PathId(request, "id", "The bank account");
                      if (!id.ok()) return RespondError(request, response, id.error());
                      auto report = rules_service->ApplyAccountRules(who.user.id, id.value());
                      if (!report.ok()) return RespondError(request, response, report.error());
                      RespondObject(response, 200, "Rules applied.", [&](json::Writer& writer) {
                        writer.StartObject();
                        writer.Field("bank_account_id", id.value());
                        writer.Field("transactions_scanned", report.value().transactions_scanned);
                        writer.Field("transactions_changed", report.value().transactions_changed);
                        writer.Field("rule_logs_written", report.value().logs_written);
                        writer.EndObject();
                      });
                    }));
}

void RegisterRuleLogRoutes(http::Router& router, ApiContext& context, rules::RuleService& service) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  rules::RuleService* rules_service = &service;
  router.Add(
      "GET", "/api/v1/rule-logs",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            Error errors = Invalid();
            rules::RuleLogFilter filter;
            filter.rule_id = QueryInteger(request, "rule_id", 1, INT64_MAX, errors);
            filter.bank_transaction_id =
                QueryInteger(request, "bank_transaction_id", 1, INT64_MAX, errors);
            filter.success = QueryBool(request, "success", errors);
            KeysetPage page = ParseKeysetPage(request, kLogLimitDefault, kLogLimitMax, errors);
            filter.limit = page.limit;
            filter.before_id = page.before_id;
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto logs = rules_service->ListLogs(who.user.id, filter);
            if (!logs.ok()) return RespondError(request, response, logs.error());
            RespondKeysetPage(response, logs.value(), filter.limit, WriteLog);
          }));
  router.Add("GET", "/api/v1/rule-logs/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule log");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto log = rules_service->GetLog(who.user.id, id.value());
                             if (!log.ok()) return RespondError(request, response, log.error());
                             RespondObject(response, 200, "", [&](json::Writer& writer) {
                               WriteLog(writer, log.value());
                             });
                           }));
  router.Add("POST", "/api/v1/rule-logs/{id}/undo",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The rule log");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto undo = rules_service->Undo(who.user.id, id.value());
                             if (!undo.ok()) return RespondError(request, response, undo.error());
                             RespondObject(
                                 response, 200, "Rule action undone.",
                                 [&](json::Writer& writer) { WriteLog(writer, undo.value()); });
                           }));
}

}  // namespace finsync::api
