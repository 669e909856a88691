#include "api/ynab_api.h"

#include "api/fields.h"

#include <cctype>
#include "common/json.h"
#include "domain/currency.h"
#include "domain/date.h"
#include "domain/money.h"

namespace finsync::api {

namespace {

namespace ynab = delivery::ynab;
using http::Request;
using http::Response;
using identity::Principal;

constexpr int64_t kDefaultLimit = 50;

Error InvalidField(std::string field, std::string message) {
  return Error{ErrorCode::kValidationFailed,
               "The given data was invalid.",
               {{std::move(field), std::move(message)}}};
}

// Milliunits as exact decimal text in the budget currency's minor unit ("-294.23" for EUR),
// or with three decimals when the currency is unknown or the amount has finer digits.
std::string FormatMilliunits(int64_t milliunits, std::string_view currency) {
  if (auto parsed = domain::Currency::FromCode(currency)) {
    auto minor = domain::MilliunitsToMinor(milliunits, parsed->exponent());
    if (minor.ok()) return domain::FormatDecimalAmount(minor.amount, parsed->exponent());
  }
  return domain::FormatDecimalAmount(milliunits, 3);
}

void WriteHealth(json::Writer& writer, const sync::Health& health) {
  writer.Key("health").StartObject();
  writer.Field("status", sync::HealthStatusName(health.status));
  writer.Field("integrator_message", health.integrator_message);
  writer.Field("failure_count", health.failure_count);
  WriteOptionalTime(writer, "last_attempt_at", health.last_attempt_at_ms);
  writer.EndObject();
}

void WriteAccount(json::Writer& writer, const ynab::YnabBudgetAccount& a) {
  writer.StartObject();
  writer.Field("id", a.id);
  writer.Field("budget_id", a.budget_id);
  writer.Field("ynab_id", a.ynab_id);
  WriteHealth(writer, a.health);
  writer.Field("name", a.name);
  writer.Field("type", a.type);
  writer.Field("on_budget", a.on_budget);
  writer.Field("closed", a.closed);
  writer.Field("note", a.note);
  writer.Field("currency", a.currency);
  writer.Field("balance", FormatMilliunits(a.balance_milliunits, a.currency));
  writer.Field("cleared_balance", FormatMilliunits(a.cleared_balance_milliunits, a.currency));
  writer.Field("uncleared_balance", FormatMilliunits(a.uncleared_balance_milliunits, a.currency));
  writer.Field("transfer_payee_id", a.transfer_payee_id);
  writer.Field("direct_import_linked", a.direct_import_linked);
  writer.Field("last_reconciled_at", a.last_reconciled_at);
  writer.Field("created_at", FormatTimeMs(a.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(a.updated_at_ms));
  writer.EndObject();
}

void WriteConnectionFields(json::Writer& writer, const ynab::YnabConnection& c) {
  writer.Field("id", c.id);
  WriteHealth(writer, c.health);
  writer.Field("enabled", c.enabled);
  writer.Key("auth_url").Null();  // Personal access tokens need no authorisation page.
  writer.Field("sync_balances", c.sync_balances);
  writer.Field("sync_payees", c.sync_payees);
  writer.Field("sync_categories", c.sync_categories);
  writer.Field("sync_transactions", c.sync_transactions);
  writer.Field("ynab_user_id", c.ynab_user_id);
}

// A budget; `connection` nests the connection (without its budgets), `accounts` the accounts.
void WriteBudget(json::Writer& writer, const ynab::YnabBudget& b,
                 const ynab::YnabConnection* connection,
                 const std::vector<ynab::YnabBudgetAccount>* accounts) {
  writer.StartObject();
  writer.Field("id", b.id);
  writer.Field("connection_id", b.connection_id);
  if (connection != nullptr) {
    writer.Key("connection").StartObject();
    WriteConnectionFields(writer, *connection);
    WriteOptionalTime(writer, "last_synced_at", connection->last_synced_at_ms);
    writer.Field("created_at", FormatTimeMs(connection->created_at_ms));
    writer.Field("updated_at", FormatTimeMs(connection->updated_at_ms));
    writer.EndObject();
  }
  writer.Field("ynab_id", b.ynab_id);
  writer.Field("enabled", b.enabled);
  writer.Field("name", b.name);
  writer.Field("currency", b.currency);
  writer.Field("first_month", b.first_month);
  writer.Field("last_month", b.last_month);
  if (accounts != nullptr) {
    writer.Key("accounts").StartArray();
    for (const auto& account : *accounts) WriteAccount(writer, account);
    writer.EndArray();
  }
  WriteOptionalTime(writer, "last_synced_at", b.last_synced_at_ms);
  writer.Field("created_at", FormatTimeMs(b.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(b.updated_at_ms));
  writer.EndObject();
}

void WriteConnection(json::Writer& writer, const ynab::YnabConnection& c,
                     const std::vector<ynab::YnabBudget>& budgets) {
  writer.StartObject();
  WriteConnectionFields(writer, c);
  writer.Key("budgets").StartArray();
  for (const auto& budget : budgets) {
    if (budget.connection_id == c.id) WriteBudget(writer, budget, nullptr, nullptr);
  }
  writer.EndArray();
  WriteOptionalTime(writer, "last_synced_at", c.last_synced_at_ms);
  writer.Field("created_at", FormatTimeMs(c.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(c.updated_at_ms));
  writer.EndObject();
}

void WritePayee(json::Writer& writer, const ynab::YnabPayee& p) {
  writer.StartObject();
  writer.Field("id", p.id);
  writer.Field("budget_id", p.budget_id);
  writer.Field("ynab_id", p.ynab_id);
  writer.Field("name", p.name);
  writer.Field("transfer_account_id", p.transfer_account_id);
  writer.Field("deleted", p.deleted);
  writer.Field("created_at", FormatTimeMs(p.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(p.updated_at_ms));
  writer.EndObject();
}

void WriteCategory(json::Writer& writer, const ynab::YnabCategory& c) {
  writer.StartObject();
  writer.Field("id", c.id);
  writer.Field("budget_id", c.budget_id);
  writer.Field("ynab_id", c.ynab_id);
  writer.Field("category_group_id", c.category_group_id);
  writer.Field("category_group_name", c.category_group_name);
  writer.Field("name", c.name);
  writer.Field("hidden", c.hidden);
  writer.Field("deleted", c.deleted);
  writer.Field("created_at", FormatTimeMs(c.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(c.updated_at_ms));
  writer.EndObject();
}

void WriteTransaction(json::Writer& writer, const ynab::YnabBudgetTransaction& t) {
  writer.StartObject();
  writer.Field("id", t.id);
  writer.Field("budget_id", t.budget_id);
  writer.Field("ynab_id", t.ynab_id);
  writer.Key("account_id");
  if (t.account_id) {
    writer.Int(*t.account_id);
  } else {
    writer.Null();
  }
  writer.Field("account_ynab_id", t.account_ynab_id);
  writer.Field("date", t.date);
  writer.Field("amount", FormatMilliunits(t.amount_milliunits, t.currency));
  writer.Field("amount_milliunits", t.amount_milliunits);
  writer.Field("currency", t.currency);
  writer.Field("memo", t.memo);
  writer.Field("cleared", t.cleared);
  writer.Field("approved", t.approved);
  writer.Field("flag_color", t.flag_color);
  writer.Field("payee_id", t.payee_id);
  writer.Field("payee_name", t.payee_name);
  writer.Field("category_id", t.category_id);
  writer.Field("category_name", t.category_name);
  writer.Field("import_id", t.import_id);
  writer.Field("deleted", t.deleted);
  writer.Field("created_at", FormatTimeMs(t.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(t.updated_at_ms));
  writer.EndObject();
}

template <typename Item, typename WriteFunction>
void RespondList(Response& response, const std::vector<Item>& items, WriteFunction write) {
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const auto& item : items) write(writer, item);
  writer.EndArray();
  writer.Key("meta").StartObject().Field("total", static_cast<int64_t>(items.size()));
  writer.EndObject();
  writer.Key("links").StartObject().EndObject();
  writer.EndObject();
  response.Json(200, writer.str());
}

// ---- paging: page tokens are the hex of the mirror's keyset position -----------------------

std::string Hex(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view text) {
  if (text.size() % 2 != 0 || text.size() > 200) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = digit(text[i]);
    const int low = digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

Result<ynab::PageRequest> ParseKeysetPage(const Request& request) {
  ynab::PageRequest page;
  page.limit = kDefaultLimit;
  if (auto limit = request.Query("limit")) {
    const auto parsed = ParseId(*limit);
    if (!parsed || *parsed > ynab::kPageLimitMax) {
      return InvalidField("limit", "must be an integer from 1 to 500");
    }
    page.limit = *parsed;
  }
  if (auto token = request.Query("page_token"); token && !token->empty()) {
    auto position = Unhex(*token);
    if (!position) return InvalidField("page_token", "is not a page token from this list");
    page.after = std::move(position);
  }
  return page;
}

std::string Encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

std::string NextUrl(const Request& request, const std::string& token) {
  std::string url = request.path + "?";
  for (const auto& [key, value] : request.QueryParams()) {
    if (key == "page_token") continue;
    url += Encode(key) + "=" + Encode(value) + "&";
  }
  return url + "page_token=" + token;
}

template <typename T, typename WriteFunction>
void RespondPage(const Request& request, Response& response, const ynab::Page<T>& page,
                 int64_t limit, WriteFunction write) {
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const auto& item : page.items) write(writer, item);
  writer.EndArray();
  const std::optional<std::string> token =
      page.next ? std::optional<std::string>(Hex(*page.next)) : std::nullopt;
  writer.Key("meta").StartObject();
  writer.Field("limit", limit);
  writer.Field("next_page_token", token);
  writer.Field("has_more", token.has_value());
  writer.EndObject();
  writer.Key("links").StartObject();
  writer.Key("next");
  if (token) {
    writer.String(NextUrl(request, *token));
  } else {
    writer.Null();
  }
  writer.EndObject();
  writer.EndObject();
  response.Json(200, writer.str());
}

// ---- request bodies ------------------------------------------------------------------------

Result<ynab::NewYnabConnection> ParseNewConnection(const Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  const rapidjson::Document& root = body.value();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  ynab::NewYnabConnection connection;
  auto token = OptionalString(root, "access_token", "access_token", errors);
  if (!token && errors.field_errors.empty()) {
    errors.field_errors.push_back({"access_token", "is required"});
  } else if (token && (token->empty() || token->size() > ynab::kAccessTokenMaxLength)) {
    errors.field_errors.push_back({"access_token", "must be 1 to 1000 characters"});
  } else if (token) {
    for (unsigned char c : *token) {
      if (c <= ' ' || c >= 0x7F) {
        errors.field_errors.push_back(
            {"access_token", "must be printable ASCII without spaces, as YNAB issues them"});
        break;
      }
    }
    connection.access_token = *token;
  }
  for (auto [name, target] : {std::pair{"sync_balances", &connection.sync_balances},
                              std::pair{"sync_payees", &connection.sync_payees},
                              std::pair{"sync_categories", &connection.sync_categories},
                              std::pair{"sync_transactions", &connection.sync_transactions}}) {
    if (auto value = OptionalBool(root, name, name, errors)) *target = *value;
  }
  if (!errors.field_errors.empty()) return errors;
  return connection;
}

Result<ynab::BudgetUpdate> ParseBudgetUpdate(const Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  ynab::BudgetUpdate update;
  update.enabled = OptionalBool(body.value(), "enabled", "enabled", errors);
  if (!errors.field_errors.empty()) return errors;
  return update;
}

Result<ynab::TransactionFilter> ParseTransactionFilter(const Request& request) {
  ynab::TransactionFilter filter;
  if (auto account = request.Query("account_id")) {
    filter.account_id = ParseId(*account);
    if (!filter.account_id) return InvalidField("account_id", "must be a YNAB budget account id");
  }
  for (auto [name, target] :
       {std::pair{"since_date", &filter.since_date}, std::pair{"until_date", &filter.until_date}}) {
    if (auto date = request.Query(name)) {
      if (!domain::ParseDate(*date).ok()) return InvalidField(name, "must be a date (YYYY-MM-DD)");
      *target = *date;
    }
  }
  if (auto deleted = request.Query("include_deleted")) {
    if (*deleted != "true" && *deleted != "false") {
      return InvalidField("include_deleted", "must be true or false");
    }
    filter.include_deleted = *deleted == "true";
  }
  return filter;
}

}  // namespace

void RegisterYnabRoutes(http::Router& router, ApiContext& context, ynab::YnabMirror& mirror) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  ynab::YnabMirror* service = &mirror;

  auto respond_connection = [service](Request& request, Response& response,
                                      const Result<ynab::YnabConnection>& connection,
                                      unsigned status, std::string_view message) {
    if (!connection.ok()) return RespondError(request, response, connection.error());
    auto budgets = service->ListBudgets(connection.value().user_id, connection.value().id);
    if (!budgets.ok()) return RespondError(request, response, budgets.error());
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteConnection(writer, connection.value(), budgets.value());
    });
  };
  auto respond_budget = [service](Request& request, Response& response,
                                  const Result<ynab::YnabBudget>& budget) {
    if (!budget.ok()) return RespondError(request, response, budget.error());
    auto connection = service->GetConnection(budget.value().user_id, budget.value().connection_id);
    if (!connection.ok()) return RespondError(request, response, connection.error());
    auto accounts = service->ListAccounts(budget.value().user_id, budget.value().id);
    if (!accounts.ok()) return RespondError(request, response, accounts.error());
    RespondObject(response, 200, "", [&](json::Writer& writer) {
      WriteBudget(writer, budget.value(), &connection.value(), &accounts.value());
    });
  };
  auto with_id = [](std::string_view name, std::string_view what, auto handler) {
    return [name, what, handler](Request& request, Response& response, const Principal& who) {
      auto id = PathId(request, name, "The " + std::string(what));
      if (!id.ok()) return RespondError(request, response, id.error());
      handler(request, response, who, id.value());
    };
  };

  // Connections.
  router.Add("GET", "/api/v1/ynab/connections",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             auto connections = service->ListConnections(who.user.id);
                             if (!connections.ok())
                               return RespondError(request, response, connections.error());
                             auto budgets = service->ListBudgets(who.user.id, std::nullopt);
                             if (!budgets.ok())
                               return RespondError(request, response, budgets.error());
                             RespondList(response, connections.value(),
                                         [&](json::Writer& writer, const auto& connection) {
                                           WriteConnection(writer, connection, budgets.value());
                                         });
                           }));
  router.Add("POST", "/api/v1/ynab/connections",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection](Request& request, Response& response,
                                                         const Principal& who) {
                             auto parsed = ParseNewConnection(request);
                             if (!parsed.ok())
                               return RespondError(request, response, parsed.error());
                             respond_connection(
                                 request, response,
                                 service->CreateConnection(who.user.id, parsed.value()), 201,
                                 "YNAB connection created.");
                           }));
  router.Add(
      "GET", "/api/v1/ynab/connections/{id}",
      Authenticated(context, kScopeRead,
                    with_id("id", "YNAB connection",
                            [service, respond_connection](Request& request, Response& response,
                                                          const Principal& who, int64_t id) {
                              respond_connection(request, response,
                                                 service->GetConnection(who.user.id, id), 200, "");
                            })));
  router.Add("DELETE", "/api/v1/ynab/connections/{id}",
             Authenticated(context, kScopeWrite,
                           with_id("id", "YNAB connection",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     Status deleted = service->DeleteConnection(who.user.id, id);
                                     if (!deleted.ok())
                                       return RespondError(request, response, deleted.error());
                                     response.NoContent();
                                   })));
  router.Add("POST", "/api/v1/ynab/connections/{id}/sync",
             Authenticated(
                 context, kScopeWrite,
                 with_id("id", "YNAB connection",
                         [service, respond_connection](Request& request, Response& response,
                                                       const Principal& who, int64_t id) {
                           respond_connection(request, response,
                                              service->RefreshConnection(who.user.id, id), 200, "");
                         })));

  // Budgets.
  router.Add("GET", "/api/v1/ynab/budgets",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             std::optional<int64_t> connection_id;
                             auto filter = request.Query("connection_id");
                             if (!filter) filter = request.Query("filter[connection_id]");
                             if (filter) {
                               connection_id = ParseId(*filter);
                               if (!connection_id) {
                                 return RespondError(
                                     request, response,
                                     InvalidField("connection_id", "must be a YNAB connection id"));
                               }
                             }
                             auto budgets = service->ListBudgets(who.user.id, connection_id);
                             if (!budgets.ok())
                               return RespondError(request, response, budgets.error());
                             RespondList(response, budgets.value(),
                                         [](json::Writer& writer, const ynab::YnabBudget& budget) {
                                           WriteBudget(writer, budget, nullptr, nullptr);
                                         });
                           }));
  router.Add("GET", "/api/v1/ynab/budgets/{id}",
             Authenticated(context, kScopeRead,
                           with_id("id", "YNAB budget",
                                   [service, respond_budget](Request& request, Response& response,
                                                             const Principal& who, int64_t id) {
                                     respond_budget(request, response,
                                                    service->GetBudget(who.user.id, id));
                                   })));
  router.Add("PUT", "/api/v1/ynab/budgets/{id}",
             Authenticated(context, kScopeWrite,
                           with_id("id", "YNAB budget",
                                   [service, respond_budget](Request& request, Response& response,
                                                             const Principal& who, int64_t id) {
                                     auto update = ParseBudgetUpdate(request);
                                     if (!update.ok())
                                       return RespondError(request, response, update.error());
                                     respond_budget(
                                         request, response,
                                         service->UpdateBudget(who.user.id, id, update.value()));
                                   })));
  router.Add("DELETE", "/api/v1/ynab/budgets/{id}",
             Authenticated(context, kScopeWrite,
                           with_id("id", "YNAB budget",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     Status deleted = service->DeleteBudget(who.user.id, id);
                                     if (!deleted.ok())
                                       return RespondError(request, response, deleted.error());
                                     response.NoContent();
                                   })));

  // Accounts.
  router.Add("GET", "/api/v1/ynab/budgets/{id}/accounts",
             Authenticated(context, kScopeRead,
                           with_id("id", "YNAB budget",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     auto accounts = service->ListAccounts(who.user.id, id);
                                     if (!accounts.ok())
                                       return RespondError(request, response, accounts.error());
                                     RespondList(response, accounts.value(),
                                                 [](json::Writer& writer, const auto& account) {
                                                   WriteAccount(writer, account);
                                                 });
                                   })));
  auto account_route = [service](bool remove) {
    return [service, remove](Request& request, Response& response, const Principal& who) {
      auto budget_id = PathId(request, "id", "The YNAB budget");
      if (!budget_id.ok()) return RespondError(request, response, budget_id.error());
      auto account_id = PathId(request, "account_id", "The YNAB budget account");
      if (!account_id.ok()) return RespondError(request, response, account_id.error());
      if (remove) {
        Status deleted = service->DeleteAccount(who.user.id, budget_id.value(), account_id.value());
        if (!deleted.ok()) return RespondError(request, response, deleted.error());
        return response.NoContent();
      }
      auto account = service->GetAccount(who.user.id, budget_id.value(), account_id.value());
      if (!account.ok()) return RespondError(request, response, account.error());
      RespondObject(response, 200, "",
                    [&](json::Writer& writer) { WriteAccount(writer, account.value()); });
    };
  };
  router.Add("GET", "/api/v1/ynab/budgets/{id}/accounts/{account_id}",
             Authenticated(context, kScopeRead, account_route(false)));
  router.Add("DELETE", "/api/v1/ynab/budgets/{id}/accounts/{account_id}",
             Authenticated(context, kScopeWrite, account_route(true)));

  // Payees, categories, transactions (keyset pages).
  router.Add("GET", "/api/v1/ynab/budgets/{id}/payees",
             Authenticated(context, kScopeRead,
                           with_id("id", "YNAB budget",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     auto page = ParseKeysetPage(request);
                                     if (!page.ok())
                                       return RespondError(request, response, page.error());
                                     auto payees =
                                         service->ListPayees(who.user.id, id, page.value());
                                     if (!payees.ok())
                                       return RespondError(request, response, payees.error());
                                     RespondPage(request, response, payees.value(),
                                                 page.value().limit, WritePayee);
                                   })));
  router.Add("GET", "/api/v1/ynab/budgets/{id}/categories",
             Authenticated(context, kScopeRead,
                           with_id("id", "YNAB budget",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     auto page = ParseKeysetPage(request);
                                     if (!page.ok())
                                       return RespondError(request, response, page.error());
                                     auto categories =
                                         service->ListCategories(who.user.id, id, page.value());
                                     if (!categories.ok())
                                       return RespondError(request, response, categories.error());
                                     RespondPage(request, response, categories.value(),
                                                 page.value().limit, WriteCategory);
                                   })));
  router.Add("GET", "/api/v1/ynab/budgets/{id}/transactions",
             Authenticated(context, kScopeRead,
                           with_id("id", "YNAB budget",
                                   [service](Request& request, Response& response,
                                             const Principal& who, int64_t id) {
                                     auto page = ParseKeysetPage(request);
                                     if (!page.ok())
                                       return RespondError(request, response, page.error());
                                     auto filter = ParseTransactionFilter(request);
                                     if (!filter.ok())
                                       return RespondError(request, response, filter.error());
                                     auto transactions = service->ListTransactions(
                                         who.user.id, id, filter.value(), page.value());
                                     if (!transactions.ok())
                                       return RespondError(request, response, transactions.error());
                                     RespondPage(request, response, transactions.value(),
                                                 page.value().limit, WriteTransaction);
                                   })));
}

}  // namespace finsync::api
