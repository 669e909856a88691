// Text helpers shared by conditions and templates: case folding, case-insensitive search
// without allocation, and UTF-8 aware counting.
//
// Unicode behaviour, on purpose and documented for users: case folding covers ASCII and the
// Latin-1 Supplement letters (U+00C0..U+00DE <-> U+00E0..U+00FE, except the signs U+00D7 and
// U+00F7), which are the accented letters of the Western and Nordic bank texts we see (ÆØÅ,
// ÄÖÜ, É, Ñ). Folding never changes the byte length, so needles can be folded once at compile
// time and compared byte by byte. Other scripts compare exactly; MATCHES_REGEX with
// case_sensitive false uses RE2's full Unicode case folding for them. "ß" and "ÿ" have no
// same-length counterpart and are left as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace finsync::rules::text {

// Lower-cases one byte. `previous` is the byte before it in the same text, or 0 at the start
// of the text being compared: a Latin-1 capital is the lead byte 0xC3 followed by 0x80..0x9E.
inline uint8_t FoldByte(uint8_t byte, uint8_t previous) {
  if (byte < 0x80) return (byte >= 'A' && byte <= 'Z') ? static_cast<uint8_t>(byte + 32) : byte;
  if (previous == 0xC3 && byte <= 0x9E && byte != 0x97) return static_cast<uint8_t>(byte + 32);
  return byte;
}

// The folded (lower-case) form of `text`; FoldCase(FoldCase(x)) == FoldCase(x).
std::string FoldCase(std::string_view text);

// Upper-cases ASCII and Latin-1 letters (the inverse of FoldCase on those letters).
std::string UpperCase(std::string_view text);

// The same, in place, for template filters that already own their string. `text` should start
// at a character boundary: its first byte is read as having no byte before it.
void FoldCaseInPlace(std::span<char> text);
void UpperCaseInPlace(std::span<char> text);

bool IsAscii(std::string_view text);

// Case-insensitive comparisons against a needle already passed through FoldCase. None of them
// allocates. Each compares the folded window of `haystack` with the needle, so a match is
// never decided by a byte outside the window.
bool EqualsFolded(std::string_view haystack, std::string_view folded_needle);
bool StartsWithFolded(std::string_view haystack, std::string_view folded_needle);
bool EndsWithFolded(std::string_view haystack, std::string_view folded_needle);
bool ContainsFolded(std::string_view haystack, std::string_view folded_needle);

// The number of UTF-8 code points: every byte that is not a continuation byte starts one, so
// invalid UTF-8 still gives a count and never a crash.
size_t CountCodePoints(std::string_view text);

// The byte offset where code point `index` starts, or text.size() when there are fewer.
size_t CodePointOffset(std::string_view text, size_t index);

// Without leading and trailing spaces, tabs, CR, LF, VT and FF.
std::string_view TrimAsciiWhitespace(std::string_view text);

}  // namespace finsync::rules::text
