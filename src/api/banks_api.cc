#include "api/banks_api.h"

#include "api/fields.h"

#include "common/json.h"
#include "domain/money.h"

namespace finsync::api {

namespace {

using sync::BankAccount;
using sync::BankConnection;

void WriteBank(json::Writer& writer, const sources::Bank& bank) {
  writer.StartObject();
  writer.Field("id", bank.id);
  writer.Field("name", bank.name);
  writer.Field("bic", bank.bic);
  writer.Field("logo", bank.logo_url);
  writer.Field("country", bank.countries.empty() ? std::string() : bank.countries[0]);
  writer.Key("countries").StartArray();
  for (const auto& country : bank.countries) writer.String(country);
  writer.EndArray();
  writer.Field("integrator", bank.integrator);
  writer.Field("supported", true);
  writer.Field("supports_pending_transactions", bank.supports_pending_transactions);
  writer.Field("supports_card_accounts", false);
  writer.Field("max_historical_days", int64_t{bank.max_historical_days});
  writer.Field("max_access_valid_for_days", int64_t{bank.max_access_valid_for_days});
  writer.EndObject();
}

void WriteHealth(json::Writer& writer, const sync::Health& health) {
  writer.Key("health").StartObject();
  writer.Field("status", sync::HealthStatusName(health.status));
  writer.Field("integrator_message", health.integrator_message);
  writer.Field("failure_count", health.failure_count);
  WriteOptionalTime(writer, "last_attempt_at", health.last_attempt_at_ms);
  writer.EndObject();
}

std::string FormatMinor(int64_t amount_minor, std::string_view currency) {
  auto parsed = domain::Currency::FromCode(currency);
  return domain::FormatDecimalAmount(amount_minor, parsed ? parsed->exponent() : 2);
}

void WriteAccount(json::Writer& writer, const BankAccount& account,
                  const BankConnection* connection) {
  const sync::AccountSettings& s = account.settings;
  writer.StartObject();
  writer.Field("id", account.id);
  writer.Field("bank_connection_id", account.bank_connection_id);
  writer.Key("config").StartObject();
  writer.Key("generated").StartObject();
  writer.Field("payee", ingest::TextSourceName(s.payee_source));
  writer.Field("description", ingest::TextSourceName(s.description_source));
  writer.Field("date", ingest::DateSourceName(s.date_source));
  writer.EndObject();
  writer.Key("sync_start_date");
  if (s.sync_start_date) {
    writer.String(domain::FormatDate(*s.sync_start_date));
  } else {
    writer.Null();
  }
  writer.Field("sync_auto", s.sync_auto);
  writer.Field("sync_pending_transactions", s.sync_pending_transactions);
  writer.Field("sync_balances", s.sync_balances);
  writer.Field("sync_frequency_in_minutes", int64_t{s.sync_frequency_in_minutes});
  writer.Key("fields_for_duplicate_filtering").StartArray();
  for (auto field : s.duplicate_fields) writer.String(ingest::DuplicateFieldName(field));
  writer.EndArray();
  writer.EndObject();
  WriteHealth(writer, account.health);
  if (connection != nullptr) {
    writer.Field("integrator", connection->integrator);
    writer.Field("institution_id", connection->bank_id);
  }
  writer.Field("name", account.name);
  writer.Field("display_name", account.display_name);
  writer.Field("bban", account.bban);
  writer.Field("iban", account.iban);
  writer.Field("owner_name", account.owner_name);
  writer.Field("currency", account.currency);
  writer.Field("product_name", account.product_name);
  writer.Field("details", account.details);
  writer.Field("integrator_id", account.integrator_id);
  WriteOptionalTime(writer, "details_last_synced_at", account.details_last_synced_at_ms);
  WriteOptionalTime(writer, "transactions_last_synced_at", account.transactions_last_synced_at_ms);
  WriteOptionalTime(writer, "balances_last_synced_at", account.balances_last_synced_at_ms);
  writer.Key("balance").StartObject();
  auto balance = [&](std::string_view key, const std::optional<int64_t>& minor) {
    writer.Key(key);
    if (minor) {
      writer.String(FormatMinor(*minor, account.currency));
    } else {
      writer.Null();
    }
  };
  balance("available", account.balance_available_minor);
  balance("booked", account.balance_booked_minor);
  writer.EndObject();
  writer.Field("created_at", FormatTimeMs(account.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(account.updated_at_ms));
  writer.EndObject();
}

void WriteConnection(json::Writer& writer, const BankConnection& connection,
                     const sources::Catalog& catalog, const std::vector<BankAccount>& accounts) {
  writer.StartObject();
  writer.Field("id", connection.id);
  writer.Field("bank_id", connection.bank_id);
  writer.Key("bank");
  if (const sources::Bank* bank = catalog.FindBank(connection.bank_id)) {
    WriteBank(writer, *bank);
  } else {
    writer.Null();
  }
  writer.Field("enabled", connection.enabled);
  WriteHealth(writer, connection.health);
  writer.Field("status", connection.status);
  writer.Field("status_message", connection.status_message);
  writer.Field("sync_balances", connection.sync_balances);
  writer.Field("max_historical_days", int64_t{connection.max_historical_days});
  writer.Field("access_valid_for_days", int64_t{connection.access_valid_for_days});
  WriteOptionalTime(writer, "consent_expires_at", connection.consent_expires_at_ms);
  WriteOptionalTime(writer, "accounts_last_synced_at", connection.accounts_last_synced_at_ms);
  writer.Field("auth_url", connection.auth_url);
  writer.Key("bank_accounts").StartArray();
  for (const auto& account : accounts) WriteAccount(writer, account, &connection);
  writer.EndArray();
  writer.Field("bank_accounts_count", static_cast<int64_t>(accounts.size()));
  writer.Field("created_at", FormatTimeMs(connection.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(connection.updated_at_ms));
  writer.EndObject();
}

template <typename Item, typename WriteFunction>
void RespondList(http::Response& response, const std::vector<Item>& items, WriteFunction write) {
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

Error InvalidField(std::string field, std::string message) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors.push_back({std::move(field), std::move(message)});
  return error;
}

std::optional<domain::Date> OptionalDate(const rapidjson::Value& object, const char* name,
                                         const std::string& path, Error& errors) {
  auto text = OptionalString(object, name, path, errors);
  if (!text) return std::nullopt;
  auto parsed = domain::ParseDate(*text);
  if (!parsed.ok()) {
    errors.field_errors.push_back({path, "must be a date (YYYY-MM-DD)"});
    return std::nullopt;
  }
  return parsed.date;
}

Result<sync::NewConnection> ParseNewConnection(const http::Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  const rapidjson::Document& root = body.value();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  sync::NewConnection connection;
  auto bank_id = OptionalString(root, "bank_id", "bank_id", errors);
  if (!bank_id && root.HasMember("bank_id") && root["bank_id"].IsInt64()) {
    errors.field_errors.clear();
    errors.field_errors.push_back({"bank_id", "must be a bank id string from GET /api/v1/banks"});
  } else if (!bank_id && errors.field_errors.empty()) {
    errors.field_errors.push_back({"bank_id", "is required"});
  }
  connection.bank_id = bank_id.value_or("");
  auto history = OptionalInteger(root, "max_historical_days", "max_historical_days", errors);
  auto validity = OptionalInteger(root, "access_valid_for_days", "access_valid_for_days", errors);
  if (history)
    connection.max_historical_days =
        static_cast<int32_t>(std::clamp<int64_t>(*history, -1, 100000));
  if (validity)
    connection.access_valid_for_days =
        static_cast<int32_t>(std::clamp<int64_t>(*validity, -1, 100000));
  connection.redirect_url =
      OptionalString(root, "redirect_url", "redirect_url", errors).value_or("");
  connection.sync_balances =
      OptionalBool(root, "sync_balances", "sync_balances", errors).value_or(true);
  connection.sandbox_faults =
      OptionalString(root, "sandbox_faults", "sandbox_faults", errors).value_or("");
  if (!errors.field_errors.empty()) return errors;
  return connection;
}

// Merges an update body into the account's current settings.
Result<sync::AccountUpdate> ParseAccountUpdate(const http::Request& request,
                                               const BankAccount& current) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  const rapidjson::Document& root = body.value();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  sync::AccountUpdate update;
  auto display = root.FindMember("display_name");
  if (display != root.MemberEnd()) {
    if (display->value.IsNull()) {
      update.display_name = std::optional<std::string>();
    } else if (display->value.IsString() && display->value.GetStringLength() <= 200) {
      update.display_name = std::optional<std::string>(display->value.GetString());
    } else {
      errors.field_errors.push_back({"display_name",
                                     "must be a string of at most 200 "
                                     "characters, or null"});
    }
  }
  sync::AccountSettings settings = current.settings;
  auto config_member = root.FindMember("config");
  if (config_member != root.MemberEnd() && !config_member->value.IsObject()) {
    errors.field_errors.push_back({"config", "must be an object"});
  } else if (config_member != root.MemberEnd()) {
    const rapidjson::Value& config = config_member->value;
    auto generated = config.FindMember("generated");
    if (generated != config.MemberEnd() && generated->value.IsObject()) {
      const rapidjson::Value& g = generated->value;
      for (auto [name, target] : {std::pair{"payee", &settings.payee_source},
                                  std::pair{"description", &settings.description_source}}) {
        auto text = OptionalString(g, name, std::string("config.generated.") + name, errors);
        if (!text) continue;
        auto source = ingest::ParseTextSource(*text);
        if (!source) {
          errors.field_errors.push_back(
              {std::string("config.generated.") + name,
               "must be AUTO, CREDITOR_NAME, DEBTOR_NAME, COUNTERPARTY_NAME, "
               "REMITTANCE_INFORMATION_UNSTRUCTURED, REMITTANCE_INFORMATION_STRUCTURED, "
               "ADDITIONAL_INFORMATION or BANK_TRANSACTION_CODE"});
        } else {
          *target = *source;
        }
      }
      if (auto text = OptionalString(g, "date", "config.generated.date", errors)) {
        auto source = ingest::ParseDateSource(*text);
        if (!source) {
          errors.field_errors.push_back(
              {"config.generated.date", "must be AUTO, BOOKING_DATE or VALUE_DATE"});
        } else {
          settings.date_source = *source;
        }
      }
    } else if (generated != config.MemberEnd()) {
      errors.field_errors.push_back({"config.generated", "must be an object"});
    }
    auto start = config.FindMember("sync_start_date");
    if (start != config.MemberEnd() && start->value.IsNull()) {
      settings.sync_start_date.reset();
    } else if (auto date =
                   OptionalDate(config, "sync_start_date", "config.sync_start_date", errors)) {
      settings.sync_start_date = date;
    }
    if (auto v = OptionalBool(config, "sync_auto", "config.sync_auto", errors)) {
      settings.sync_auto = *v;
    }
    if (auto v = OptionalBool(config, "sync_pending_transactions",
                              "config.sync_pending_transactions", errors)) {
      settings.sync_pending_transactions = *v;
    }
    if (auto v = OptionalBool(config, "sync_balances", "config.sync_balances", errors)) {
      settings.sync_balances = *v;
    }
    if (auto v = OptionalInteger(config, "sync_frequency_in_minutes",
                                 "config.sync_frequency_in_minutes", errors)) {
      if (*v < sync::kSyncFrequencyMinutesMin || *v > sync::kSyncFrequencyMinutesMax) {
        errors.field_errors.push_back(
            {"config.sync_frequency_in_minutes", "must be between 30 and 1440"});
      } else {
        settings.sync_frequency_in_minutes = static_cast<int32_t>(*v);
      }
    }
    auto fields = config.FindMember("fields_for_duplicate_filtering");
    if (fields != config.MemberEnd()) {
      std::vector<ingest::DuplicateField> parsed;
      bool valid = fields->value.IsArray() && !fields->value.Empty();
      if (valid) {
        for (const auto& item : fields->value.GetArray()) {
          auto field =
              item.IsString() ? ingest::ParseDuplicateField(item.GetString()) : std::nullopt;
          if (!field) {
            valid = false;
            break;
          }
          parsed.push_back(*field);
        }
      }
      if (!valid) {
        errors.field_errors.push_back(
            {"config.fields_for_duplicate_filtering",
             "must be a non-empty array of: date, booking_date, value_date, amount, currency, "
             "creditor_name, debtor_name, remittance_information_unstructured, "
             "remittance_information_structured, additional_information, "
             "bank_transaction_code"});
      } else {
        settings.duplicate_fields = std::move(parsed);
      }
    }
  }
  if (!errors.field_errors.empty()) return errors;
  update.settings = settings;
  return update;
}

Result<sync::SyncRequest> ParseSyncRequest(const http::Request& request) {
  auto body = OptionalBody(request);
  if (!body.ok()) return body.error();
  const rapidjson::Document& root = body.value();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  sync::SyncRequest sync;
  sync.manual = true;
  sync.transactions = OptionalBool(root, "transactions", "transactions", errors).value_or(true);
  sync.balances = OptionalBool(root, "balances", "balances", errors).value_or(true);
  sync.details = OptionalBool(root, "details", "details", errors).value_or(false);
  sync.date_from = OptionalDate(root, "date_from", "date_from", errors);
  if (!sync.transactions && !sync.balances && !sync.details && errors.field_errors.empty()) {
    errors.field_errors.push_back({"transactions",
                                   "at least one of transactions, balances or "
                                   "details must be true"});
  }
  if (!errors.field_errors.empty()) return errors;
  return sync;
}

}  // namespace

void RegisterBankRoutes(http::Router& router, ApiContext& context,
                        sync::BankDataService& bank_data) {
  using http::Request;
  using http::Response;
  using identity::kScopeRead;
  using identity::kScopeWrite;
  using identity::Principal;
  const sources::Catalog& catalog = bank_data.catalog();
  sync::BankDataService* service = &bank_data;

  auto id_param = [](Request& request, std::string_view name,
                     std::string_view what) -> Result<int64_t> {
    auto id = ParseId(request.PathParam(name));
    if (!id) return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
    return *id;
  };
  auto respond_connection = [service, &catalog](Request& request, Response& response,
                                                const Result<BankConnection>& connection,
                                                unsigned status, std::string_view message) {
    if (!connection.ok()) return RespondError(request, response, connection.error());
    auto accounts = service->ListAccounts(connection.value().user_id, connection.value().id);
    if (!accounts.ok()) return RespondError(request, response, accounts.error());
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteConnection(writer, connection.value(), catalog, accounts.value());
    });
  };
  auto respond_account = [service](Request& request, Response& response,
                                   const Result<BankAccount>& account) {
    if (!account.ok()) return RespondError(request, response, account.error());
    auto connection =
        service->GetConnection(account.value().user_id, account.value().bank_connection_id);
    RespondObject(response, 200, "", [&](json::Writer& writer) {
      WriteAccount(writer, account.value(), connection.ok() ? &connection.value() : nullptr);
    });
  };

  // Supported banks.
  router.Add("GET", "/api/v1/banks/countries",
             Authenticated(
                 context, kScopeRead, [&catalog](Request&, Response& response, const Principal&) {
                   json::Writer writer;
                   writer.StartObject().Key("data").StartArray();
                   for (const auto& country : catalog.countries()) {
                     writer.StartObject().Field("code", country.code).Field("name", country.name);
                     writer.EndObject();
                   }
                   writer.EndArray().EndObject();
                   response.Json(200, writer.str());
                 }));
  router.Add("GET", "/api/v1/banks",
             Authenticated(context, kScopeRead,
                           [&catalog](Request& request, Response& response, const Principal&) {
                             auto country = request.Query("country");
                             if (!country) country = request.Query("filter[country]");
                             std::vector<const sources::Bank*> banks;
                             if (country) {
                               std::string code = *country;
                               for (char& c : code)
                                 c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                               if (!sources::CountryName(code)) {
                                 return RespondError(request, response,
                                                     InvalidField("country",
                                                                  "must be an ISO 3166 alpha-2 "
                                                                  "country code"));
                               }
                               banks = catalog.BanksInCountry(code);
                             } else {
                               for (const auto& bank : catalog.banks()) banks.push_back(&bank);
                             }
                             RespondList(response, banks,
                                         [](json::Writer& writer, const sources::Bank* bank) {
                                           WriteBank(writer, *bank);
                                         });
                           }));
  router.Add(
      "GET", "/api/v1/banks/{bank_id}",
      Authenticated(
          context, kScopeRead, [&catalog](Request& request, Response& response, const Principal&) {
            const sources::Bank* bank = catalog.FindBank(request.PathParam("bank_id"));
            if (bank == nullptr) {
              return RespondError(request, response,
                                  Error::Of(ErrorCode::kNotFound, "The bank was not found."));
            }
            RespondObject(response, 200, "", [&](json::Writer& w) { WriteBank(w, *bank); });
          }));

  // Bank connections.
  router.Add("GET", "/api/v1/banks/connections",
             Authenticated(
                 context, kScopeRead,
                 [service, &catalog](Request& request, Response& response, const Principal& who) {
                   auto connections = service->ListConnections(who.user.id);
                   if (!connections.ok())
                     return RespondError(request, response, connections.error());
                   auto accounts = service->ListAccounts(who.user.id, std::nullopt);
                   if (!accounts.ok()) return RespondError(request, response, accounts.error());
                   RespondList(response, connections.value(),
                               [&](json::Writer& writer, const BankConnection& connection) {
                                 std::vector<BankAccount> own;
                                 for (const auto& account : accounts.value()) {
                                   if (account.bank_connection_id == connection.id) {
                                     own.push_back(account);
                                   }
                                 }
                                 WriteConnection(writer, connection, catalog, own);
                               });
                 }));
  router.Add("POST", "/api/v1/banks/connections",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection](Request& request, Response& response,
                                                         const Principal& who) {
                             auto parsed = ParseNewConnection(request);
                             if (!parsed.ok())
                               return RespondError(request, response, parsed.error());
                             respond_connection(
                                 request, response,
                                 service->CreateConnection(who.user.id, parsed.value()), 201,
                                 "Bank connection created.");
                           }));
  router.Add("GET", "/api/v1/banks/connections/{id}",
             Authenticated(context, kScopeRead,
                           [service, respond_connection, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_connection(request, response,
                                                service->GetConnection(who.user.id, id.value()),
                                                200, "");
                           }));
  router.Add("DELETE", "/api/v1/banks/connections/{id}",
             Authenticated(
                 context, kScopeWrite,
                 [service, id_param](Request& request, Response& response, const Principal& who) {
                   auto id = id_param(request, "id", "bank connection");
                   if (!id.ok()) return RespondError(request, response, id.error());
                   Status deleted = service->DeleteConnection(who.user.id, id.value());
                   if (!deleted.ok()) return RespondError(request, response, deleted.error());
                   response.NoContent();
                 }));
  router.Add("PUT", "/api/v1/banks/connections/{id}/disable",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_connection(request, response,
                                                service->DisableConnection(who.user.id, id.value()),
                                                200, "");
                           }));
  router.Add(
      "PUT", "/api/v1/banks/connections/{id}/reconfirm",
      Authenticated(
          context, kScopeWrite,
          [service, respond_connection, id_param](Request& request, Response& response,
                                                  const Principal& who) {
            auto id = id_param(request, "id", "bank connection");
            if (!id.ok()) return RespondError(request, response, id.error());
            auto body = OptionalBody(request);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
            auto validity = OptionalInteger(body.value(), "access_valid_for_days",
                                            "access_valid_for_days", errors);
            if (!errors.field_errors.empty()) {
              return RespondError(request, response, errors);
            }
            std::optional<int32_t> days;
            if (validity) days = static_cast<int32_t>(std::clamp<int64_t>(*validity, -1, 1000));
            respond_connection(request, response,
                               service->ReconfirmConsent(who.user.id, id.value(), days), 200, "");
          }));
  router.Add("POST", "/api/v1/banks/connections/{id}/refresh",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_connection(request, response,
                                                service->RefreshConnection(who.user.id, id.value()),
                                                200, "");
                           }));
  for (auto [suffix, approve] : {std::pair{"approve", true}, std::pair{"reject", false}}) {
    router.Add("POST", std::string("/api/v1/banks/connections/{id}/sandbox/") + suffix,
               Authenticated(context, kScopeWrite,
                             [service, respond_connection, id_param, approve = approve](
                                 Request& request, Response& response, const Principal& who) {
                               auto id = id_param(request, "id", "bank connection");
                               if (!id.ok()) return RespondError(request, response, id.error());
                               respond_connection(
                                   request, response,
                                   service->DecideSandboxConsent(who.user.id, id.value(), approve),
                                   200, "");
                             }));
  }
  router.Add(
      "PUT", "/api/v1/banks/connections/{id}/sandbox/faults",
      Authenticated(
          context, kScopeWrite,
          [service, respond_connection, id_param](Request& request, Response& response,
                                                  const Principal& who) {
            auto id = id_param(request, "id", "bank connection");
            if (!id.ok()) return RespondError(request, response, id.error());
            auto body = json::ParseObject(request.body);
            if (!body.ok()) return RespondError(request, response, body.error());
            Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
            auto spec = OptionalString(body.value(), "faults", "faults", errors);
            if (!spec && errors.field_errors.empty()) {
              errors.field_errors.push_back({"faults", "is required"});
            }
            if (!errors.field_errors.empty()) {
              return RespondError(request, response, errors);
            }
            respond_connection(request, response,
                               service->SetSandboxFaults(who.user.id, id.value(), *spec), 200, "");
          }));

  // Bank accounts.
  router.Add("GET", "/api/v1/banks/accounts",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             std::optional<int64_t> connection_id;
                             auto filter = request.Query("bank_connection_id");
                             if (!filter) filter = request.Query("filter[bank_connection_id]");
                             if (filter) {
                               connection_id = ParseId(*filter);
                               if (!connection_id) {
                                 return RespondError(request, response,
                                                     InvalidField("bank_connection_id",
                                                                  "must be a positive integer id"));
                               }
                             }
                             auto accounts = service->ListAccounts(who.user.id, connection_id);
                             if (!accounts.ok())
                               return RespondError(request, response, accounts.error());
                             auto connections = service->ListConnections(who.user.id);
                             if (!connections.ok())
                               return RespondError(request, response, connections.error());
                             RespondList(response, accounts.value(),
                                         [&](json::Writer& writer, const BankAccount& account) {
                                           const BankConnection* owner = nullptr;
                                           for (const auto& c : connections.value()) {
                                             if (c.id == account.bank_connection_id) owner = &c;
                                           }
                                           WriteAccount(writer, account, owner);
                                         });
                           }));
  router.Add("GET", "/api/v1/banks/accounts/{id}",
             Authenticated(context, kScopeRead,
                           [service, respond_account, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank account");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_account(request, response,
                                             service->GetAccount(who.user.id, id.value()));
                           }));
  router.Add("PUT", "/api/v1/banks/accounts/{id}",
             Authenticated(context, kScopeWrite,
                           [service, respond_account, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank account");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto current = service->GetAccount(who.user.id, id.value());
                             if (!current.ok())
                               return RespondError(request, response, current.error());
                             auto update = ParseAccountUpdate(request, current.value());
                             if (!update.ok())
                               return RespondError(request, response, update.error());
                             respond_account(
                                 request, response,
                                 service->UpdateAccount(who.user.id, id.value(), update.value()));
                           }));
  router.Add("DELETE", "/api/v1/banks/accounts/{id}",
             Authenticated(
                 context, kScopeWrite,
                 [service, id_param](Request& request, Response& response, const Principal& who) {
                   auto id = id_param(request, "id", "bank account");
                   if (!id.ok()) return RespondError(request, response, id.error());
                   Status deleted = service->DeleteAccount(who.user.id, id.value());
                   if (!deleted.ok()) return RespondError(request, response, deleted.error());
                   response.NoContent();
                 }));
  router.Add("DELETE", "/api/v1/banks/accounts/{id}/config",
             Authenticated(context, kScopeWrite,
                           [service, respond_account, id_param](
                               Request& request, Response& response, const Principal& who) {
                             auto id = id_param(request, "id", "bank account");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_account(
                                 request, response,
                                 service->ResetAccountSettings(who.user.id, id.value()));
                           }));
  router.Add("POST", "/api/v1/banks/accounts/{id}/sync",
             Authenticated(
                 context, kScopeWrite,
                 [service, id_param](Request& request, Response& response, const Principal& who) {
                   auto id = id_param(request, "id", "bank account");
                   if (!id.ok()) return RespondError(request, response, id.error());
                   auto sync_request = ParseSyncRequest(request);
                   if (!sync_request.ok())
                     return RespondError(request, response, sync_request.error());
                   auto report =
                       service->SyncAccount(who.user.id, id.value(), sync_request.value());
                   if (!report.ok()) return RespondError(request, response, report.error());
                   const ingest::Outcome& t = report.value().transactions;
                   json::Writer writer;
                   writer.StartObject().Field("message", "Bank account synced.");
                   writer.Key("data").StartObject();
                   writer.Key("transactions").StartObject();
                   writer.Field("added", t.added).Field("modified", t.modified);
                   writer.Field("unchanged", t.unchanged).Field("removed", t.removed);
                   writer.Field("rejected", t.rejected);
                   writer.EndObject();
                   writer.Field("balances", report.value().balances_stored);
                   writer.Field("details", report.value().details_updated);
                   writer.EndObject().EndObject();
                   response.Json(200, writer.str());
                 }));

  // Balances.
  auto write_balance = [](json::Writer& writer, const sync::StoredBalance& balance) {
    writer.StartObject();
    writer.Field("id", balance.id);
    writer.Field("bank_account_id", balance.bank_account_id);
    writer.Field("balance_type", balance.balance_type);
    writer.Field("amount", FormatMinor(balance.amount_minor, balance.currency));
    writer.Field("amount_minor", balance.amount_minor);
    writer.Field("currency", balance.currency);
    writer.Field("reference_date", balance.reference_date);
    writer.Field("created_at", FormatTimeMs(balance.created_at_ms));
    writer.Field("updated_at", FormatTimeMs(balance.updated_at_ms));
    writer.EndObject();
  };
  router.Add("GET", "/api/v1/banks/accounts/{id}/balances",
             Authenticated(context, kScopeRead,
                           [service, id_param, write_balance](Request& request, Response& response,
                                                              const Principal& who) {
                             auto id = id_param(request, "id", "bank account");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto balances = service->ListBalances(who.user.id, id.value());
                             if (!balances.ok())
                               return RespondError(request, response, balances.error());
                             RespondList(response, balances.value(), write_balance);
                           }));
  router.Add("GET", "/api/v1/banks/accounts/{id}/balances/{balance_id}",
             Authenticated(context, kScopeRead,
                           [service, id_param, write_balance](Request& request, Response& response,
                                                              const Principal& who) {
                             auto id = id_param(request, "id", "bank account");
                             auto balance_id = id_param(request, "balance_id", "balance");
                             if (!id.ok() || !balance_id.ok()) {
                               return RespondError(
                                   request, response,
                                   Error::Of(ErrorCode::kNotFound, "The balance was not found."));
                             }
                             auto balance =
                                 service->GetBalance(who.user.id, id.value(), balance_id.value());
                             if (!balance.ok())
                               return RespondError(request, response, balance.error());
                             RespondObject(response, 200, "", [&](json::Writer& w) {
                               write_balance(w, balance.value());
                             });
                           }));
  router.Add(
      "DELETE", "/api/v1/banks/accounts/{id}/balances/{balance_id}",
      Authenticated(
          context, kScopeWrite,
          [service, id_param](Request& request, Response& response, const Principal& who) {
            auto id = id_param(request, "id", "bank account");
            auto balance_id = id_param(request, "balance_id", "balance");
            if (!id.ok() || !balance_id.ok()) {
              return RespondError(request, response,
                                  Error::Of(ErrorCode::kNotFound, "The balance was not found."));
            }
            Status deleted = service->DeleteBalance(who.user.id, id.value(), balance_id.value());
            if (!deleted.ok()) return RespondError(request, response, deleted.error());
            response.NoContent();
          }));
}

}  // namespace finsync::api
