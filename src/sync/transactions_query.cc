#include "sync/transactions_query.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <limits>
#include <unordered_map>

#include "common/crypto.h"
#include "domain/currency.h"
#include "domain/money.h"

namespace finsync::sync {

namespace {

using Parameter = std::pair<std::string, std::string>;

// ---------------------------------------------------------------------------------------------
// Scalar parsers. Each returns nullopt for anything but the exact expected text.

// A decimal integer of 1 to 18 digits (no sign, so no overflow) within [minimum, maximum].
std::optional<int64_t> ParseBoundedInteger(std::string_view text, int64_t minimum,
                                           int64_t maximum) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < minimum || value > maximum) return std::nullopt;
  return value;
}

std::string UpperAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The bound in minor units of `exponent`, rounded down and up. Text with more decimals than
// the exponent is truncated towards zero and then stepped one unit away for the inexact side.
std::optional<std::pair<int64_t, int64_t>> BoundAtExponent(std::string_view text,
                                                           int32_t exponent) {
  auto exact = domain::ParseDecimalAmount(text, exponent);
  if (exact.ok()) return std::pair(exact.amount_minor, exact.amount_minor);
  if (exact.error != domain::AmountError::kTooManyDecimals) return std::nullopt;
  size_t point = text.find('.');
  assert(point != std::string_view::npos);  // Only a fraction can have too many decimals.
  std::string_view truncated = text.substr(0, exponent == 0 ? point : point + 1 + exponent);
  auto toward_zero = domain::ParseDecimalAmount(truncated, exponent);
  if (!toward_zero.ok()) return std::nullopt;
  int64_t value = toward_zero.amount_minor;
  bool negative = text.front() == '-';
  auto stepped =
      negative ? domain::CheckedSubtractMinor(value, 1) : domain::CheckedAddMinor(value, 1);
  if (!stepped) return std::nullopt;
  return negative ? std::pair(*stepped, value) : std::pair(value, *stepped);
}

// Parses a decimal bound; on failure returns the message for the 422.
std::optional<AmountBound> ParseAmountBound(std::string_view text, std::string& message) {
  auto syntax = domain::ParseDecimalAmount(text, domain::kAmountExponentMax);
  if (!syntax.ok() && syntax.error != domain::AmountError::kOverflow &&
      syntax.error != domain::AmountError::kTooManyDecimals) {
    message = "must be a decimal amount such as -42.50";
    return std::nullopt;
  }
  AmountBound bound;
  for (int32_t exponent = 0; exponent < kCurrencyExponentCount; ++exponent) {
    auto rounded = BoundAtExponent(text, exponent);
    if (!rounded) {
      message = "is out of range";
      return std::nullopt;
    }
    bound.floor_minor[exponent] = rounded->first;
    bound.ceil_minor[exponent] = rounded->second;
  }
  return bound;
}

std::optional<domain::Date> ParseDateValue(std::string_view text) {
  auto parsed = domain::ParseDate(text);
  if (!parsed.ok()) return std::nullopt;
  return parsed.date;
}

// ---------------------------------------------------------------------------------------------
// Query-string parsing: a table of parameters, each with its own parser.

struct ListParseState {
  ListQuery query;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The query parameters are invalid.");
  // Names as sent, for checks that involve two parameters.
  std::unordered_map<std::string, std::string> sent_names;
  std::optional<std::string> page_token;

  void Fail(const std::string& field, std::string message) {
    invalid.field_errors.push_back({field, std::move(message)});
  }
  std::string SentName(const std::string& canonical) const {
    auto found = sent_names.find(canonical);
    return found == sent_names.end() ? canonical : found->second;
  }
  bool Given(const std::string& canonical) const { return sent_names.contains(canonical); }
};

using ListHandler = void (*)(ListParseState&, const std::string& name, const std::string& value);

void SetDate(ListParseState& state, const std::string& name, const std::string& value,
             std::optional<domain::Date>& target) {
  target = ParseDateValue(value);
  if (!target) state.Fail(name, "must be a date (YYYY-MM-DD)");
}

void SetAmount(ListParseState& state, const std::string& name, const std::string& value,
               std::optional<AmountBound>& target) {
  std::string message;
  target = ParseAmountBound(value, message);
  if (!target) state.Fail(name, message);
}

void ParseStatus(ListParseState& state, const std::string& name, const std::string& value) {
  bool booked = false;
  bool pending = false;
  std::string_view rest = value;
  while (true) {
    size_t comma = rest.find(',');
    std::string item = UpperAscii(rest.substr(0, comma));
    if (item == "BOOKED") {
      booked = true;
    } else if (item == "PENDING") {
      pending = true;
    } else {
      return state.Fail(name, "must be BOOKED, PENDING or both separated by a comma");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  state.query.filters.status = booked && pending ? StatusFilter::kAny
                               : booked          ? StatusFilter::kBooked
                                                 : StatusFilter::kPending;
}

struct ListParameter {
  std::string_view name;
  bool is_filter;  // Also accepted as filter[name].
  ListHandler handler;
};

const ListParameter kListParameters[] = {
    {"bank_account_id", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       s.query.filters.bank_account_id =
           ParseBoundedInteger(value, 1, std::numeric_limits<int64_t>::max());
       if (!s.query.filters.bank_account_id) s.Fail(name, "must be a positive integer id");
     }},
    {"status", true, ParseStatus},
    {"date_from", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetDate(s, name, value, s.query.filters.date_from);
     }},
    {"date_to", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetDate(s, name, value, s.query.filters.date_to);
     }},
    {"booking_date_from", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetDate(s, name, value, s.query.filters.booking_date_from);
     }},
    {"booking_date_to", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetDate(s, name, value, s.query.filters.booking_date_to);
     }},
    {"currency", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       std::string code = domain::NormalizeCurrencyCode(value);
       if (!domain::Currency::FromCode(code)) {
         return s.Fail(name, "must be an ISO 4217 currency code such as EUR");
       }
       s.query.filters.currency = code;
     }},
    {"amount_gte", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetAmount(s, name, value, s.query.filters.amount_gte);
     }},
    {"amount_gt", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetAmount(s, name, value, s.query.filters.amount_gt);
     }},
    {"amount_lte", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetAmount(s, name, value, s.query.filters.amount_lte);
     }},
    {"amount_lt", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       SetAmount(s, name, value, s.query.filters.amount_lt);
     }},
    {"search", true,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       if (value.size() > kSearchLengthMax) {
         return s.Fail(name, "must be at most " + std::to_string(kSearchLengthMax) + " bytes");
       }
       s.query.filters.search = LowerAscii(value);
     }},
    {"sort", false,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       if (value == "-date") {
         s.query.sort = SortOrder::kDateDescending;
       } else if (value == "date") {
         s.query.sort = SortOrder::kDateAscending;
       } else {
         s.Fail(name, "must be -date (newest first) or date (oldest first)");
       }
     }},
    {"limit", false,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       auto limit = ParseBoundedInteger(value, 1, kListLimitMax);
       if (!limit) {
         return s.Fail(name, "must be an integer from 1 to " + std::to_string(kListLimitMax));
       }
       s.query.page_size = *limit;
     }},
    {"page_token", false,
     [](ListParseState& s, const std::string&, const std::string& value) {
       // An empty token is the first page, so clients can start with page_token=.
       if (!value.empty()) s.page_token = value;
     }},
    {"page[number]", false,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       s.query.paging = PagingStyle::kPage;
       auto number = ParseBoundedInteger(value, 1, kPageWindowMax);
       if (!number) return s.Fail(name, "must be a positive integer");
       s.query.page_number = *number;
     }},
    {"page[size]", false,
     [](ListParseState& s, const std::string& name, const std::string& value) {
       s.query.paging = PagingStyle::kPage;
       auto size = ParseBoundedInteger(value, 1, kListLimitMax);
       if (!size) {
         return s.Fail(name, "must be an integer from 1 to " + std::to_string(kListLimitMax));
       }
       s.query.page_size = *size;
     }},
};

// The canonical parameter for a name as sent: "filter[x]" is "x" for filters, and the seed's
// posted_date_from/to are date_from/to. nullptr for an unknown name.
const ListParameter* FindListParameter(std::string_view name) {
  bool filter_form = name.starts_with("filter[") && name.ends_with("]");
  std::string_view bare = filter_form ? name.substr(7, name.size() - 8) : name;
  if (bare == "posted_date_from") bare = "date_from";
  if (bare == "posted_date_to") bare = "date_to";
  for (const auto& parameter : kListParameters) {
    if (parameter.name == bare && (!filter_form || parameter.is_filter)) return &parameter;
  }
  return nullptr;
}

void CheckRange(ListParseState& state, const std::optional<domain::Date>& from,
                const std::optional<domain::Date>& to, const std::string& from_name,
                const std::string& to_name) {
  if (from && to && *from > *to) {
    state.Fail(state.SentName(from_name), "must not be after " + state.SentName(to_name));
  }
}

// Checks between parameters: ranges, paging styles that cannot be mixed, the page window.
void CheckCombinations(ListParseState& state) {
  const TransactionFilters& filters = state.query.filters;
  CheckRange(state, filters.date_from, filters.date_to, "date_from", "date_to");
  CheckRange(state, filters.booking_date_from, filters.booking_date_to, "booking_date_from",
             "booking_date_to");
  if (state.query.paging != PagingStyle::kPage) return;
  if (state.Given("limit")) {
    state.Fail("limit", "cannot be combined with page[number] paging; use page[size]");
  }
  if (state.Given("page_token")) {
    state.Fail("page_token", "cannot be combined with page[number] paging");
  }
  int64_t window = state.query.page_number * state.query.page_size;
  if (window > kPageWindowMax) {
    state.Fail("page[number]", "reaches past the first " + std::to_string(kPageWindowMax) +
                                   " transactions; use limit and page_token to list further");
  }
}

// Decodes the page token once the filters are known, since it must have been issued for them.
Status ApplyPageToken(ListParseState& state) {
  if (!state.page_token) return Status::Ok();
  auto token = DecodePageToken(*state.page_token);
  if (!token) {
    state.Fail("page_token", "is not a valid page token; use next_page_token as returned");
    return Status::Ok();
  }
  if (token->sort != state.query.sort ||
      token->filter_hash != FilterHash(state.query.filters, state.query.sort)) {
    return Error::Of(ErrorCode::kBadRequest,
                     "The page_token was issued for other filters or another sort; repeat the "
                     "filters of the request that returned it, or start without a page_token.");
  }
  state.query.after = token->position;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// SQL building.

// "(CASE WHEN currency IN ('BIF', ...) THEN ? ... ELSE ? END)": picks a row's threshold by the
// exponent of its currency. Exponent 2, by far the most common, is the ELSE branch.
struct ExponentCase {
  std::string sql;
  std::vector<int32_t> exponents;  // The exponent each placeholder stands for, in order.
};

const ExponentCase& ThresholdByCurrency() {
  static const ExponentCase kCase = [] {
    std::array<std::string, kCurrencyExponentCount> codes;
    for (const domain::Currency& currency : domain::Currency::All()) {
      assert(currency.exponent() >= 0 && currency.exponent() < kCurrencyExponentCount);
      std::string& list = codes[currency.exponent()];
      if (!list.empty()) list += ", ";
      list += "'" + std::string(currency.code()) + "'";
    }
    ExponentCase built{"(CASE", {}};
    for (int32_t exponent = 0; exponent < kCurrencyExponentCount; ++exponent) {
      if (exponent == 2 || codes[exponent].empty()) continue;
      built.sql += " WHEN currency IN (" + codes[exponent] + ") THEN ?";
      built.exponents.push_back(exponent);
    }
    built.sql += " ELSE ? END)";
    built.exponents.push_back(2);
    return built;
  }();
  return kCase;
}

void AppendAmount(SqlQuery& query, const TransactionFilters& filters, std::string_view op,
                  const std::optional<AmountBound>& bound, bool use_ceil) {
  if (!bound) return;
  const auto& thresholds = use_ceil ? bound->ceil_minor : bound->floor_minor;
  query.sql += " AND amount_minor ";
  query.sql += op;
  if (filters.currency) {
    query.sql += " ?";
    query.params.emplace_back(
        thresholds[domain::Currency::FromCode(*filters.currency)->exponent()]);
    return;
  }
  const ExponentCase& by_currency = ThresholdByCurrency();
  query.sql += " " + by_currency.sql;
  for (int32_t exponent : by_currency.exponents) query.params.emplace_back(thresholds[exponent]);
}

// LIKE pattern for a substring, with the pattern characters escaped by '\'.
std::string ContainsPattern(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  return pattern;
}

constexpr std::string_view kSearchedColumns[] = {
    "generated_payee", "generated_description",   "creditor_name",
    "debtor_name",     "remittance_unstructured", "remittance_structured",
};

void AppendSearch(SqlQuery& query, const std::optional<std::string>& search) {
  if (!search) return;
  std::string pattern = ContainsPattern(*search);
  query.sql += " AND (";
  bool first = true;
  for (std::string_view column : kSearchedColumns) {
    if (!first) query.sql += " OR ";
    first = false;
    // SQLite's LIKE already ignores ASCII case (the term is lower-cased), so no LOWER():
    // it halved the time of a search that scans many rows.
    query.sql += column;
    query.sql += " LIKE ? ESCAPE '\\'";
    query.params.emplace_back(pattern);
  }
  query.sql += ")";
}

void AppendComparison(SqlQuery& query, std::string_view condition, store::Value value) {
  query.sql += " AND ";
  query.sql += condition;
  query.params.push_back(std::move(value));
}

void AppendDate(SqlQuery& query, std::string_view condition,
                const std::optional<domain::Date>& date) {
  if (date) AppendComparison(query, condition, domain::FormatDate(*date));
}

// ---------------------------------------------------------------------------------------------
// Tokens.

std::string Checksum(std::string_view payload) { return crypto::Sha256Hex(payload).substr(0, 12); }

// Splits "a.b.c" into parts; the checksum is the last part and covers everything before it.
std::optional<std::vector<std::string_view>> OpenToken(std::string_view text, size_t length_max,
                                                       std::string& storage) {
  if (text.empty() || text.size() > length_max) return std::nullopt;
  auto decoded = Base64UrlDecode(text);
  if (!decoded) return std::nullopt;
  storage = std::move(*decoded);
  size_t last_dot = storage.rfind('.');
  if (last_dot == std::string::npos) return std::nullopt;
  std::string_view payload = std::string_view(storage).substr(0, last_dot);
  if (Checksum(payload) != std::string_view(storage).substr(last_dot + 1)) return std::nullopt;
  std::vector<std::string_view> parts;
  std::string_view rest = payload;
  while (true) {
    size_t dot = rest.find('.');
    parts.push_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return parts;
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

Result<ListQuery> ParseListQuery(std::span<const std::pair<std::string, std::string>> params) {
  ListParseState state;
  for (const auto& [name, value] : params) {
    const ListParameter* parameter = FindListParameter(name);
    if (parameter == nullptr) {
      state.Fail(name, "is not a known parameter");
      continue;
    }
    std::string canonical(parameter->name);
    auto [seen, inserted] = state.sent_names.emplace(canonical, name);
    if (!inserted) {
      std::string also = seen->second == name ? "" : " (also as " + seen->second + ")";
      state.Fail(name, "must be given at most once" + also);
      continue;
    }
    if (value.empty() && canonical != "page_token") {
      state.Fail(name, "must not be empty");
      continue;
    }
    parameter->handler(state, name, value);
  }
  CheckCombinations(state);
  if (state.invalid.field_errors.empty()) {
    Status applied = ApplyPageToken(state);
    if (!applied.ok()) return applied.error();
  }
  if (!state.invalid.field_errors.empty()) return state.invalid;
  return state.query;
}

SqlQuery BuildFilterSql(const TransactionFilters& filters, int64_t user_id) {
  SqlQuery query;
  query.sql = "user_id = ?";
  query.params.emplace_back(user_id);
  if (filters.bank_account_id) {
    AppendComparison(query, "bank_account_id = ?", *filters.bank_account_id);
  }
  if (filters.status != StatusFilter::kAny) {
    AppendComparison(query, "status = ?",
                     std::string(filters.status == StatusFilter::kBooked ? "BOOKED" : "PENDING"));
  }
  AppendDate(query, "generated_date >= ?", filters.date_from);
  AppendDate(query, "generated_date <= ?", filters.date_to);
  AppendDate(query, "booking_date >= ?", filters.booking_date_from);
  AppendDate(query, "booking_date <= ?", filters.booking_date_to);
  if (filters.currency) AppendComparison(query, "currency = ?", *filters.currency);
  AppendAmount(query, filters, ">=", filters.amount_gte, true);
  AppendAmount(query, filters, ">", filters.amount_gt, false);
  AppendAmount(query, filters, "<=", filters.amount_lte, false);
  AppendAmount(query, filters, "<", filters.amount_lt, true);
  AppendSearch(query, filters.search);
  return query;
}

SqlQuery BuildListSql(const ListQuery& query, int64_t user_id, std::string_view columns) {
  SqlQuery filter = BuildFilterSql(query.filters, user_id);
  SqlQuery list;
  list.sql = "SELECT ";
  list.sql += columns;
  list.sql += " FROM bank_transactions WHERE " + filter.sql;
  list.params = std::move(filter.params);
  bool descending = query.sort == SortOrder::kDateDescending;
  if (query.paging == PagingStyle::kCursor && query.after) {
    // Row values keep the keyset condition one index range: (date, id) strictly past the last.
    list.sql +=
        descending ? " AND (generated_date, id) < (?, ?)" : " AND (generated_date, id) > (?, ?)";
    list.params.emplace_back(query.after->generated_date);
    list.params.emplace_back(query.after->id);
  }
  list.sql += descending ? " ORDER BY generated_date DESC, id DESC"
                         : " ORDER BY generated_date ASC, id ASC";
  if (query.paging == PagingStyle::kCursor) {
    list.sql += " LIMIT ?";
    list.params.emplace_back(query.page_size + 1);
  } else {
    list.sql += " LIMIT ? OFFSET ?";
    list.params.emplace_back(query.page_size);
    list.params.emplace_back((query.page_number - 1) * query.page_size);
  }
  return list;
}

SqlQuery BuildCappedCountSql(const TransactionFilters& filters, int64_t user_id,
                             int64_t count_max) {
  SqlQuery filter = BuildFilterSql(filters, user_id);
  SqlQuery count;
  count.sql = "SELECT COUNT(*) FROM (SELECT 1 FROM bank_transactions WHERE " + filter.sql +
              " LIMIT ?) AS capped";
  count.params = std::move(filter.params);
  count.params.emplace_back(count_max);
  return count;
}

std::string FilterHash(const TransactionFilters& filters, SortOrder sort) {
  // Fields are separated by a byte that cannot occur in dates, codes or numbers; search text
  // comes last so its content cannot shift the other fields.
  std::string text;
  auto add = [&text](std::string_view part) {
    text.append(part);
    text.push_back('\x1f');
  };
  auto add_date = [&add](const std::optional<domain::Date>& date) {
    add(date ? domain::FormatDate(*date) : "-");
  };
  auto add_bound = [&add](const std::optional<AmountBound>& bound) {
    std::string part = bound ? "" : "-";
    for (int32_t exponent = 0; bound && exponent < kCurrencyExponentCount; ++exponent) {
      part += std::to_string(bound->floor_minor[exponent]) + "/" +
              std::to_string(bound->ceil_minor[exponent]) + ",";
    }
    add(part);
  };
  add(sort == SortOrder::kDateDescending ? "desc" : "asc");
  add(filters.bank_account_id ? std::to_string(*filters.bank_account_id) : "-");
  add(std::to_string(static_cast<int>(filters.status)));
  add_date(filters.date_from);
  add_date(filters.date_to);
  add_date(filters.booking_date_from);
  add_date(filters.booking_date_to);
  add(filters.currency.value_or("-"));
  for (const auto* bound :
       {&filters.amount_gte, &filters.amount_gt, &filters.amount_lte, &filters.amount_lt}) {
    add_bound(*bound);
  }
  add(filters.search ? "+" + *filters.search : "-");
  return crypto::Sha256Hex(text).substr(0, 16);
}

std::string EncodePageToken(const PageToken& token) {
  std::string payload = "t1.";
  payload += token.sort == SortOrder::kDateDescending ? "d" : "a";
  payload += "." + token.position.generated_date + "." + std::to_string(token.position.id) + "." +
             token.filter_hash;
  return Base64UrlEncode(payload + "." + Checksum(payload));
}

std::optional<PageToken> DecodePageToken(std::string_view text) {
  std::string storage;
  auto parts = OpenToken(text, 200, storage);
  if (!parts || parts->size() != 5 || (*parts)[0] != "t1") return std::nullopt;
  PageToken token;
  std::string_view sort = (*parts)[1];
  if (sort != "d" && sort != "a") return std::nullopt;
  token.sort = sort == "d" ? SortOrder::kDateDescending : SortOrder::kDateAscending;
  if (!ParseDateValue((*parts)[2])) return std::nullopt;
  token.position.generated_date = std::string((*parts)[2]);
  auto id = ParseBoundedInteger((*parts)[3], 1, std::numeric_limits<int64_t>::max());
  if (!id) return std::nullopt;
  token.position.id = *id;
  std::string_view hash = (*parts)[4];
  if (hash.size() != 16 || !IsLowerHex(hash)) return std::nullopt;
  token.filter_hash = std::string(hash);
  return token;
}

Result<ChangeFeedQuery> ParseChangeFeedQuery(
    std::span<const std::pair<std::string, std::string>> params) {
  ChangeFeedQuery query;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The query parameters are invalid.");
  bool cursor_seen = false;
  bool limit_seen = false;
  for (const auto& [name, value] : params) {
    bool is_cursor = name == "cursor";
    bool is_limit = name == "limit";
    if (!is_cursor && !is_limit) {
      invalid.field_errors.push_back({name, "is not a known parameter"});
      continue;
    }
    bool& seen = is_cursor ? cursor_seen : limit_seen;
    if (seen) {
      invalid.field_errors.push_back({name, "must be given at most once"});
      continue;
    }
    seen = true;
    if (is_cursor && !value.empty()) {
      auto seq = DecodeChangeCursor(value);
      if (!seq) {
        invalid.field_errors.push_back({name,
                                        "is not a valid cursor; use next_cursor as "
                                        "returned, or leave it empty to start over"});
      } else {
        query.after_seq = *seq;
      }
    }
    if (is_limit) {
      auto limit = ParseBoundedInteger(value, 1, kChangeLimitMax);
      if (!limit) {
        invalid.field_errors.push_back(
            {name, "must be an integer from 1 to " + std::to_string(kChangeLimitMax)});
      } else {
        query.limit = *limit;
      }
    }
  }
  if (!invalid.field_errors.empty()) return invalid;
  return query;
}

std::string EncodeChangeCursor(int64_t seq) {
  assert(seq >= 0);
  std::string payload = "c1." + std::to_string(seq);
  return Base64UrlEncode(payload + "." + Checksum(payload));
}

std::optional<int64_t> DecodeChangeCursor(std::string_view text) {
  std::string storage;
  auto parts = OpenToken(text, 100, storage);
  if (!parts || parts->size() != 2 || (*parts)[0] != "c1") return std::nullopt;
  return ParseBoundedInteger((*parts)[1], 0, std::numeric_limits<int64_t>::max());
}

std::optional<ChangeKind> ParseChangeKind(std::string_view text) {
  if (text == "added") return ChangeKind::kAdded;
  if (text == "modified") return ChangeKind::kModified;
  if (text == "removed") return ChangeKind::kRemoved;
  return std::nullopt;
}

CollapsedChanges CollapseChanges(std::span<const Change> changes) {
  struct Summary {
    ChangeKind first;
    ChangeKind last;
    int64_t last_seq;
    int64_t bank_account_id;
  };
  std::unordered_map<int64_t, Summary> by_transaction;
  std::vector<int64_t> order;  // Transactions in order of first appearance.
  for (const Change& change : changes) {
    auto [entry, inserted] = by_transaction.try_emplace(
        change.transaction_id,
        Summary{change.kind, change.kind, change.seq, change.bank_account_id});
    if (inserted) order.push_back(change.transaction_id);
    entry->second.last = change.kind;
    entry->second.last_seq = change.seq;
  }
  std::stable_sort(order.begin(), order.end(), [&by_transaction](int64_t left, int64_t right) {
    return by_transaction.at(left).last_seq < by_transaction.at(right).last_seq;
  });
  CollapsedChanges collapsed;
  for (int64_t id : order) {
    const Summary& summary = by_transaction.at(id);
    if (summary.last == ChangeKind::kRemoved) {
      // Added and removed within one page: the client never saw it, so it needs nothing.
      if (summary.first != ChangeKind::kAdded) {
        collapsed.removed.push_back({id, summary.bank_account_id});
      }
    } else if (summary.first == ChangeKind::kModified) {
      collapsed.modified.push_back(id);
    } else {
      collapsed.added.push_back(id);
    }
  }
  return collapsed;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64UrlAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64UrlAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // A length of 1 modulo 4 cannot come from whole bytes.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = Base64UrlValue(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace finsync::sync
