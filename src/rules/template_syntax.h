// Internal to the template module: the compiled form of a template, shared by the parser
// (template.cc) and the renderer (template_render.cc). Nothing outside src/rules/template*
// includes this header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/decimal.h"
#include "rules/field_path.h"
#include "rules/template.h"

namespace finsync::rules {
namespace template_syntax {

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

}  // namespace template_syntax

struct Template::Segment {
  bool is_output = false;
  std::string literal;               // When !is_output.
  template_syntax::Operand subject;  // When is_output.
  std::vector<template_syntax::FilterCall> filters;
};

}  // namespace finsync::rules
