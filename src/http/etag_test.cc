#include "http/etag.h"

#include <gtest/gtest.h>

namespace finsync::http {
namespace {

TEST(EtagTest, IfNoneMatch) {
  const std::string_view etag = "\"abc\"";
  EXPECT_TRUE(IfNoneMatchMatches("\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\",\t\"abc\" ", etag));
  EXPECT_TRUE(IfNoneMatchMatches("*", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"abcd\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("abc", etag));
  EXPECT_FALSE(IfNoneMatchMatches("", etag));
  EXPECT_FALSE(IfNoneMatchMatches(",,", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"abc\"", ""));
  EXPECT_TRUE(IfNoneMatchMatches("*", ""));
}

}  // namespace
}  // namespace finsync::http
