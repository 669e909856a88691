#include "api/transfers_api.h"

#include "api/fields.h"
#include "common/json.h"
#include "domain/currency.h"
#include "domain/money.h"
#include "http/problem.h"

namespace finsync::api {

namespace {

using delivery::DeliveryService;
using delivery::DestinationType;
using delivery::TransferLink;
using delivery::TransferLog;
using delivery::TransferStatus;
using http::Request;
using http::Response;
using identity::kScopeRead;
using identity::kScopeWrite;
using identity::Principal;

constexpr int64_t kLogLimitDefault = 50;
constexpr int64_t kLogLimitMax = 500;
constexpr int64_t kStatisticsDaysDefault = 30;
constexpr int64_t kStatisticsDaysMax = 3660;

std::string Amount(int64_t amount_minor, const std::string& currency) {
  auto known = domain::Currency::FromCode(currency);
  return domain::FormatDecimalAmount(amount_minor, known ? known->exponent() : 2);
}

void WriteLink(json::Writer& writer, DeliveryService& delivery, const TransferLink& link) {
  writer.StartObject();
  writer.Field("id", link.id);
  writer.Field("bank_account_id", link.bank_account_id);
  writer.Field("destination_type", delivery::DestinationTypeName(link.destination_type));
  writer.Field("destination_id", link.destination_id);
  auto destination = delivery.LinkDestination(link.user_id, link);
  writer.Key("destination");
  if (destination.ok() && destination.value()) {
    const delivery::DestinationSummary& summary = *destination.value();
    writer.StartObject();
    writer.Field("id", summary.id);
    writer.Field("type", delivery::DestinationTypeName(summary.type));
    writer.Field("name", summary.name);
    switch (summary.type) {
      case DestinationType::kYnab:
        writer.Field("budget_name", summary.detail);
        break;
      case DestinationType::kLunchMoney:
        writer.Field("currency", summary.detail);
        break;
      case DestinationType::kWebhook:
        writer.Field("url", summary.detail);
        break;
    }
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.Field("transfer_start_date", domain::FormatDate(link.transfer_start_date));
  writer.Field("active", link.active);
  writer.Key("on_booked_change").StartObject();
  writer.Field("update_status", link.on_booked_change.update_status);
  writer.Field("update_payee", link.on_booked_change.update_payee);
  writer.Field("update_description", link.on_booked_change.update_description);
  writer.Field("update_amount", link.on_booked_change.update_amount);
  writer.EndObject();
  writer.Key("rules").StartArray();
  auto rules = delivery.LinkRuleIds(link.user_id, link.id);
  if (rules.ok()) {
    for (int64_t rule_id : rules.value()) writer.Int(rule_id);
  }
  writer.EndArray();
  WriteOptionalTime(writer, "created_at", link.created_at_ms);
  WriteOptionalTime(writer, "updated_at", link.updated_at_ms);
  writer.EndObject();
}

void WriteLog(json::Writer& writer, const TransferLog& log) {
  writer.StartObject();
  writer.Field("id", log.id);
  writer.Field("transfer_link_id", log.transfer_link_id);
  writer.Field("bank_transaction_id", log.bank_transaction_id);
  writer.Field("bank_account_id", log.bank_account_id);
  writer.Field("destination_type", delivery::DestinationTypeName(log.destination_type));
  writer.Field("status", delivery::TransferStatusName(log.status));
  writer.Field("destination_transaction_id", log.destination_transaction_id);
  writer.Field("import_id", log.import_id);
  writer.Field("message", log.message);
  writer.Field("amount", Amount(log.amount_minor, log.currency));
  writer.Field("currency", log.currency);
  writer.Field("transaction_date", log.transaction_date);
  writer.Field("attempts", log.attempts);
  WriteOptionalTime(writer, "first_attempt_at", log.first_attempt_at_ms);
  WriteOptionalTime(writer, "last_attempt_at", log.last_attempt_at_ms);
  writer.Field("undone", log.undone_at_ms.has_value());
  WriteOptionalTime(writer, "undone_at", log.undone_at_ms);
  writer.Key("undo_of_transfer_log_id");
  if (log.undo_of_transfer_log_id) {
    writer.Int(*log.undo_of_transfer_log_id);
  } else {
    writer.Null();
  }
  WriteOptionalTime(writer, "created_at", log.created_at_ms);
  WriteOptionalTime(writer, "updated_at", log.updated_at_ms);
  writer.EndObject();
}

std::optional<domain::Date> OptionalDate(const rapidjson::Value& body, const char* name,
                                         Error& errors) {
  auto text = OptionalString(body, name, name, errors);
  if (!text) return std::nullopt;
  auto parsed = domain::ParseDate(*text);
  if (!parsed.ok()) {
    errors.field_errors.push_back({name, "must be a date (YYYY-MM-DD)"});
    return std::nullopt;
  }
  return parsed.date;
}

// The on_booked_change object's four flags, each optional.
void ReadOnBookedChange(const rapidjson::Value& body, delivery::TransferLinkPatch& patch,
                        Error& errors) {
  const rapidjson::Value* change = Member(body, "on_booked_change");
  if (change == nullptr) return;
  if (!change->IsObject()) {
    errors.field_errors.push_back({"on_booked_change", "must be an object"});
    return;
  }
  patch.update_status =
      OptionalBool(*change, "update_status", "on_booked_change.update_status", errors);
  patch.update_payee =
      OptionalBool(*change, "update_payee", "on_booked_change.update_payee", errors);
  patch.update_description =
      OptionalBool(*change, "update_description", "on_booked_change.update_description", errors);
  patch.update_amount =
      OptionalBool(*change, "update_amount", "on_booked_change.update_amount", errors);
}

Result<delivery::TransferLinkPatch> ParsePatch(const rapidjson::Value& body) {
  Error errors = Invalid();
  delivery::TransferLinkPatch patch;
  patch.transfer_start_date = OptionalDate(body, "transfer_start_date", errors);
  patch.active = OptionalBool(body, "active", "active", errors);
  ReadOnBookedChange(body, patch, errors);
  if (!errors.field_errors.empty()) return errors;
  return patch;
}

Result<delivery::NewTransferLink> ParseNewLink(const rapidjson::Value& body) {
  Error errors = Invalid();
  delivery::NewTransferLink link;
  auto account = OptionalInteger(body, "bank_account_id", "bank_account_id", errors);
  if (!account && Member(body, "bank_account_id") == nullptr) {
    errors.field_errors.push_back({"bank_account_id", "is required"});
  }
  auto type = OptionalString(body, "destination_type", "destination_type", errors);
  if (!type && Member(body, "destination_type") == nullptr) {
    errors.field_errors.push_back({"destination_type", "is required"});
  } else if (type && !delivery::ParseDestinationType(*type)) {
    errors.field_errors.push_back(
        {"destination_type", "must be one of YNAB, LUNCH_MONEY, WEBHOOK"});
  }
  auto destination = OptionalInteger(body, "destination_id", "destination_id", errors);
  if (!destination && Member(body, "destination_id") == nullptr) {
    errors.field_errors.push_back({"destination_id", "is required"});
  }
  auto patch = ParsePatch(body);
  if (!patch.ok()) {
    for (auto& field : patch.error().field_errors) errors.field_errors.push_back(field);
  }
  if (!errors.field_errors.empty()) return errors;
  link.bank_account_id = *account;
  link.destination_type = *delivery::ParseDestinationType(*type);
  link.destination_id = *destination;
  link.transfer_start_date = patch.value().transfer_start_date;
  link.active = patch.value().active.value_or(true);
  delivery::OnBookedChange& change = link.on_booked_change;
  change.update_status = patch.value().update_status.value_or(change.update_status);
  change.update_payee = patch.value().update_payee.value_or(change.update_payee);
  change.update_description = patch.value().update_description.value_or(change.update_description);
  change.update_amount = patch.value().update_amount.value_or(change.update_amount);
  return link;
}

Result<delivery::RetryRequest> ParseRetry(const Request& request) {
  auto body = OptionalBody(request);
  if (!body.ok()) return body.error();
  Error errors = Invalid();
  delivery::RetryRequest retry;
  retry.include_undone =
      OptionalBool(body.value(), "include_undone", "include_undone", errors).value_or(false);
  if (const rapidjson::Value* ids = Member(body.value(), "bank_transaction_ids")) {
    if (!ids->IsArray() || ids->Size() > 1000) {
      errors.field_errors.push_back(
          {"bank_transaction_ids", "must be an array of at most 1000 transaction ids"});
    } else {
      retry.bank_transaction_ids.emplace();
      for (rapidjson::SizeType index = 0; index < ids->Size(); ++index) {
        const rapidjson::Value& id = (*ids)[index];
        if (!id.IsInt64() || id.GetInt64() < 1) {
          errors.field_errors.push_back(
              {"bank_transaction_ids." + std::to_string(index), "must be a positive integer"});
          continue;
        }
        retry.bank_transaction_ids->push_back(id.GetInt64());
      }
    }
  }
  if (!errors.field_errors.empty()) return errors;
  return retry;
}

void RespondRetried(Response& response, std::optional<int64_t> link_id, int64_t count) {
  RespondObject(response, 200, "Transfers rescheduled.", [&](json::Writer& writer) {
    writer.StartObject();
    if (link_id) writer.Field("transfer_link_id", *link_id);
    writer.Field("rescheduled", count);
    writer.EndObject();
  });
}

std::optional<domain::Date> QueryDate(const Request& request, std::string_view name,
                                      Error& errors) {
  auto text = request.Query(name);
  if (!text) return std::nullopt;
  auto parsed = domain::ParseDate(*text);
  if (!parsed.ok()) {
    errors.field_errors.push_back({std::string(name), "must be a date (YYYY-MM-DD)"});
    return std::nullopt;
  }
  return parsed.date;
}

void WriteCounts(json::Writer& writer, const delivery::StatusCounts& counts) {
  writer.StartObject();
  int64_t total = 0;
  for (TransferStatus status :
       {TransferStatus::kScheduled, TransferStatus::kTransferred, TransferStatus::kUpdated,
        TransferStatus::kFailed, TransferStatus::kSkipped, TransferStatus::kUndone}) {
    auto found = counts.counts.find(status);
    const int64_t count = found == counts.counts.end() ? 0 : found->second;
    writer.Field(delivery::TransferStatusName(status), count);
    total += count;
  }
  writer.Field("total", total);
  writer.EndObject();
}

void RegisterLinkRoutes(http::Router& router, ApiContext& context, DeliveryService* delivery) {
  auto respond_link = [delivery](Request& request, Response& response,
                                 const Result<TransferLink>& link, unsigned status,
                                 std::string_view message) {
    if (!link.ok()) return RespondError(request, response, link.error());
    RespondObject(response, status, message,
                  [&](json::Writer& writer) { WriteLink(writer, *delivery, link.value()); });
  };
  router.Add(
      "GET", "/api/v1/transfer-links",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            auto page = ParsePage(request);
            if (!page.ok()) return RespondError(request, response, page.error());
            Error errors = Invalid();
            auto account = QueryInteger(request, "bank_account_id", 1, INT64_MAX, errors);
            std::optional<DestinationType> type;
            if (auto text = request.Query("destination_type")) {
              type = delivery::ParseDestinationType(*text);
              if (!type) {
                errors.field_errors.push_back(
                    {"destination_type", "must be one of YNAB, LUNCH_MONEY, WEBHOOK"});
              }
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            int64_t total = 0;
            auto links = delivery->ListLinks(who.user.id, account, type, page.value().number,
                                             page.value().size, total);
            if (!links.ok()) return RespondError(request, response, links.error());
            json::Writer writer;
            writer.StartObject().Key("data").StartArray();
            for (const TransferLink& link : links.value()) WriteLink(writer, *delivery, link);
            writer.EndArray();
            writer.Key("meta").StartObject().Field("total", total);
            writer.Field("current_page", page.value().number);
            writer.Field("per_page", page.value().size).EndObject();
            writer.Key("links").StartObject().EndObject();
            writer.EndObject();
            response.Json(200, writer.str());
          }));
  router.Add("POST", "/api/v1/transfer-links",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto body = OptionalBody(request);
                             if (!body.ok()) return RespondError(request, response, body.error());
                             auto parsed = ParseNewLink(body.value());
                             if (!parsed.ok())
                               return RespondError(request, response, parsed.error());
                             respond_link(request, response,
                                          delivery->CreateLink(who.user.id, parsed.value()), 201,
                                          "Transfer link created.");
                           }));
  router.Add("GET", "/api/v1/transfer-links/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The transfer link");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_link(request, response,
                                          delivery->GetLink(who.user.id, id.value()), 200, "");
                           }));
  router.Add(
      "PUT", "/api/v1/transfer-links/{id}",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto id = PathId(request, "id", "The transfer link");
            if (!id.ok()) return RespondError(request, response, id.error());
            auto body = OptionalBody(request);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Invalid();
            for (const char* fixed : {"bank_account_id", "destination_type", "destination_id"}) {
              if (Member(body.value(), fixed) != nullptr) {
                errors.field_errors.push_back(
                    {fixed, "cannot be changed; create a new transfer link"});
              }
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto patch = ParsePatch(body.value());
            if (!patch.ok()) return RespondError(request, response, patch.error());
            respond_link(request, response,
                         delivery->UpdateLink(who.user.id, id.value(), patch.value()), 200,
                         "Transfer link updated.");
          }));
  router.Add("DELETE", "/api/v1/transfer-links/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The transfer link");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted = delivery->DeleteLink(who.user.id, id.value());
                             if (!deleted.ok())
                               return RespondError(request, response, deleted.error());
                             response.NoContent();
                           }));
  router.Add("POST", "/api/v1/transfer-links/retry",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto retry = ParseRetry(request);
                             if (!retry.ok()) return RespondError(request, response, retry.error());
                             auto count = delivery->RetryAll(who.user.id, retry.value());
                             if (!count.ok()) return RespondError(request, response, count.error());
                             RespondRetried(response, std::nullopt, count.value());
                           }));
  router.Add("POST", "/api/v1/transfer-links/{id}/retry",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The transfer link");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto retry = ParseRetry(request);
                             if (!retry.ok()) return RespondError(request, response, retry.error());
                             auto count = delivery->Retry(who.user.id, id.value(), retry.value());
                             if (!count.ok()) return RespondError(request, response, count.error());
                             RespondRetried(response, id.value(), count.value());
                           }));
}

void RegisterLogRoutes(http::Router& router, ApiContext& context, DeliveryService* delivery) {
  router.Add(
      "GET", "/api/v1/transfer-logs",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            Error errors = Invalid();
            delivery::TransferLogFilter filter;
            filter.transfer_link_id =
                QueryInteger(request, "transfer_link_id", 1, INT64_MAX, errors);
            filter.bank_transaction_id =
                QueryInteger(request, "bank_transaction_id", 1, INT64_MAX, errors);
            filter.bank_account_id = QueryInteger(request, "bank_account_id", 1, INT64_MAX, errors);
            if (auto status = request.Query("status")) {
              filter.status = delivery::ParseTransferStatus(*status);
              if (!filter.status) {
                errors.field_errors.push_back(
                    {"status",
                     "must be one of SCHEDULED, TRANSFERRED, UPDATED, FAILED, SKIPPED, UNDONE"});
              }
            }
            KeysetPage page = ParseKeysetPage(request, kLogLimitDefault, kLogLimitMax, errors);
            filter.limit = page.limit;
            filter.before_id = page.before_id;
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto logs = delivery->ListLogs(who.user.id, filter);
            if (!logs.ok()) return RespondError(request, response, logs.error());
            RespondKeysetPage(response, logs.value(), filter.limit, WriteLog);
          }));
  router.Add("GET", "/api/v1/transfer-logs/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The transfer log");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto log = delivery->GetLog(who.user.id, id.value());
                             if (!log.ok()) return RespondError(request, response, log.error());
                             RespondObject(response, 200, "", [&](json::Writer& writer) {
                               WriteLog(writer, log.value());
                             });
                           }));
  router.Add("POST", "/api/v1/transfer-logs/{id}/undo",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The transfer log");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto undo = delivery->Undo(who.user.id, id.value());
                             if (!undo.ok()) return RespondError(request, response, undo.error());
                             RespondObject(
                                 response, 200, "Transfer undone.",
                                 [&](json::Writer& writer) { WriteLog(writer, undo.value()); });
                           }));
  router.Add(
      "POST", "/api/v1/transfer-logs/undo-bulk",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto body = OptionalBody(request);
            if (!body.ok()) return RespondError(request, response, body.error());
            const rapidjson::Value* ids = Member(body.value(), "ids");
            if (ids == nullptr) ids = Member(body.value(), "transfer_log_ids");
            Error errors = Invalid();
            std::vector<int64_t> log_ids;
            if (ids == nullptr || !ids->IsArray() || ids->Empty() ||
                ids->Size() > DeliveryService::kUndoBulkMax) {
              errors.field_errors.push_back(
                  {"ids", "must be an array of 1 to 100 transfer log ids"});
            } else {
              for (rapidjson::SizeType index = 0; index < ids->Size(); ++index) {
                const rapidjson::Value& id = (*ids)[index];
                if (!id.IsInt64() || id.GetInt64() < 1) {
                  errors.field_errors.push_back(
                      {"ids." + std::to_string(index), "must be a positive integer"});
                  continue;
                }
                log_ids.push_back(id.GetInt64());
              }
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto results = delivery->UndoMany(who.user.id, log_ids);
            int64_t undone = 0;
            json::Writer writer;
            writer.StartObject();
            writer.Field("message", "Transfers undone.");
            writer.Key("data").StartArray();
            for (const delivery::UndoResult& result : results) {
              writer.StartObject();
              writer.Field("transfer_log_id", result.transfer_log_id);
              writer.Field("undone", result.undo_log.has_value());
              writer.Key("undo_log");
              if (result.undo_log) {
                WriteLog(writer, *result.undo_log);
                ++undone;
              } else {
                writer.Null();
              }
              writer.Key("error");
              if (result.error) {
                writer.StartObject();
                writer.Field("status",
                             static_cast<int64_t>(http::HttpStatusFor(result.error->code)));
                writer.Field("code", http::MachineCodeFor(result.error->code));
                writer.Field("detail", result.error->detail);
                writer.EndObject();
              } else {
                writer.Null();
              }
              writer.EndObject();
            }
            writer.EndArray();
            writer.Key("meta").StartObject();
            writer.Field("undone", undone);
            writer.Field("failed", static_cast<int64_t>(results.size()) - undone);
            writer.EndObject();
            writer.EndObject();
            response.Json(200, writer.str());
          }));
  router.Add(
      "GET", "/api/v1/stats/transfers",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            Error errors = Invalid();
            auto today = domain::Timestamp::FromUnixTimeMs(context.clock.NowMilliseconds());
            delivery::TransferStatisticsRequest query;
            query.to = QueryDate(request, "date_to", errors).value_or(today->date());
            auto from = QueryDate(request, "date_from", errors);
            query.transfer_link_id =
                QueryInteger(request, "transfer_link_id", 1, INT64_MAX, errors);
            if (auto group = request.Query("group_by")) {
              if (*group == "month") {
                query.by_month = true;
              } else if (*group != "day") {
                errors.field_errors.push_back({"group_by", "must be day or month"});
              }
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            query.from =
                from.value_or(query.to.AddDays(1 - kStatisticsDaysDefault).value_or(query.to));
            if (query.from > query.to) {
              errors.field_errors.push_back({"date_to", "must not be before date_from"});
            } else if (query.to.days_since_epoch() - query.from.days_since_epoch() >=
                       kStatisticsDaysMax) {
              errors.field_errors.push_back({"date_from", "must be within 10 years of date_to"});
            }
            if (!errors.field_errors.empty()) return RespondError(request, response, errors);
            auto statistics = delivery->Statistics(who.user.id, query);
            if (!statistics.ok()) return RespondError(request, response, statistics.error());
            const delivery::TransferStatistics& stats = statistics.value();
            RespondObject(response, 200, "", [&](json::Writer& writer) {
              writer.StartObject();
              writer.Field("date_from", domain::FormatDate(query.from));
              writer.Field("date_to", domain::FormatDate(query.to));
              writer.Field("group_by", query.by_month ? "month" : "day");
              writer.Key("transfer_link_id");
              if (query.transfer_link_id) {
                writer.Int(*query.transfer_link_id);
              } else {
                writer.Null();
              }
              writer.Key("totals");
              WriteCounts(writer, stats.totals);
              writer.Key("transferred_amounts").StartArray();
              for (const auto& [currency, minor] : stats.transferred_minor_by_currency) {
                writer.StartObject();
                writer.Field("currency", currency);
                writer.Field("amount", Amount(minor, currency));
                writer.EndObject();
              }
              writer.EndArray();
              writer.Key("by_transfer_link").StartArray();
              for (const auto& [link_id, counts] : stats.by_link) {
                writer.StartObject();
                writer.Field("transfer_link_id", link_id);
                writer.Key("counts");
                WriteCounts(writer, counts);
                writer.EndObject();
              }
              writer.EndArray();
              writer.Key("series").StartArray();
              for (const auto& [period, counts] : stats.series) {
                writer.StartObject();
                writer.Field("period", period);
                writer.Key("counts");
                WriteCounts(writer, counts);
                writer.EndObject();
              }
              writer.EndArray();
              writer.EndObject();
            });
          }));
}

void WriteWebhookDestination(json::Writer& writer, const delivery::WebhookDestinationRecord& record,
                             const std::string* secret) {
  writer.StartObject();
  writer.Field("id", record.id);
  writer.Field("type", "WEBHOOK");
  writer.Field("name", record.name);
  writer.Field("url", record.url);
  writer.Field("omit_sensitive_identifiers", record.omit_sensitive);
  writer.Key("health").StartObject();
  writer.Field("status", record.health_status);
  writer.Field("integrator_message", record.health_message);
  writer.Field("failure_count", record.failure_count);
  WriteOptionalTime(writer, "last_attempt_at", record.last_attempt_at_ms);
  writer.EndObject();
  if (secret != nullptr) writer.Field("secret", *secret);
  WriteOptionalTime(writer, "created_at", record.created_at_ms);
  WriteOptionalTime(writer, "updated_at", record.updated_at_ms);
  writer.EndObject();
}

Result<delivery::WebhookDestinationPatch> ParseDestinationBody(const Request& request) {
  auto body = OptionalBody(request);
  if (!body.ok()) return body.error();
  Error errors = Invalid();
  delivery::WebhookDestinationPatch patch;
  patch.name = OptionalString(body.value(), "name", "name", errors);
  patch.url = OptionalString(body.value(), "url", "url", errors);
  patch.omit_sensitive = OptionalBool(body.value(), "omit_sensitive_identifiers",
                                      "omit_sensitive_identifiers", errors);
  if (!errors.field_errors.empty()) return errors;
  return patch;
}

}  // namespace

void RegisterTransferRoutes(http::Router& router, ApiContext& context,
                            delivery::DeliveryService& delivery) {
  RegisterLinkRoutes(router, context, &delivery);
  RegisterLogRoutes(router, context, &delivery);
}

void RegisterWebhookDestinationRoutes(http::Router& router, ApiContext& context,
                                      delivery::WebhookDestinations& destinations) {
  delivery::WebhookDestinations* service = &destinations;
  auto respond = [](Request& request, Response& response,
                    const Result<delivery::WebhookDestinationRecord>& record, unsigned status,
                    std::string_view message) {
    if (!record.ok()) return RespondError(request, response, record.error());
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteWebhookDestination(writer, record.value(), nullptr);
    });
  };
  router.Add("GET", "/api/v1/webhook-destinations",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto records = service->List(who.user.id);
                             if (!records.ok())
                               return RespondError(request, response, records.error());
                             json::Writer writer;
                             writer.StartObject().Key("data").StartArray();
                             for (const auto& record : records.value()) {
                               WriteWebhookDestination(writer, record, nullptr);
                             }
                             writer.EndArray();
                             writer.Key("meta").StartObject();
                             writer.Field("total", static_cast<int64_t>(records.value().size()));
                             writer.EndObject();
                             writer.Key("links").StartObject().EndObject().EndObject();
                             response.Json(200, writer.str());
                           }));
  auto respond_secret = [](Response& response, const delivery::WebhookDestinationRecord& record,
                           const std::string& secret, unsigned status, std::string_view message) {
    auto render = [&](const std::string* shown) {
      json::Writer writer;
      writer.StartObject();
      writer.Field("message", message);
      writer.Key("data");
      WriteWebhookDestination(writer, record, shown);
      writer.EndObject();
      return writer.str();
    };
    response.Json(status, render(&secret));
    // A replay of this request answers without the secret: it is shown once, never stored.
    response.body_for_replay = render(nullptr);
  };
  router.Add("POST", "/api/v1/webhook-destinations",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto patch = ParseDestinationBody(request);
                             if (!patch.ok()) return RespondError(request, response, patch.error());
                             auto created = service->Create(who.user.id, patch.value());
                             if (!created.ok())
                               return RespondError(request, response, created.error());
                             respond_secret(response, created.value().first, created.value().second,
                                            201, "Webhook destination created.");
                           }));
  router.Add("GET", "/api/v1/webhook-destinations/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The webhook destination");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond(request, response, service->Get(who.user.id, id.value()), 200,
                                     "");
                           }));
  router.Add("PUT", "/api/v1/webhook-destinations/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The webhook destination");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto patch = ParseDestinationBody(request);
                             if (!patch.ok()) return RespondError(request, response, patch.error());
                             respond(request, response,
                                     service->Update(who.user.id, id.value(), patch.value()), 200,
                                     "Webhook destination updated.");
                           }));
  router.Add("POST", "/api/v1/webhook-destinations/{id}/rotate-secret",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The webhook destination");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto secret = service->RotateSecret(who.user.id, id.value());
                             if (!secret.ok())
                               return RespondError(request, response, secret.error());
                             auto record = service->Get(who.user.id, id.value());
                             if (!record.ok())
                               return RespondError(request, response, record.error());
                             respond_secret(response, record.value(), secret.value(), 200,
                                            "Secret rotated.");
                           }));
  router.Add("DELETE", "/api/v1/webhook-destinations/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The webhook destination");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted = service->Delete(who.user.id, id.value());
                             if (!deleted.ok())
                               return RespondError(request, response, deleted.error());
                             response.NoContent();
                           }));
}

}  // namespace finsync::api
