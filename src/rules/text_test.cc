#include "rules/text.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace finsync::rules::text {
namespace {

TEST(TextTest, FoldCaseLowersAsciiAndLatinOneOnly) {
  // Proves which letters fold, that folding keeps the byte length and is idempotent, and that
  // the multiplication sign, ß, ÿ and other scripts are left alone.
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Spotify AB", "spotify ab"}, {"ÆØÅ ÄÖÜ ÉÑ", "æøå äöü éñ"}, {"×÷ßÿ", "×÷ßÿ"},
      {"ΕΛΛΑΣ", "ΕΛΛΑΣ"},           {"123 !?", "123 !?"},         {"", ""},
  };
  for (const auto& [input, folded] : cases) {
    EXPECT_EQ(FoldCase(input), folded) << input;
    EXPECT_EQ(FoldCase(input).size(), input.size()) << input;
    EXPECT_EQ(FoldCase(FoldCase(input)), FoldCase(input)) << input;
  }
  EXPECT_EQ(UpperCase("spotify æøå äöü éñ ÿ ß"), "SPOTIFY ÆØÅ ÄÖÜ ÉÑ ÿ ß");
}

TEST(TextTest, FoldedComparisonsMatchOnlyWhereTheyShould) {
  // Proves the allocation-free case-insensitive comparisons on ASCII and Latin-1 needles,
  // including windows at the start and end, needles longer than the text and empty needles.
  struct Case {
    std::string_view haystack;
    std::string_view needle;  // Already folded.
    bool equals, starts, ends, contains;
  };
  const Case cases[] = {
      {"Spotify AB", "spotify ab", true, true, true, true},
      {"Spotify AB", "spot", false, true, false, true},
      {"Spotify AB", " ab", false, false, true, true},
      {"Spotify AB", "tify", false, false, false, true},
      {"Spotify AB", "netflix", false, false, false, false},
      {"AB", "abc", false, false, false, false},
      {"", "", true, true, true, true},
      {"x", "", false, true, true, true},
      {"Ørjan Ødegård", "ødegård", false, false, true, true},
      {"ØDEGÅRD", "ødegård", true, true, true, true},
      {"aaab", "aab", false, false, true, true},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(EqualsFolded(test_case.haystack, test_case.needle), test_case.equals)
        << test_case.haystack << " / " << test_case.needle;
    EXPECT_EQ(StartsWithFolded(test_case.haystack, test_case.needle), test_case.starts)
        << test_case.haystack << " / " << test_case.needle;
    EXPECT_EQ(EndsWithFolded(test_case.haystack, test_case.needle), test_case.ends)
        << test_case.haystack << " / " << test_case.needle;
    EXPECT_EQ(ContainsFolded(test_case.haystack, test_case.needle), test_case.contains)
        << test_case.haystack << " / " << test_case.needle;
  }
}

TEST(TextTest, CodePointsAreCountedWithoutSplittingCharacters) {
  // Proves character counting and offsets on ASCII, multi-byte and invalid UTF-8.
  EXPECT_EQ(CountCodePoints("abc"), 3u);
  EXPECT_EQ(CountCodePoints("æøå"), 3u);
  EXPECT_EQ(CountCodePoints("€1"), 2u);
  EXPECT_EQ(CountCodePoints("\xFF\xFE"), 2u);
  EXPECT_EQ(CodePointOffset("æøå", 0), 0u);
  EXPECT_EQ(CodePointOffset("æøå", 1), 2u);
  EXPECT_EQ(CodePointOffset("æøå", 3), 6u);
  EXPECT_EQ(CodePointOffset("æøå", 9), 6u);
  EXPECT_EQ(TrimAsciiWhitespace(" \t\r\n x y \v\f"), "x y");
  EXPECT_EQ(TrimAsciiWhitespace("   "), "");
}

}  // namespace
}  // namespace finsync::rules::text
