// Rendering of compiled templates: values flowing through filter chains. The grammar and the
// compile-time checks live in template.cc.
#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <span>
#include <utility>

#include "domain/date.h"
#include "rules/decimal.h"
#include "rules/template.h"
#include "rules/template_syntax.h"
#include "rules/text.h"

namespace finsync::rules {
namespace {

using template_syntax::FilterCall;
using template_syntax::FilterId;
using template_syntax::Operand;

constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

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
