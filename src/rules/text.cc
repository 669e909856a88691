#include "rules/text.h"

namespace finsync::rules::text {
namespace {

uint8_t ByteAt(std::string_view text, size_t index) { return static_cast<uint8_t>(text[index]); }

bool IsContinuationByte(uint8_t byte) { return (byte & 0xC0) == 0x80; }

bool IsAsciiWhitespace(char byte) {
  return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\v' ||
         byte == '\f';
}

// Compares haystack[start, start + needle.size()) folded as a window of its own.
bool WindowEqualsFolded(std::string_view haystack, size_t start, std::string_view needle) {
  uint8_t previous = 0;
  for (size_t index = 0; index < needle.size(); ++index) {
    const uint8_t byte = ByteAt(haystack, start + index);
    if (FoldByte(byte, previous) != ByteAt(needle, index)) return false;
    previous = byte;
  }
  return true;
}

uint8_t AsciiLower(uint8_t byte) {
  return (byte >= 'A' && byte <= 'Z') ? static_cast<uint8_t>(byte + 32) : byte;
}

// For an ASCII needle a haystack byte >= 0x80 folds to a byte >= 0x80 and can never match,
// so ASCII folding alone decides; this is the common case and the fast one.
bool ContainsFoldedAscii(std::string_view haystack, std::string_view needle) {
  const uint8_t first = ByteAt(needle, 0);
  // For a lower-case letter, (byte | 0x20) == first holds for exactly its two cases, so one
  // comparison finds candidates; any other first byte must match as it is.
  const uint8_t case_bit = (first >= 'a' && first <= 'z') ? 0x20 : 0x00;
  const size_t last_start = haystack.size() - needle.size();
  for (size_t start = 0; start <= last_start; ++start) {
    if ((ByteAt(haystack, start) | case_bit) != first) continue;
    size_t index = 1;
    while (index < needle.size() &&
           AsciiLower(ByteAt(haystack, start + index)) == ByteAt(needle, index)) {
      ++index;
    }
    if (index == needle.size()) return true;
  }
  return false;
}

}  // namespace

void FoldCaseInPlace(std::span<char> text) {
  uint8_t previous = 0;
  for (char& byte : text) {
    const auto original = static_cast<uint8_t>(byte);
    byte = static_cast<char>(FoldByte(original, previous));
    previous = original;
  }
}

void UpperCaseInPlace(std::span<char> text) {
  uint8_t previous = 0;
  for (char& byte : text) {
    const auto original = static_cast<uint8_t>(byte);
    if (original >= 'a' && original <= 'z') {
      byte = static_cast<char>(original - 32);
    } else if (previous == 0xC3 && original >= 0xA0 && original <= 0xBE && original != 0xB7) {
      byte = static_cast<char>(original - 32);
    }
    previous = original;
  }
}

std::string FoldCase(std::string_view text) {
  std::string folded(text);
  FoldCaseInPlace(folded);
  return folded;
}

std::string UpperCase(std::string_view text) {
  std::string upper(text);
  UpperCaseInPlace(upper);
  return upper;
}

bool IsAscii(std::string_view text) {
  for (char byte : text) {
    if (static_cast<uint8_t>(byte) >= 0x80) return false;
  }
  return true;
}

bool EqualsFolded(std::string_view haystack, std::string_view folded_needle) {
  return haystack.size() == folded_needle.size() && WindowEqualsFolded(haystack, 0, folded_needle);
}

bool StartsWithFolded(std::string_view haystack, std::string_view folded_needle) {
  return haystack.size() >= folded_needle.size() && WindowEqualsFolded(haystack, 0, folded_needle);
}

bool EndsWithFolded(std::string_view haystack, std::string_view folded_needle) {
  return haystack.size() >= folded_needle.size() &&
         WindowEqualsFolded(haystack, haystack.size() - folded_needle.size(), folded_needle);
}

bool ContainsFolded(std::string_view haystack, std::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  if (haystack.size() < folded_needle.size()) return false;
  if (IsAscii(folded_needle)) return ContainsFoldedAscii(haystack, folded_needle);
  const size_t last_start = haystack.size() - folded_needle.size();
  for (size_t start = 0; start <= last_start; ++start) {
    if (WindowEqualsFolded(haystack, start, folded_needle)) return true;
  }
  return false;
}

size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  for (char byte : text) {
    if (!IsContinuationByte(static_cast<uint8_t>(byte))) ++count;
  }
  return count;
}

size_t CodePointOffset(std::string_view text, size_t index) {
  size_t seen = 0;
  for (size_t offset = 0; offset < text.size(); ++offset) {
    if (IsContinuationByte(ByteAt(text, offset))) continue;
    if (seen == index) return offset;
    ++seen;
  }
  return text.size();
}

std::string_view TrimAsciiWhitespace(std::string_view text) {
  while (!text.empty() && IsAsciiWhitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsAsciiWhitespace(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace finsync::rules::text
