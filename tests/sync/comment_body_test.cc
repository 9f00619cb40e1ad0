#include "sync/comment_body.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lbmirror::sync {
namespace {

std::string Plain(std::string_view body) {
  return CommentBodyToPlainText(boost::json::parse(body));
}

// Three bodies and the text the SDK's stringifyCommentBody gives for each.
TEST(CommentBodyTest, SpecExampleA) {
  EXPECT_EQ(
      Plain(
          R"json({"version":1,"content":[{"type":"paragraph","children":[{"text":"Hello "},{"text":"world","bold":true},{"text":", see "},{"type":"link","url":"https://example.com/a_b?x=(1)"},{"text":" and "},{"type":"link","url":"https://liveblocks.io","text":"the docs"},{"text":"."}]},{"type":"paragraph","children":[{"text":"Ping "},{"type":"mention","kind":"user","id":"user_42"},{"text":" please"}]}]})json"),
      "Hello world, see https://example.com/a_b?x=(1) and the docs.\nPing @user_42 please");
}

TEST(CommentBodyTest, SpecExampleBKeepsEmptyParagraphs) {
  EXPECT_EQ(
      Plain(
          R"json({"version":1,"content":[{"type":"paragraph","children":[{"text":"b","bold":true},{"text":" "},{"text":"i","italic":true},{"text":" "},{"text":"s","strikethrough":true},{"text":" "},{"text":"c","code":true},{"text":" "},{"text":"all","bold":true,"italic":true,"strikethrough":true,"code":true}]},{"type":"paragraph","children":[]},{"type":"paragraph","children":[{"text":"Raw *stars* and _unders_ [x](y)"},{"text":" fmt *x*","italic":true}]}]})json"),
      "b i s c all\n\nRaw *stars* and _unders_ [x](y) fmt *x*");
}

TEST(CommentBodyTest, SpecExampleCDropsEmptyMentionsAndKeepsOriginalUrls) {
  EXPECT_EQ(
      Plain(
          R"json({"version":1,"content":[{"type":"paragraph","children":[{"type":"mention","kind":"group","id":"team-eng"},{"text":" "},{"type":"mention","kind":"user","id":""},{"text":"<tag> & \"q\""},{"text":" "},{"type":"link","url":"javascript:alert(1)","text":"bad link"},{"text":" "},{"type":"link","url":"www.example.com"},{"text":" "},{"type":"link","url":"/relative/path"}]}]})json"),
      "@team-eng <tag> & \"q\" bad link www.example.com /relative/path");
}

TEST(CommentBodyTest, SkipsUnknownBlocksAndElementsAndOldMentions) {
  EXPECT_EQ(
      Plain(
          R"json({"version":1,"content":[{"type":"quote","children":[{"text":"x"}]},{"type":"paragraph","children":[{"type":"mention","id":"old"},{"type":"emoji","text":"?"},{"text":" 👍 日本"}]}]})json"),
      "@old 👍 日本");
  EXPECT_EQ(Plain("[]"), "");
}

}  // namespace
}  // namespace lbmirror::sync
