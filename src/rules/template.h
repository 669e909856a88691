// Templates in action values. Two forms, mixable in one value:
//
// Liquid subset: {{ expression | filter: argument, argument | filter }}
//   expression and arguments: a field path (field_path.h), a quoted string ('..' or "..", no
//   escapes), or a number (-12, 3.50). {{- and -}} trim whitespace next to the tag, as in
//   Liquid. Tags ({% ... %}) are not supported and are refused.
//   Text filters: upcase, downcase, capitalize, strip, append: x, prepend: x, replace: a, b,
//     remove: a, truncate: length[, ellipsis] (ellipsis "..." by default, counted in the
//     length), slice: offset[, length] (negative offsets count from the end), split: separator,
//     first, last, join[: separator] (" " by default), default: x (used when the value is
//     empty, missing or false), date: format (%Y %m %d %e %b %B %y %j and %%).
//   Number filters, exact decimal: times, plus, minus, divided_by, abs, round[: digits].
//   Lengths and offsets count UTF-8 characters, never bytes, so text is never cut inside a
//   character. upcase, downcase and capitalize fold ASCII and Latin-1 letters (text.h).
// Older form: {field}, {field*number}, {field+number}, {field-number}, {field/number}, as in
//   {amount*-1}; arithmetic requires the money field. A '{' directly followed by a lower-case
//   letter starts this form, so "{note}" is refused as an unknown field; any other '{' or '}'
//   is literal text.
//
// Values: text fields render as they are, amounts as exact decimals in the currency's exponent
// ("-42.50"), dates as YYYY-MM-DD (empty when missing), booked as true/false.
//
// Differences from Liquid, deliberate: unknown fields, unknown filters and wrong argument
// counts are refused when the rule is saved instead of rendering nothing; number filters on
// text that is not a number fail the action instead of treating the text as 0; arithmetic is
// exact decimal instead of floating point (42.50 * -1 is -42.50, not -42.5); divided_by on
// decimals rounds half away from zero at the larger scale (decimal.h); replace with an empty
// search text changes nothing; split uses the separator exactly and drops trailing empty items.
//
// Limits: kTemplateLengthMax bytes of source, kRenderedLengthMax bytes of any rendered or
// intermediate value, kFiltersPerOutputMax filters per {{ }}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/transaction.h"
#include "rules/field_path.h"
#include "rules/rule.h"

namespace finsync::rules {

inline constexpr size_t kFiltersPerOutputMax = 20;

// A compiled template. Immutable once compiled and safe to render from several threads.
class Template {
 public:
  // Errors are kValidationFailed with a detail that names the problem and its byte offset,
  // e.g. "unknown filter 'upper' at offset 18". Never throws.
  static Result<Template> Compile(std::string_view source);

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // Renders for one transaction. Fails (kValidationFailed, detail says why) only on problems
  // that depend on the data: a number filter given text that is not a number, division by
  // zero, an overflow, a value longer than kRenderedLengthMax, an amount in an unknown currency.
  Result<std::string> Render(const domain::BankTransaction& transaction,
                             const AccountContext& account) const;

  // True when no field is referenced: every transaction renders the same value, so it can be
  // checked when the rule is saved.
  bool is_constant() const { return constant_; }

  struct Segment;  // Defined in template_syntax.h, internal to the template module.

 private:
  Template();

  std::vector<Segment> segments_;
  bool constant_ = true;
};

}  // namespace finsync::rules
