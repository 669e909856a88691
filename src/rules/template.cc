#include "rules/template.h"

#include <array>
#include <cstddef>
#include <optional>
#include <utility>

#include "rules/decimal.h"
#include "rules/template_syntax.h"

namespace finsync::rules {
namespace {

using template_syntax::FilterCall;
using template_syntax::FilterId;
using template_syntax::Operand;

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

}  // namespace finsync::rules
