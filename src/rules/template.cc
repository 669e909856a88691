#include "rules/template.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <span>
#include <utility>

#include "domain/date.h"
#include "rules/decimal.h"
#include "rules/text.h"

namespace finsync::rules {
namespace {

enum class FilterId : uint8_t {
  kUpcase,
  kDowncase,
  kCapitalize,
  kStrip,
  kAppend,
  kPrepend,
  kReplace,
  kRemove,
  kTruncate,
  kSlice,
  kSplit,
  kFirst,
  kLast,
  kJoin,
  kDefault,
  kDate,
  kTimes,
  kPlus,
  kMinus,
  kDividedBy,
  kAbs,
  kRound,
  // Not user-visible: "split: x | first" and "split: x | last" fused at compile time, so the
  // common "first word of the payee" builds no array.
  kSplitFirst,
  kSplitLast,
};

// What a filter argument must be, checked at compile time.
enum class ArgumentKind : uint8_t {
  kAny,         // A field, a string or a number.
  kNumber,      // A number literal, a string literal holding a number, or a field.
  kInteger,     // A whole-number literal.
  kDateFormat,  // A string literal with only the supported % directives.
};

struct FilterSpec {
  std::string_view name;
  FilterId id;
  uint8_t arguments_min;
  uint8_t arguments_max;
  std::array<ArgumentKind, 2> kinds;
};

using enum ArgumentKind;

constexpr std::array<FilterSpec, 22> kFilters = {{
    {"upcase", FilterId::kUpcase, 0, 0, {kAny, kAny}},
    {"downcase", FilterId::kDowncase, 0, 0, {kAny, kAny}},
    {"capitalize", FilterId::kCapitalize, 0, 0, {kAny, kAny}},
    {"strip", FilterId::kStrip, 0, 0, {kAny, kAny}},
    {"append", FilterId::kAppend, 1, 1, {kAny, kAny}},
    {"prepend", FilterId::kPrepend, 1, 1, {kAny, kAny}},
    {"replace", FilterId::kReplace, 2, 2, {kAny, kAny}},
    {"remove", FilterId::kRemove, 1, 1, {kAny, kAny}},
    {"truncate", FilterId::kTruncate, 1, 2, {kInteger, kAny}},
    {"slice", FilterId::kSlice, 1, 2, {kInteger, kInteger}},
    {"split", FilterId::kSplit, 1, 1, {kAny, kAny}},
    {"first", FilterId::kFirst, 0, 0, {kAny, kAny}},
    {"last", FilterId::kLast, 0, 0, {kAny, kAny}},
    {"join", FilterId::kJoin, 0, 1, {kAny, kAny}},
    {"default", FilterId::kDefault, 1, 1, {kAny, kAny}},
    {"date", FilterId::kDate, 1, 1, {kDateFormat, kAny}},
    {"times", FilterId::kTimes, 1, 1, {kNumber, kAny}},
    {"plus", FilterId::kPlus, 1, 1, {kNumber, kAny}},
    {"minus", FilterId::kMinus, 1, 1, {kNumber, kAny}},
    {"divided_by", FilterId::kDividedBy, 1, 1, {kNumber, kAny}},
    {"abs", FilterId::kAbs, 0, 0, {kAny, kAny}},
    {"round", FilterId::kRound, 0, 1, {kInteger, kAny}},
}};

const FilterSpec* FindFilter(std::string_view name) {
  for (const FilterSpec& filter : kFilters) {
    if (filter.name == name) return &filter;
  }
  return nullptr;
}

std::string FilterNameList() {
  std::string list;
  for (const FilterSpec& filter : kFilters) {
    if (!list.empty()) list += ", ";
    list += filter.name;
  }
  return list;
}

// Integer literals (lengths, offsets, digits) are bounded so later arithmetic cannot overflow.
constexpr int64_t kIntegerArgumentMax = static_cast<int64_t>(kRenderedLengthMax);

constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// A literal or a field, resolved at compile time.
struct Operand {
  enum class Kind : uint8_t { kField, kText, kNumber };
  Kind kind = Kind::kText;
  FieldId field = FieldId::kAmount;
  std::string text;  // kText, and the source spelling of numbers for messages.
  Decimal number;    // kNumber.
};

struct FilterCall {
  FilterId id = FilterId::kUpcase;
  std::string_view name;
  std::vector<Operand> arguments;
};

}  // namespace

struct Template::Segment {
  bool is_output = false;
  std::string literal;  // When !is_output.
  Operand subject;      // When is_output.
  std::vector<FilterCall> filters;
};

namespace {

// The run-time value flowing through a filter chain.
struct Value {
  enum class Kind : uint8_t { kNil, kText, kNumber, kBoolean, kArray };
  Kind kind = Kind::kNil;
  std::string text;
  Decimal number;
  bool boolean = false;
  std::vector<std::string> items;

  static Value Text(std::string content) {
    Value value;
    value.kind = Kind::kText;
    value.text = std::move(content);
    return value;
  }
  static Value Number(Decimal content) {
    Value value;
    value.kind = Kind::kNumber;
    value.number = content;
    return value;
  }
  static Value Items(std::vector<std::string> content) {
    Value value;
    value.kind = Kind::kArray;
    value.items = std::move(content);
    return value;
  }
};

bool IsLowerLetter(char byte) { return byte >= 'a' && byte <= 'z'; }
bool IsLetter(char byte) { return IsLowerLetter(byte) || (byte >= 'A' && byte <= 'Z'); }
bool IsDigit(char byte) { return byte >= '0' && byte <= '9'; }
bool IsNameByte(char byte) { return IsLetter(byte) || IsDigit(byte) || byte == '_'; }
bool IsSpace(char byte) {
  return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\v' ||
         byte == '\f';
}

std::string At(size_t offset) { return " at offset " + std::to_string(offset); }

// Checks a date format and returns the problem, or "" when every directive is supported.
std::string CheckDateFormat(std::string_view format) {
  for (size_t index = 0; index < format.size(); ++index) {
    if (format[index] != '%') continue;
    if (index + 1 == format.size()) return "date format ends with a lone '%'";
    const char directive = format[++index];
    if (std::string_view("YmdebByj%").find(directive) == std::string_view::npos) {
      return "date format directive '%" + std::string(1, directive) +
             "' is not supported; use %Y %m %d %e %b %B %y %j or %%";
    }
  }
  return "";
}

// Replaces each "split: x" directly followed by "first" or "last" with one filter that finds
// the piece without building the array; the result is the same, an empty piece standing in
// for Liquid's nil, which renders and defaults identically.
void FuseSplitPicks(std::vector<FilterCall>& filters) {
  for (size_t index = 0; index + 1 < filters.size(); ++index) {
    const FilterId next = filters[index + 1].id;
    if (filters[index].id != FilterId::kSplit ||
        (next != FilterId::kFirst && next != FilterId::kLast)) {
      continue;
    }
    filters[index].id = next == FilterId::kFirst ? FilterId::kSplitFirst : FilterId::kSplitLast;
    filters.erase(filters.begin() + static_cast<std::ptrdiff_t>(index) + 1);
  }
}

// Parses the template source into segments; every refusal names what and where.
class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  bool Parse(std::vector<Template::Segment>& segments, bool& constant);
  const std::string& error() const { return error_; }

 private:
  bool AtText(std::string_view text) const { return source_.substr(position_).starts_with(text); }
  void SkipSpaces() {
    while (position_ < source_.size() && IsSpace(source_[position_])) ++position_;
  }
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  void FlushLiteral(std::vector<Template::Segment>& segments);
  bool ParseOutput(std::vector<Template::Segment>& segments);
  bool ParseLegacy(std::vector<Template::Segment>& segments);
  bool ParseOperand(Operand& operand);
  bool ParseString(Operand& operand);
  bool ParseNumber(Operand& operand);
  bool ParsePath(std::string& path);
  bool ResolveField(std::string_view path, size_t offset, Operand& operand);
  bool ParseFilter(FilterCall& call);
  bool CheckArgument(const FilterSpec& filter, size_t index, Operand& argument, size_t offset);
  bool AtOutputEnd() const { return AtText("}}") || AtText("-}}"); }

  std::string_view source_;
  size_t position_ = 0;
  std::string literal_;
  bool trim_next_literal_ = false;
  bool constant_ = true;
  std::string error_;
};

void Parser::FlushLiteral(std::vector<Template::Segment>& segments) {
  if (literal_.empty()) return;
  Template::Segment segment;
  segment.literal = std::move(literal_);
  segments.push_back(std::move(segment));
  literal_.clear();
}

bool Parser::Parse(std::vector<Template::Segment>& segments, bool& constant) {
  while (position_ < source_.size()) {
    const char byte = source_[position_];
    if (AtText("{{")) {
      if (!ParseOutput(segments)) return false;
      continue;
    }
    if (AtText("{%")) {
      return Fail("Liquid tags ({% ... %}) are not supported" + At(position_) +
                  "; use {{ field | filter }}");
    }
    if (byte == '{' && position_ + 1 < source_.size() && IsLowerLetter(source_[position_ + 1])) {
      if (!ParseLegacy(segments)) return false;
      continue;
    }
    if (!(trim_next_literal_ && IsSpace(byte))) {
      trim_next_literal_ = false;
      literal_.push_back(byte);
    }
    ++position_;
  }
  FlushLiteral(segments);
  constant = constant_;
  return true;
}

bool Parser::ParseOutput(std::vector<Template::Segment>& segments) {
  const size_t opened_at = position_;
  position_ += 2;
  if (AtText("-")) {
    ++position_;
    while (!literal_.empty() && IsSpace(literal_.back())) literal_.pop_back();
  }
  FlushLiteral(segments);
  trim_next_literal_ = false;
  Template::Segment segment;
  segment.is_output = true;
  SkipSpaces();
  if (position_ >= source_.size()) return Fail("unterminated '{{'" + At(opened_at));
  if (AtOutputEnd()) return Fail("empty '{{ }}'" + At(opened_at));
  if (!ParseOperand(segment.subject)) return false;
  while (true) {
    SkipSpaces();
    if (position_ >= source_.size()) return Fail("unterminated '{{'" + At(opened_at));
    if (AtOutputEnd()) break;
    if (source_[position_] != '|') {
      return Fail("expected '|' or '}}'" + At(position_) + ", found '" +
                  std::string(1, source_[position_]) + "'");
    }
    ++position_;
    if (segment.filters.size() == kFiltersPerOutputMax) {
      return Fail("more than " + std::to_string(kFiltersPerOutputMax) + " filters" + At(position_));
    }
    FilterCall call;
    if (!ParseFilter(call)) return false;
    segment.filters.push_back(std::move(call));
  }
  if (AtText("-")) {
    ++position_;
    trim_next_literal_ = true;
  }
  position_ += 2;
  FuseSplitPicks(segment.filters);
  segments.push_back(std::move(segment));
  return true;
}

bool Parser::ParseOperand(Operand& operand) {
  SkipSpaces();
  if (position_ >= source_.size()) return Fail("expected a value" + At(position_));
  const char byte = source_[position_];
  if (byte == '"' || byte == '\'') return ParseString(operand);
  const bool signed_number = (byte == '-' || byte == '+') && position_ + 1 < source_.size() &&
                             IsDigit(source_[position_ + 1]);
  if (IsDigit(byte) || signed_number) return ParseNumber(operand);
  if (IsLetter(byte) || byte == '_') {
    const size_t offset = position_;
    std::string path;
    if (!ParsePath(path)) return false;
    return ResolveField(path, offset, operand);
  }
  return Fail("expected a field, a quoted string or a number" + At(position_));
}

bool Parser::ParseString(Operand& operand) {
  const char quote = source_[position_];
  const size_t opened_at = position_;
  const size_t closing = source_.find(quote, position_ + 1);
  if (closing == std::string_view::npos) return Fail("unterminated string" + At(opened_at));
  operand.kind = Operand::Kind::kText;
  operand.text = std::string(source_.substr(position_ + 1, closing - position_ - 1));
  position_ = closing + 1;
  return true;
}

bool Parser::ParseNumber(Operand& operand) {
  const size_t start = position_;
  if (source_[position_] == '-' || source_[position_] == '+') ++position_;
  while (position_ < source_.size() && (IsDigit(source_[position_]) || source_[position_] == '.')) {
    ++position_;
  }
  const std::string_view spelling = source_.substr(start, position_ - start);
  const std::optional<Decimal> number = ParseDecimal(spelling);
  if (!number || (position_ < source_.size() && IsNameByte(source_[position_]))) {
    return Fail("invalid number '" + std::string(spelling) + "'" + At(start));
  }
  operand.kind = Operand::Kind::kNumber;
  operand.number = *number;
  operand.text = std::string(spelling);
  return true;
}

bool Parser::ParsePath(std::string& path) {
  while (true) {
    if (position_ >= source_.size() || !(IsLetter(source_[position_]) || source_[position_] == '_'))
      return Fail("expected a field name" + At(position_));
    while (position_ < source_.size() && IsNameByte(source_[position_])) {
      path.push_back(source_[position_++]);
    }
    if (position_ >= source_.size() || source_[position_] != '.') return true;
    path.push_back('.');
    ++position_;
  }
}

bool Parser::ResolveField(std::string_view path, size_t offset, Operand& operand) {
  const std::optional<FieldInfo> field = FindField(path);
  if (!field) {
    return Fail("unknown field '" + std::string(path) + "'" + At(offset) + "; fields are " +
                FieldPathList());
  }
  operand.kind = Operand::Kind::kField;
  operand.field = field->id;
  operand.text = std::string(path);
  constant_ = false;
  return true;
}

bool Parser::ParseFilter(FilterCall& call) {
  SkipSpaces();
  const size_t name_offset = position_;
  while (position_ < source_.size() && IsNameByte(source_[position_])) ++position_;
  const std::string_view name = source_.substr(name_offset, position_ - name_offset);
  if (name.empty()) return Fail("expected a filter name after '|'" + At(name_offset));
  const FilterSpec* filter = FindFilter(name);
  if (filter == nullptr) {
    return Fail("unknown filter '" + std::string(name) + "'" + At(name_offset) + "; filters are " +
                FilterNameList());
  }
  call.id = filter->id;
  call.name = filter->name;
  SkipSpaces();
  if (position_ < source_.size() && source_[position_] == ':') {
    do {
      ++position_;
      SkipSpaces();
      const size_t offset = position_;
      if (call.arguments.size() == filter->arguments_max) {
        return Fail(std::string(name) + " takes at most " + std::to_string(filter->arguments_max) +
                    " argument(s)" + At(offset));
      }
      Operand argument;
      if (!ParseOperand(argument)) return false;
      if (!CheckArgument(*filter, call.arguments.size(), argument, offset)) return false;
      call.arguments.push_back(std::move(argument));
      SkipSpaces();
    } while (position_ < source_.size() && source_[position_] == ',');
  }
  if (call.arguments.size() < filter->arguments_min) {
    return Fail(std::string(name) + " needs " + std::to_string(filter->arguments_min) +
                " argument(s)" + At(name_offset));
  }
  return true;
}

bool Parser::CheckArgument(const FilterSpec& filter, size_t index, Operand& argument,
                           size_t offset) {
  const std::string name(filter.name);
  switch (filter.kinds[index]) {
    case ArgumentKind::kAny:
      return true;
    case ArgumentKind::kNumber:
      if (argument.kind == Operand::Kind::kText) {
        const std::optional<Decimal> number = ParseDecimal(argument.text);
        if (!number) return Fail(name + " expects a number" + At(offset));
        argument.kind = Operand::Kind::kNumber;
        argument.number = *number;
      }
      if (filter.id == FilterId::kDividedBy && argument.kind == Operand::Kind::kNumber &&
          argument.number.coefficient == 0) {
        return Fail("divided_by: division by zero" + At(offset));
      }
      return true;
    case ArgumentKind::kInteger:
      if (argument.kind != Operand::Kind::kNumber || argument.number.scale != 0 ||
          argument.number.coefficient > kIntegerArgumentMax ||
          argument.number.coefficient < -kIntegerArgumentMax) {
        return Fail(name + " expects a whole number literal" + At(offset));
      }
      if (argument.number.coefficient < 0 && !(filter.id == FilterId::kSlice && index == 0)) {
        return Fail(name + " expects a number that is not negative" + At(offset));
      }
      if (filter.id == FilterId::kRound && argument.number.coefficient > kDecimalScaleMax) {
        return Fail("round takes at most 18 digits" + At(offset));
      }
      return true;
    case ArgumentKind::kDateFormat: {
      if (argument.kind != Operand::Kind::kText) {
        return Fail("date expects a quoted format such as \"%Y-%m-%d\"" + At(offset));
      }
      const std::string problem = CheckDateFormat(argument.text);
      return problem.empty() ? true : Fail(problem + At(offset));
    }
  }
  return true;
}

// {field}, {field*number}, {field+number}, {field-number}, {field/number}.
bool Parser::ParseLegacy(std::vector<Template::Segment>& segments) {
  const size_t opened_at = position_;
  const size_t closing = source_.find('}', position_);
  if (closing == std::string_view::npos) return Fail("unterminated '{'" + At(opened_at));
  FlushLiteral(segments);
  trim_next_literal_ = false;
  ++position_;
  Template::Segment segment;
  segment.is_output = true;
  std::string path;
  if (!ParsePath(path) || !ResolveField(path, opened_at + 1, segment.subject)) return false;
  SkipSpaces();
  if (position_ < closing) {
    const char operation = source_[position_];
    const std::string_view filter_name = operation == '*'   ? "times"
                                         : operation == '+' ? "plus"
                                         : operation == '-' ? "minus"
                                         : operation == '/' ? "divided_by"
                                                            : "";
    if (filter_name.empty()) {
      return Fail("expected '}', '*', '+', '-' or '/'" + At(position_) +
                  " in the {field*number} form");
    }
    if (FieldInfoOf(segment.subject.field).type != FieldType::kMoney) {
      return Fail("arithmetic in the {field*number} form needs the money field, not '" + path +
                  "'" + At(opened_at));
    }
    ++position_;
    SkipSpaces();
    const size_t number_offset = position_;
    FilterCall call;
    call.id = FindFilter(filter_name)->id;
    call.name = FindFilter(filter_name)->name;
    const bool starts_number =
        position_ < closing && (IsDigit(source_[position_]) ||
                                ((source_[position_] == '-' || source_[position_] == '+') &&
                                 position_ + 1 < closing && IsDigit(source_[position_ + 1])));
    if (!starts_number) {
      return Fail("expected a number" + At(number_offset) + " in the {field*number} form");
    }
    Operand number;
    if (!ParseNumber(number)) return false;
    if (!CheckArgument(*FindFilter(filter_name), 0, number, number_offset)) return false;
    call.arguments.push_back(std::move(number));
    segment.filters.push_back(std::move(call));
    SkipSpaces();
  }
  if (position_ != closing) return Fail("expected '}'" + At(position_));
  position_ = closing + 1;
  segments.push_back(std::move(segment));
  return true;
}

// ---- Rendering -------------------------------------------------------------------------------

std::string ToText(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNil:
      return "";
    case Value::Kind::kText:
      return value.text;
    case Value::Kind::kNumber:
      return FormatDecimal(value.number);
    case Value::Kind::kBoolean:
      return value.boolean ? "true" : "false";
    case Value::Kind::kArray: {
      std::string joined;
      for (const std::string& item : value.items) joined += item;
      return joined;
    }
  }
  return "";
}

void AppendText(const Value& value, std::string& output) {
  switch (value.kind) {
    case Value::Kind::kNil:
      return;
    case Value::Kind::kText:
      output += value.text;
      return;
    case Value::Kind::kNumber:
      output += FormatDecimal(value.number);
      return;
    case Value::Kind::kBoolean:
      output += value.boolean ? "true" : "false";
      return;
    case Value::Kind::kArray:
      for (const std::string& item : value.items) output += item;
      return;
  }
}

// The value as text, moving it out when it already is text.
std::string TakeText(Value&& value) {
  if (value.kind == Value::Kind::kText) return std::move(value.text);
  return ToText(value);
}

bool IsBlank(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNil:
      return true;
    case Value::Kind::kText:
      return value.text.empty();
    case Value::Kind::kBoolean:
      return !value.boolean;
    case Value::Kind::kArray:
      return value.items.empty();
    case Value::Kind::kNumber:
      return false;
  }
  return true;
}

size_t SizeOf(const Value& value) {
  if (value.kind != Value::Kind::kArray) return value.text.size();
  size_t size = 0;
  for (const std::string& item : value.items) size += item.size();
  return size;
}

Error RenderError(std::string message) {
  return Error::Of(ErrorCode::kValidationFailed, std::move(message));
}

// Reads everything a filter needs from one render call.
struct RenderContext {
  const domain::BankTransaction& transaction;
  const AccountContext& account;
};

Result<Value> ReadOperand(const Operand& operand, const RenderContext& context) {
  switch (operand.kind) {
    case Operand::Kind::kText:
      return Value::Text(operand.text);
    case Operand::Kind::kNumber:
      return Value::Number(operand.number);
    case Operand::Kind::kField:
      break;
  }
  const FieldInfo& field = FieldInfoOf(operand.field);
  switch (field.type) {
    case FieldType::kText:
      return Value::Text(std::string(ReadText(field.id, context.transaction, context.account)));
    case FieldType::kMoney: {
      const int32_t exponent = CurrencyExponent(context.transaction.currency);
      if (exponent < 0) {
        return RenderError("amount: the transaction's currency '" + context.transaction.currency +
                           "' is not a known currency");
      }
      return Value::Number(Decimal{context.transaction.amount_minor, exponent});
    }
    case FieldType::kDate: {
      const std::optional<domain::Date> date = ReadDate(field.id, context.transaction);
      return date ? Value::Text(domain::FormatDate(*date)) : Value();
    }
    case FieldType::kBoolean: {
      Value value;
      value.kind = Value::Kind::kBoolean;
      value.boolean = ReadBoolean(field.id, context.transaction);
      return value;
    }
  }
  return Value();
}

std::optional<Decimal> ToNumber(const Value& value) {
  if (value.kind == Value::Kind::kNumber) return value.number;
  if (value.kind != Value::Kind::kText) return std::nullopt;
  return ParseDecimal(text::TrimAsciiWhitespace(value.text));
}

std::string ReplaceAll(std::string_view input, std::string_view search,
                       std::string_view replacement) {
  if (search.empty()) return std::string(input);
  std::string output;
  size_t start = 0;
  while (true) {
    const size_t found = input.find(search, start);
    if (found == std::string_view::npos) break;
    output.append(input.substr(start, found - start));
    output.append(replacement);
    start = found + search.size();
  }
  output.append(input.substr(start));
  return output;
}

// The size ReplaceAll would produce, computed first so a replace cannot blow up memory.
size_t ReplacedSize(std::string_view input, std::string_view search, std::string_view replacement) {
  if (search.empty()) return input.size();
  size_t count = 0;
  for (size_t found = input.find(search); found != std::string_view::npos;
       found = input.find(search, found + search.size())) {
    ++count;
  }
  return input.size() - count * search.size() + count * replacement.size();
}

std::string_view CodePointRange(std::string_view input, size_t begin, size_t end) {
  const size_t begin_offset = text::CodePointOffset(input, begin);
  const size_t end_offset = text::CodePointOffset(input, end);
  return input.substr(begin_offset, end_offset - begin_offset);
}

std::string Capitalize(std::string input) {
  const size_t split = text::CodePointOffset(input, 1);
  text::UpperCaseInPlace(std::span(input.data(), split));
  text::FoldCaseInPlace(std::span(input.data() + split, input.size() - split));
  return input;
}

std::string UpperCase(std::string input) {
  text::UpperCaseInPlace(input);
  return input;
}

std::string LowerCase(std::string input) {
  text::FoldCaseInPlace(input);
  return input;
}

std::string Truncate(std::string_view input, int64_t length, std::string_view ellipsis) {
  const auto limit = static_cast<size_t>(length);
  if (text::CountCodePoints(input) <= limit) return std::string(input);
  const size_t ellipsis_length = text::CountCodePoints(ellipsis);
  const size_t kept = limit > ellipsis_length ? limit - ellipsis_length : 0;
  return std::string(CodePointRange(input, 0, kept)) + std::string(ellipsis);
}

// Resolves Liquid's slice bounds; false when the slice is empty.
bool SliceBounds(size_t count, int64_t offset, int64_t length, size_t& begin, size_t& end) {
  const auto signed_count = static_cast<int64_t>(count);
  if (offset < 0) offset += signed_count;
  if (offset < 0 || offset >= signed_count) return false;
  begin = static_cast<size_t>(offset);
  end = static_cast<size_t>(std::min(signed_count, offset + length));
  return true;
}

Value Slice(const Value& input, int64_t offset, int64_t length) {
  size_t begin = 0;
  size_t end = 0;
  if (input.kind == Value::Kind::kArray) {
    if (!SliceBounds(input.items.size(), offset, length, begin, end)) return Value::Items({});
    return Value::Items(
        std::vector<std::string>(input.items.begin() + begin, input.items.begin() + end));
  }
  const std::string subject = ToText(input);
  if (!SliceBounds(text::CountCodePoints(subject), offset, length, begin, end)) {
    return Value::Text("");
  }
  return Value::Text(std::string(CodePointRange(subject, begin, end)));
}

std::vector<std::string> Split(std::string_view input, std::string_view separator) {
  std::vector<std::string> items;
  if (separator.empty()) {
    const size_t count = text::CountCodePoints(input);
    for (size_t index = 0; index < count; ++index) {
      items.emplace_back(CodePointRange(input, index, index + 1));
    }
    return items;
  }
  size_t start = 0;
  while (true) {
    const size_t found = input.find(separator, start);
    items.emplace_back(input.substr(start, found - start));
    if (found == std::string_view::npos) break;
    start = found + separator.size();
  }
  while (!items.empty() && items.back().empty()) items.pop_back();
  return items;
}

// split then first or last, without the array: Liquid's split drops trailing empty pieces,
// so last is the last non-empty piece and first is the first piece.
Value SplitPick(std::string input, std::string_view separator, bool first) {
  if (separator.empty()) {
    const size_t count = text::CountCodePoints(input);
    if (count == 0) return Value();
    const size_t index = first ? 0 : count - 1;
    return Value::Text(std::string(CodePointRange(input, index, index + 1)));
  }
  if (first) {
    input.resize(std::min(input.size(), input.find(separator)));
    return Value::Text(std::move(input));
  }
  std::string_view last;
  const std::string_view view = input;
  size_t start = 0;
  while (true) {
    const size_t found = view.find(separator, start);
    const std::string_view piece = view.substr(start, found - start);
    if (!piece.empty()) last = piece;
    if (found == std::string_view::npos) break;
    start = found + separator.size();
  }
  return Value::Text(std::string(last));
}

Value FirstOrLast(const Value& input, bool first) {
  if (input.kind == Value::Kind::kArray) {
    if (input.items.empty()) return Value();
    return Value::Text(first ? input.items.front() : input.items.back());
  }
  const std::string subject = ToText(input);
  const size_t count = text::CountCodePoints(subject);
  if (count == 0) return Value();
  const size_t index = first ? 0 : count - 1;
  return Value::Text(std::string(CodePointRange(subject, index, index + 1)));
}

Value Join(const Value& input, std::string_view separator) {
  if (input.kind != Value::Kind::kArray) return Value::Text(ToText(input));
  std::string joined;
  for (size_t index = 0; index < input.items.size(); ++index) {
    if (index > 0) joined += separator;
    joined += input.items[index];
  }
  return Value::Text(std::move(joined));
}

int32_t DayOfYear(domain::Date date) {
  const domain::Date new_year = *domain::Date::FromYearMonthDay(date.year(), 1, 1);
  return static_cast<int32_t>(date.days_since_epoch() - new_year.days_since_epoch() + 1);
}

std::string FormatDateWith(domain::Date date, std::string_view format) {
  std::string output;
  std::array<char, 16> buffer{};
  for (size_t index = 0; index < format.size(); ++index) {
    if (format[index] != '%' || index + 1 == format.size()) {
      output.push_back(format[index]);
      continue;
    }
    const char directive = format[++index];
    buffer[0] = '\0';
    switch (directive) {
      case 'Y':
        std::snprintf(buffer.data(), buffer.size(), "%04d", date.year());
        break;
      case 'm':
        std::snprintf(buffer.data(), buffer.size(), "%02d", date.month());
        break;
      case 'd':
        std::snprintf(buffer.data(), buffer.size(), "%02d", date.day());
        break;
      case 'e':
        std::snprintf(buffer.data(), buffer.size(), "%2d", date.day());
        break;
      case 'y':
        std::snprintf(buffer.data(), buffer.size(), "%02d", date.year() % 100);
        break;
      case 'j':
        std::snprintf(buffer.data(), buffer.size(), "%03d", DayOfYear(date));
        break;
      case 'b':
        output += kMonthNames[static_cast<size_t>(date.month() - 1)].substr(0, 3);
        break;
      case 'B':
        output += kMonthNames[static_cast<size_t>(date.month() - 1)];
        break;
      default:
        output.push_back(directive);
        break;  // '%%'; others were refused at compile.
    }
    output += buffer.data();
  }
  return output;
}

std::string DecimalProblem(std::string_view filter, DecimalError error) {
  switch (error) {
    case DecimalError::kNone:
      return "";
    case DecimalError::kOverflow:
      return std::string(filter) + ": the result is too large";
    case DecimalError::kDivisionByZero:
      return std::string(filter) + ": division by zero";
    case DecimalError::kTooManyDecimals:
      return std::string(filter) + ": the result needs more than 18 decimals";
  }
  return std::string(filter) + ": arithmetic failed";
}

Result<Value> ApplyArithmetic(const FilterCall& call, const Value& input,
                              std::span<const Value> arguments) {
  const std::optional<Decimal> left = ToNumber(input);
  if (!left) {
    return RenderError(std::string(call.name) + ": '" + ToText(input) + "' is not a number");
  }
  DecimalResult result;
  if (call.id == FilterId::kAbs) {
    result = AbsDecimal(*left);
  } else if (call.id == FilterId::kRound) {
    const int64_t digits = arguments.empty() ? 0 : arguments[0].number.coefficient;
    result = RoundDecimal(*left, static_cast<int32_t>(digits));
  } else {
    const std::optional<Decimal> right = ToNumber(arguments[0]);
    if (!right) {
      return RenderError(std::string(call.name) + ": argument '" + ToText(arguments[0]) +
                         "' is not a number");
    }
    result = call.id == FilterId::kTimes   ? MultiplyDecimal(*left, *right)
             : call.id == FilterId::kPlus  ? AddDecimal(*left, *right)
             : call.id == FilterId::kMinus ? SubtractDecimal(*left, *right)
                                           : DivideDecimal(*left, *right);
  }
  if (!result.ok()) return RenderError(DecimalProblem(call.name, result.error));
  return Value::Number(result.value);
}

Result<Value> ApplyDate(const Value& input, const Value& format) {
  if (IsBlank(input)) return Value();
  const std::string subject = ToText(input);
  const domain::DateParseResult parsed = domain::ParseDate(text::TrimAsciiWhitespace(subject));
  if (!parsed.ok()) return RenderError("date: '" + subject + "' is not a date (YYYY-MM-DD)");
  return Value::Text(FormatDateWith(parsed.date, format.text));
}

Result<Value> Replace(std::string subject, const Value& search, const Value& replacement) {
  const std::string search_text = ToText(search);
  const std::string replacement_text = ToText(replacement);
  if (ReplacedSize(subject, search_text, replacement_text) > kRenderedLengthMax) {
    return RenderError("replace: the result is longer than " + std::to_string(kRenderedLengthMax) +
                       " bytes");
  }
  return Value::Text(ReplaceAll(subject, search_text, replacement_text));
}

// Text filters take their input by value, so a chain moves one string along instead of
// copying it at every step.
Result<Value> ApplyText(const FilterCall& call, Value input, std::span<const Value> arguments) {
  switch (call.id) {
    case FilterId::kUpcase:
      return Value::Text(UpperCase(TakeText(std::move(input))));
    case FilterId::kDowncase:
      return Value::Text(LowerCase(TakeText(std::move(input))));
    case FilterId::kCapitalize:
      return Value::Text(Capitalize(TakeText(std::move(input))));
    case FilterId::kStrip:
      return Value::Text(std::string(text::TrimAsciiWhitespace(TakeText(std::move(input)))));
    case FilterId::kAppend: {
      std::string subject = TakeText(std::move(input));
      AppendText(arguments[0], subject);
      return Value::Text(std::move(subject));
    }
    case FilterId::kPrepend:
      return Value::Text(ToText(arguments[0]) + TakeText(std::move(input)));
    case FilterId::kRemove:
      return Replace(TakeText(std::move(input)), arguments[0], Value());
    case FilterId::kReplace:
      return Replace(TakeText(std::move(input)), arguments[0], arguments[1]);
    case FilterId::kTruncate: {
      const std::string ellipsis = arguments.size() > 1 ? ToText(arguments[1]) : "...";
      return Value::Text(
          Truncate(TakeText(std::move(input)), arguments[0].number.coefficient, ellipsis));
    }
    case FilterId::kSlice: {
      const int64_t length = arguments.size() > 1 ? arguments[1].number.coefficient : 1;
      return Slice(input, arguments[0].number.coefficient, length);
    }
    case FilterId::kSplit:
      return Value::Items(Split(TakeText(std::move(input)), ToText(arguments[0])));
    case FilterId::kSplitFirst:
    case FilterId::kSplitLast:
      return SplitPick(TakeText(std::move(input)), ToText(arguments[0]),
                       call.id == FilterId::kSplitFirst);
    case FilterId::kFirst:
      return FirstOrLast(input, true);
    case FilterId::kLast:
      return FirstOrLast(input, false);
    case FilterId::kJoin:
      return Join(input, arguments.empty() ? " " : ToText(arguments[0]));
    case FilterId::kDefault:
      return IsBlank(input) ? arguments[0] : std::move(input);
    case FilterId::kDate:
      return ApplyDate(input, arguments[0]);
    default:
      break;
  }
  return ApplyArithmetic(call, input, arguments);
}

Result<Value> ApplyFilter(const FilterCall& call, Value input, const RenderContext& context) {
  // At most two arguments (FilterSpec), so they live on the stack.
  std::array<Value, 2> arguments;
  const size_t count = call.arguments.size();
  for (size_t index = 0; index < count; ++index) {
    Result<Value> argument = ReadOperand(call.arguments[index], context);
    if (!argument.ok()) return argument.error();
    arguments[index] = std::move(argument.value());
  }
  Result<Value> output = ApplyText(call, std::move(input), std::span(arguments.data(), count));
  if (output.ok() && SizeOf(output.value()) > kRenderedLengthMax) {
    return RenderError(std::string(call.name) + ": the result is longer than " +
                       std::to_string(kRenderedLengthMax) + " bytes");
  }
  return output;
}

// Appends a filterless output straight from the transaction, without an intermediate value:
// the common "{{ creditor.name }}" costs one append.
std::string AppendOperand(const Operand& operand, const RenderContext& context,
                          std::string& output) {
  if (operand.kind == Operand::Kind::kText) {
    output += operand.text;
    return "";
  }
  if (operand.kind == Operand::Kind::kField &&
      FieldInfoOf(operand.field).type == FieldType::kText) {
    output += ReadText(operand.field, context.transaction, context.account);
    return "";
  }
  Result<Value> value = ReadOperand(operand, context);
  if (!value.ok()) return value.error().detail;
  AppendText(value.value(), output);
  return "";
}

Result<Value> EvaluateOutput(const Operand& subject, const std::vector<FilterCall>& filters,
                             const RenderContext& context) {
  Result<Value> value = ReadOperand(subject, context);
  for (const FilterCall& call : filters) {
    if (!value.ok()) break;
    value = ApplyFilter(call, std::move(value.value()), context);
  }
  return value;
}

}  // namespace

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::Compile(std::string_view source) {
  if (source.size() > kTemplateLengthMax) {
    return Error::Of(ErrorCode::kValidationFailed,
                     "template is longer than " + std::to_string(kTemplateLengthMax) + " bytes");
  }
  Template compiled;
  Parser parser(source);
  if (!parser.Parse(compiled.segments_, compiled.constant_)) {
    return Error::Of(ErrorCode::kValidationFailed, parser.error());
  }
  return compiled;
}

Result<std::string> Template::Render(const domain::BankTransaction& transaction,
                                     const AccountContext& account) const {
  const RenderContext context{transaction, account};
  std::string output;
  for (const Segment& segment : segments_) {
    if (!segment.is_output) {
      output += segment.literal;
    } else if (segment.filters.empty()) {
      std::string problem = AppendOperand(segment.subject, context, output);
      if (!problem.empty()) return RenderError(std::move(problem));
    } else {
      Result<Value> value = EvaluateOutput(segment.subject, segment.filters, context);
      if (!value.ok()) return value.error();
      AppendText(value.value(), output);
    }
    if (output.size() > kRenderedLengthMax) {
      return RenderError("the rendered value is longer than " + std::to_string(kRenderedLengthMax) +
                         " bytes");
    }
  }
  return output;
}

}  // namespace finsync::rules
