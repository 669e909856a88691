#include "api/statistics_api.h"

#include "api/fields.h"

#include <string_view>
#include <vector>

#include "common/json.h"
#include "domain/date.h"
#include "domain/money.h"
#include "sync/statistics.h"

namespace finsync::api {

namespace {

// Writes the fields of one flow into the open object: exact decimals plus the minor units.
void WriteFlowFields(json::Writer& writer, const sync::MoneyFlow& flow) {
  writer.Field("currency", flow.currency);
  writer.Field("count", flow.count);
  writer.Field("in_count", flow.in_count);
  writer.Field("out_count", flow.out_count);
  writer.Field("in", domain::FormatDecimalAmount(flow.in_minor, flow.exponent));
  writer.Field("out", domain::FormatDecimalAmount(flow.out_minor, flow.exponent));
  writer.Field("net", domain::FormatDecimalAmount(flow.net_minor, flow.exponent));
  writer.Field("in_minor", flow.in_minor);
  writer.Field("out_minor", flow.out_minor);
  writer.Field("net_minor", flow.net_minor);
}

std::string_view PeriodName(sync::StatisticsPeriod period) {
  return period == sync::StatisticsPeriod::kMonth ? "month" : "day";
}

std::string TransactionStatisticsJson(const sync::TransactionStatisticsQuery& query,
                                      const sync::TransactionStatistics& statistics) {
  json::Writer writer;
  writer.StartObject().Key("data").StartObject();
  writer.Field("date_from", domain::FormatDate(query.date_from));
  writer.Field("date_to", domain::FormatDate(query.date_to));
  writer.Field("group_by", PeriodName(query.group_by));
  writer.Key("totals").StartArray();
  for (const auto& flow : statistics.totals) {
    writer.StartObject();
    WriteFlowFields(writer, flow);
    writer.EndObject();
  }
  writer.EndArray().Key("periods").StartArray();
  for (const auto& entry : statistics.periods) {
    writer.StartObject().Field("period", entry.period);
    WriteFlowFields(writer, entry.flow);
    writer.EndObject();
  }
  writer.EndArray().Key("accounts").StartArray();
  for (const auto& entry : statistics.accounts) {
    writer.StartObject().Field("bank_account_id", entry.bank_account_id);
    WriteFlowFields(writer, entry.flow);
    writer.EndObject();
  }
  writer.EndArray().EndObject().EndObject();
  return writer.str();
}

void HandleTransactionStatistics(ApiContext& context, http::Request& request,
                                 http::Response& response, const identity::Principal& principal) {
  auto now = domain::Timestamp::FromUnixTimeMs(context.clock.NowMilliseconds());
  domain::Date today = now ? now->date() : domain::Date();
  auto params = request.QueryParams();
  auto query = sync::ParseTransactionStatisticsQuery(params, today);
  if (!query.ok()) return RespondError(request, response, query.error());
  sync::StatisticsService service(context.database);
  auto statistics = service.Transactions(principal.user.id, query.value());
  if (!statistics.ok()) return RespondError(request, response, statistics.error());
  response.Json(200, TransactionStatisticsJson(query.value(), statistics.value()));
}

// {"total": n, "<key>": {"VALUE": count, ...}}-style objects keep clients free of lookups.
void WriteCounts(json::Writer& writer, std::string_view key,
                 const std::vector<sync::StatusCount>& counts) {
  writer.Key(key).StartObject();
  for (const auto& entry : counts) writer.Field(entry.status, entry.count);
  writer.EndObject();
}

std::string UserStatisticsJson(const sync::UserStatistics& statistics) {
  json::Writer writer;
  writer.StartObject().Key("data").StartObject();
  writer.Key("bank_connections").StartObject().Field("total", statistics.bank_connection_count);
  WriteCounts(writer, "by_status", statistics.bank_connections_by_status);
  WriteCounts(writer, "by_health", statistics.bank_connections_by_health);
  writer.EndObject();
  writer.Key("bank_accounts").StartObject().Field("total", statistics.bank_account_count);
  WriteCounts(writer, "by_health", statistics.bank_accounts_by_health);
  WriteOptionalTime(writer, "transactions_last_synced_at", statistics.last_transactions_sync_at_ms);
  writer.EndObject();
  writer.Key("bank_transactions").StartObject();
  writer.Field("total", statistics.transaction_count);
  writer.Field("booked", statistics.booked_transaction_count);
  writer.Field("pending", statistics.pending_transaction_count);
  writer.Field("oldest_date", statistics.oldest_transaction_date);
  writer.Field("newest_date", statistics.newest_transaction_date);
  writer.EndObject();
  writer.Key("rules").StartObject().Field("total", statistics.rule_count);
  writer.Field("enabled", statistics.enabled_rule_count).EndObject();
  writer.Key("rule_logs_last_30_days").StartObject();
  writer.Field("total", statistics.recent_rule_log_count);
  writer.Field("failed", statistics.recent_failed_rule_log_count).EndObject();
  writer.EndObject().EndObject();
  return writer.str();
}

void HandleUserStatistics(ApiContext& context, http::Request& request, http::Response& response,
                          const identity::Principal& principal) {
  if (!request.QueryParams().empty()) {
    Error invalid = Error::Of(ErrorCode::kValidationFailed, "The query parameters are invalid.");
    for (const auto& [name, value] : request.QueryParams()) {
      invalid.field_errors.push_back({name, "is not a known parameter"});
    }
    return RespondError(request, response, invalid);
  }
  sync::StatisticsService service(context.database);
  auto statistics = service.User(principal.user.id, context.clock.NowMilliseconds());
  if (!statistics.ok()) return RespondError(request, response, statistics.error());
  response.Json(200, UserStatisticsJson(statistics.value()));
}

}  // namespace

void RegisterStatisticsRoutes(http::Router& router, ApiContext& context) {
  router.Add("GET", "/api/v1/stats/bank/transactions",
             Authenticated(context, identity::kScopeRead,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             HandleTransactionStatistics(context, request, response, principal);
                           }));
  router.Add("GET", "/api/v1/stats/user",
             Authenticated(context, identity::kScopeRead,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             HandleUserStatistics(context, request, response, principal);
                           }));
}

}  // namespace finsync::api
