#include "core/text.h"

#include <gtest/gtest.h>

namespace lbmirror {
namespace {

TEST(TextTest, ParsesDurations) {
  EXPECT_EQ(ParseDurationMs("0"), 0);
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(ParseDurationMs("5m"), 300'000);
  EXPECT_EQ(ParseDurationMs("2h"), 7'200'000);
  EXPECT_EQ(ParseDurationMs("30d"), 2'592'000'000);
  for (const char* bad : {"", "s", "30", "-5m", "5 m", "5min", "1.5h", "99999999999999s"}) {
    EXPECT_FALSE(ParseDurationMs(bad).has_value()) << bad;
  }
}

TEST(TextTest, Utf8ValidityFollowsRfc3629) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE6\x97\xA5 \xF0\x9F\x91\x8B"));  // é, 日, 👋
  EXPECT_TRUE(IsValidUtf8("\xEF\xBB\xBF"));                                // BOM
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                            // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));                                       // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xC3"));                                       // truncated
  EXPECT_FALSE(IsValidUtf8("\xE6\x97"));                                   // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                                   // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));                               // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));                               // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));                           // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("ok\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));  // bad continuation
}

TEST(TextTest, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    bytes.push_back(static_cast<char>(i * 37 + 11));
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(TextTest, Base64KnownValues) {
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");  // missing padding, like Node
  EXPECT_EQ(*Base64Decode("-_8="), *Base64Decode("+/8="));
}

TEST(TextTest, Base64RejectsForeignCharacters) {
  EXPECT_FALSE(Base64Decode("ab$d").has_value());
  EXPECT_FALSE(Base64Decode("abcde").has_value());
}

TEST(TextTest, ParsesIsoTimestampsWithAndWithoutFraction) {
  EXPECT_EQ(*ParseIsoTimestampMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseIsoTimestampMs("2026-01-01T00:00:00.000Z"), 1767225600000);
  EXPECT_EQ(*ParseIsoTimestampMs("2013-06-26T19:10:19Z"), 1372273819000);
  EXPECT_EQ(*ParseIsoTimestampMs("2021-10-06T01:45:56.558Z"), 1633484756558);
  EXPECT_EQ(*ParseIsoTimestampMs("2021-10-06T01:45:56.5Z"), 1633484756500);
  EXPECT_EQ(*ParseIsoTimestampMs("2021-10-06T01:45:56.558123+00:00"), 1633484756558);
}

TEST(TextTest, RejectsMalformedTimestamps) {
  for (const char* text : {"", "2021-10-06", "2021-13-06T01:45:56Z", "2021-02-30T00:00:00Z",
                           "2021-10-06T01:45:56+02:00", "2021-10-06T01:45:56.Z", "garbage"}) {
    EXPECT_FALSE(ParseIsoTimestampMs(text).has_value()) << text;
  }
}

TEST(TextTest, FormatsSqlAndIsoTimestamps) {
  EXPECT_EQ(FormatSqlTimestamp(1633484756558), "2021-10-06 01:45:56.558");
  EXPECT_EQ(FormatIsoTimestamp(1633484756558), "2021-10-06T01:45:56.558Z");
  EXPECT_EQ(FormatSqlTimestamp(0), "1970-01-01 00:00:00.000");
}

TEST(TextTest, EncodesUriComponentsLikeTheSdk) {
  EXPECT_EQ(EncodeUriComponent("my room/1:x"), "my%20room%2F1%3Ax");
  EXPECT_EQ(EncodeUriComponent("a-b_c.d!e~f*g'h(i)"), "a-b_c.d!e~f*g'h(i)");
  EXPECT_EQ(EncodeUriComponent("café"), "caf%C3%A9");
  EXPECT_EQ(*PercentDecode("caf%C3%A9%2f"), "café/");
  EXPECT_FALSE(PercentDecode("bad%zz").has_value());
}

TEST(TextTest, SplitsOnAnySeparatorDroppingEmptyPieces) {
  EXPECT_EQ(SplitAny(" a, b ,,c ", " ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitAny("", ",").empty());
}

TEST(TextTest, ReplacesEveryOccurrenceWithoutRescanning) {
  EXPECT_EQ(ReplaceAll("{p}a {p}b", "{p}", "t_"), "t_a t_b");
  EXPECT_EQ(ReplaceAll("aaa", "a", "aa"), "aaaaaa");
  EXPECT_EQ(ReplaceAll("abc", "", "x"), "abc");
}

TEST(TextTest, EscapesJsonStringContents) {
  EXPECT_EQ(JsonEscape("say \"hi\"\\\n\t\x01 ok 日本"), "say \\\"hi\\\"\\\\\\n\\t\\u0001 ok 日本");
}

TEST(TextTest, MeasuresTheNestingOfJsonOutsideStrings) {
  EXPECT_EQ(JsonDepth("1"), 0);
  EXPECT_EQ(JsonDepth("{}"), 1);
  EXPECT_EQ(JsonDepth(R"({"a":[{"b":[]}],"c":{}})"), 4);
  EXPECT_EQ(JsonDepth(R"({"a":"[[[{{{\"]]]"})"), 1) << "brackets in strings, escaped quotes";
  EXPECT_EQ(JsonDepth(std::string(3000, '[') + std::string(3000, ']')), 3000);
}

TEST(TextTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("admin-token-0123", "admin-token-0123"));
  EXPECT_FALSE(ConstantTimeEquals("admin-token-0123", "admin-token-0124"));
  EXPECT_FALSE(ConstantTimeEquals("admin-token-0123", "admin-token-012"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace lbmirror
