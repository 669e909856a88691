#include "delivery/simplefin_server/protocol.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/json.h"
#include "domain/money.h"

namespace finsync::delivery::simplefin {

namespace {

constexpr size_t kAccountIdLengthMax = 64;
constexpr size_t kUnknownParametersReportedMax = 10;
constexpr size_t kEpochDigitsMax = 12;  // kEpochSecondsMax has 12 digits.

Error BadParameter(const std::string& name, std::string message) {
  Error error = Error::Of(ErrorCode::kBadRequest, "The parameter '" + name + "' " + message + ".");
  error.field_errors.push_back({name, std::move(message)});
  return error;
}

// Decimal epoch seconds with an optional fraction, rounded up; nullopt when malformed or
// beyond kEpochSecondsMax.
std::optional<int64_t> ParseEpochSeconds(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || whole.size() > kEpochDigitsMax) return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  int64_t seconds = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  bool has_fraction = false;
  for (char c : fraction) {
    if (c < '0' || c > '9') return std::nullopt;
    has_fraction = has_fraction || c != '0';
  }
  if (has_fraction) seconds += 1;
  if (seconds > kEpochSecondsMax) return std::nullopt;
  return seconds;
}

std::optional<bool> ParseFlag(std::string_view text) {
  if (text == "1" || text == "true") return true;
  if (text == "0" || text == "false") return false;
  return std::nullopt;
}

int64_t MidnightSeconds(domain::Date date) { return date.days_since_epoch() * kSecondsPerDay; }

// Floor division, so instants before 1970 still fall in the right second.
int64_t SecondsOf(int64_t unix_time_ms) {
  return unix_time_ms >= 0 ? unix_time_ms / 1000 : -((-unix_time_ms + 999) / 1000);
}

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

void WriteTransaction(json::Writer& writer, const Transaction& transaction) {
  writer.StartObject();
  writer.Field("id", transaction.id);
  writer.Field("posted", transaction.posted);
  writer.Field("amount", transaction.amount);
  writer.Field("description", transaction.description);
  writer.Field("payee", transaction.payee);
  writer.Field("memo", transaction.memo);
  writer.Field("transacted_at", transaction.transacted_at);
  writer.Field("pending", transaction.pending);
  writer.EndObject();
}

// The members every version shares, after the version's own connection reference.
void WriteAccountBody(json::Writer& writer, const Account& account) {
  writer.Field("currency", account.currency);
  writer.Field("balance", account.balance);
  if (account.available_balance) writer.Field("available-balance", *account.available_balance);
  writer.Field("balance-date", account.balance_date);
  writer.Key("transactions").StartArray();
  for (const auto& transaction : account.transactions) WriteTransaction(writer, transaction);
  writer.EndArray();
}

void WriteErrorStrings(json::Writer& writer, const std::vector<ProtocolError>& errors) {
  writer.Key("errors").StartArray();
  for (const auto& error : errors) writer.String(error.message);
  writer.EndArray();
}

void WriteErrorList(json::Writer& writer, const std::vector<ProtocolError>& errors) {
  writer.Key("errlist").StartArray();
  for (const auto& error : errors) {
    writer.StartObject().Field("code", error.code).Field("msg", error.message);
    if (!error.connection_id.empty()) writer.Field("conn_id", error.connection_id);
    if (!error.account_id.empty()) writer.Field("account_id", error.account_id);
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace

Result<AccountsQuery> ParseAccountsQuery(
    std::span<const std::pair<std::string, std::string>> params) {
  AccountsQuery query;
  std::vector<std::string_view> seen;
  auto first_time = [&](std::string_view name) {
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return false;
    seen.push_back(name);
    return true;
  };
  for (const auto& [name, value] : params) {
    if (name == "start-date" || name == "end-date") {
      if (!first_time(name)) return BadParameter(name, "is given more than once");
      auto seconds = ParseEpochSeconds(value);
      if (!seconds) {
        return BadParameter(name, "must be a Unix epoch timestamp in seconds up to 253402300799");
      }
      (name == "start-date" ? query.start_date : query.end_date) = *seconds;
    } else if (name == "pending" || name == "balances-only") {
      if (!first_time(name)) return BadParameter(name, "is given more than once");
      auto flag = ParseFlag(value);
      if (!flag) return BadParameter(name, "must be 1 or 0");
      (name == "pending" ? query.pending : query.balances_only) = *flag;
    } else if (name == "version") {
      if (!first_time(name)) return BadParameter(name, "is given more than once");
      if (value != "1" && value != "2") return BadParameter(name, "must be 1 or 2");
      query.version = value == "1" ? ProtocolVersion::kV1 : ProtocolVersion::kV2;
    } else if (name == "account") {
      if (value.empty()) return BadParameter(name, "must not be empty");
      if (value.size() > kAccountIdLengthMax) {
        return BadParameter(name, "must be at most 64 characters");
      }
      auto& ids = query.account_ids;
      if (std::find(ids.begin(), ids.end(), value) != ids.end()) continue;
      if (ids.size() == kAccountFilterMax) {
        return BadParameter(name, "is given more than 100 times");
      }
      ids.push_back(value);
    } else {
      auto& unknown = query.unknown_parameters;
      std::string printable = PrintableText(name.substr(0, kAccountIdLengthMax));
      if (unknown.size() < kUnknownParametersReportedMax &&
          std::find(unknown.begin(), unknown.end(), printable) == unknown.end()) {
        unknown.push_back(std::move(printable));
      }
    }
  }
  return query;
}

Window ResolveWindow(const AccountsQuery& query, int64_t now_seconds,
                     std::optional<domain::Date> retention_start) {
  constexpr int64_t kSpanMaxSeconds = kDateRangeDaysMax * kSecondsPerDay;
  Window window;
  window.end_seconds = query.end_date;
  int64_t reference_end = query.end_date.value_or(now_seconds);
  window.start_seconds = query.start_date.value_or(reference_end - kSpanMaxSeconds);
  if (query.start_date && reference_end - *query.start_date > kSpanMaxSeconds) {
    window.start_seconds = reference_end - kSpanMaxSeconds;
    window.errors.push_back(
        {"gen.api", "Requested date range exceeds limit of 90 days and was capped.", "", ""});
  }
  if (retention_start) {
    window.start_seconds = std::max(window.start_seconds, MidnightSeconds(*retention_start));
  }
  if (query.start_date && query.end_date && *query.end_date <= *query.start_date) {
    window.empty = true;
    window.errors.push_back(
        {"gen.api", "end-date is not after start-date, so no transactions match.", "", ""});
  }
  if (window.end_seconds && *window.end_seconds <= window.start_seconds) window.empty = true;
  return window;
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value) {
  constexpr std::string_view kScheme = "basic ";
  if (header_value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = header_value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view encoded = header_value.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  auto decoded = Base64Decode(encoded);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t count = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t j = 0; j < 3; ++j) {
      uint32_t byte = j < count ? static_cast<unsigned char>(bytes[i + j]) : 0;
      group = (group << 8) | byte;
    }
    for (size_t j = 0; j < 4; ++j) {
      out.push_back(j <= count ? kAlphabet[(group >> (18 - 6 * j)) & 0x3F] : '=');
    }
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = Base64Value(c);
    if (value < 0) return std::nullopt;  // Includes a '=' before the end.
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // The bits left over after the last byte must be zero: one text per byte sequence.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string PrintableText(std::string_view text) {
  std::string printable(text);
  for (char& c : printable) {
    if (c < ' ' || c > '~') c = '?';
  }
  return printable;
}

std::string AccessUrl(std::string_view root_url, std::string_view username,
                      std::string_view password) {
  std::string credentials = std::string(username) + ":" + std::string(password) + "@";
  size_t scheme_end = root_url.find("://");
  if (scheme_end == std::string_view::npos) return credentials + std::string(root_url);
  std::string url(root_url);
  url.insert(scheme_end + 3, credentials);
  return url;
}

Transaction ToProtocolTransaction(const StoredTransaction& stored) {
  Transaction transaction;
  transaction.id = std::to_string(stored.id);
  transaction.pending = stored.pending;
  if (!stored.pending) {
    transaction.posted = MidnightSeconds(stored.booking_date.value_or(stored.generated_date));
  }
  if (stored.value_datetime_ms) {
    transaction.transacted_at = SecondsOf(*stored.value_datetime_ms);
  } else if (stored.booking_datetime_ms) {
    transaction.transacted_at = SecondsOf(*stored.booking_datetime_ms);
  } else {
    domain::Date day = stored.value_date ? *stored.value_date
                                         : stored.booking_date.value_or(stored.generated_date);
    transaction.transacted_at = MidnightSeconds(day);
  }
  transaction.amount = domain::FormatDecimalAmount(stored.amount_minor, stored.exponent);
  transaction.payee = stored.generated_payee;
  transaction.description =
      stored.generated_description.empty() ? stored.generated_payee : stored.generated_description;
  transaction.memo = stored.remittance_unstructured.empty() ? stored.remittance_structured
                                                            : stored.remittance_unstructured;
  return transaction;
}

int64_t FilterInstant(const Transaction& transaction) {
  return transaction.pending ? transaction.transacted_at : transaction.posted;
}

bool InWindow(const Window& window, const Transaction& transaction) {
  if (window.empty) return false;
  int64_t instant = FilterInstant(transaction);
  if (instant < window.start_seconds) return false;
  return !window.end_seconds || instant < *window.end_seconds;
}

void SortTransactions(std::vector<Transaction>& transactions) {
  // Ids are decimal numbers: shorter means smaller.
  auto key = [](const Transaction& t) {
    return std::make_tuple(t.posted, t.transacted_at, t.id.size(), std::string_view(t.id));
  };
  std::sort(
      transactions.begin(), transactions.end(),
      [&](const Transaction& left, const Transaction& right) { return key(left) < key(right); });
}

std::string RenderAccountSet(const AccountSet& set, ProtocolVersion version,
                             std::string_view root_url) {
  json::Writer writer;
  writer.StartObject();
  if (version == ProtocolVersion::kV1) {
    WriteErrorStrings(writer, set.errors);
  } else {
    WriteErrorList(writer, set.errors);
    writer.Key("connections").StartArray();
    for (const auto& connection : set.connections) {
      writer.StartObject();
      writer.Field("conn_id", connection.id);
      writer.Field("name", connection.name);
      writer.Field("org_id", connection.organization_id);
      writer.Field("sfin_url", root_url);
      writer.EndObject();
    }
    writer.EndArray();
  }
  std::map<std::string_view, const Connection*> connections;
  for (const auto& connection : set.connections) connections[connection.id] = &connection;
  static const Connection kUnknown;
  writer.Key("accounts").StartArray();
  for (const auto& account : set.accounts) {
    auto found = connections.find(account.connection_id);
    const Connection& connection = found == connections.end() ? kUnknown : *found->second;
    writer.StartObject();
    if (version == ProtocolVersion::kV1) {
      writer.Key("org").StartObject();
      writer.Field("name", connection.name);
      writer.Field("sfin-url", root_url);
      writer.Field("id", connection.organization_id);
      writer.EndObject();
    }
    writer.Field("id", account.id);
    writer.Field("name", account.name);
    if (version == ProtocolVersion::kV2) writer.Field("conn_id", account.connection_id);
    WriteAccountBody(writer, account);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return writer.str();
}

std::string RenderErrorsOnly(const std::vector<ProtocolError>& errors) {
  json::Writer writer;
  writer.StartObject();
  WriteErrorStrings(writer, errors);
  WriteErrorList(writer, errors);
  writer.Key("connections").StartArray().EndArray();
  writer.Key("accounts").StartArray().EndArray();
  writer.EndObject();
  return writer.str();
}

std::string RenderInfo() {
  json::Writer writer;
  writer.StartObject().Key("versions").StartArray().String("1.0").String("2.0").EndArray();
  writer.EndObject();
  return writer.str();
}

}  // namespace finsync::delivery::simplefin
