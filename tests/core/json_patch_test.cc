// JsonDiff, JsonPatchApply and JsonEqual: the examples of RFC 6902 and 6901, pointers escaped,
// random documents, each changed at random (applying the diff to the first gives the second;
// JsonEqual agrees with boost::json's ==), and documents as deep as the mirror keeps.
#include "core/json_patch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

namespace lbmirror {
namespace {

namespace json = boost::json;

json::value Parse(std::string_view text) { return json::parse(text); }

TEST(JsonPatchTest, EqualDocumentsHaveAnEmptyPatch) {
  EXPECT_TRUE(JsonDiff(Parse(R"({"a":[1,{"b":null}]})"), Parse(R"({"a":[1,{"b":null}]})")).empty());
}

TEST(JsonPatchTest, MembersAndElementsAddedRemovedAndReplaced) {
  auto patch = JsonDiff(Parse(R"({"keep":1,"gone":2,"list":[1,2,3],"deep":{"x":"a"}})"),
                        Parse(R"({"keep":1,"list":[1,5],"deep":{"x":"b"},"new":[true]})"));
  EXPECT_EQ(patch, Parse(R"([{"op":"remove","path":"/gone"},
                             {"op":"replace","path":"/list/1","value":5},
                             {"op":"remove","path":"/list/2"},
                             {"op":"replace","path":"/deep/x","value":"b"},
                             {"op":"add","path":"/new","value":[true]}])")
                       .as_array());
  auto grown = JsonDiff(Parse("[1]"), Parse("[1,2,3]"));
  EXPECT_EQ(grown,
            Parse(R"([{"op":"add","path":"/1","value":2},{"op":"add","path":"/2","value":3}])")
                .as_array());
  EXPECT_EQ(JsonDiff(Parse("[1,2,3]"), Parse("[]")),
            Parse(R"([{"op":"remove","path":"/2"},{"op":"remove","path":"/1"},)"
                  R"({"op":"remove","path":"/0"}])")
                .as_array())
      << "the last first";
  EXPECT_EQ(JsonDiff(Parse(R"({"a":1})"), Parse("[1]")),
            Parse(R"([{"op":"replace","path":"","value":[1]}])").as_array());
}

TEST(JsonPatchTest, KeysWithSlashAndTildeAreEscaped) {
  EXPECT_EQ(JsonPointerToken("a/b~c"), "a~1b~0c");
  auto from = Parse(R"({"a/b":{"m~n":1}})");
  auto to = Parse(R"({"a/b":{"m~n":2}})");
  auto patch = JsonDiff(from, to);
  EXPECT_EQ(patch, Parse(R"([{"op":"replace","path":"/a~1b/m~0n","value":2}])").as_array());
  auto applied = JsonPatchApply(from, patch);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(*applied, to);
}

// RFC 6902 appendix A.1, A.2, A.4, A.8, A.9, A.10 and A.16.
TEST(JsonPatchTest, TheRfcExamplesApply) {
  struct Case {
    const char *document, *patch, *result;
  } cases[] = {
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
       R"({"baz":"qux","foo":"bar"})"},
      {R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
       R"({"foo":["bar","qux","baz"]})"},
      {R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
       R"({"foo":["bar","baz"]})"},
      {R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})"},
      {R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
       R"({"foo":["bar",["abc","def"]]})"},
      {R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])", R"({"/":9,"~1":10})"},
  };
  for (const Case& c : cases) {
    auto applied = JsonPatchApply(Parse(c.document), Parse(c.patch).as_array());
    ASSERT_TRUE(applied.has_value()) << c.patch << ": " << applied.error().ToString();
    EXPECT_EQ(*applied, Parse(c.result)) << c.patch;
  }
}

TEST(JsonPatchTest, APatchThatDoesNotApplyNamesTheOperation) {
  struct Case {
    const char *patch, *message;
  } cases[] = {
      {R"([{"op":"test","path":"/baz","value":"bar"}])", "operation 0 (/baz): test: the value"},
      {R"([{"op":"add","path":"/nope/bat","value":"qux"}])",
       "the parent of the path does not exist"},
      {R"([{"op":"add","path":"/baz/bat","value":"qux"}])",
       "the parent is neither object nor array"},
      {R"([{"op":"remove","path":"/nope"}])", "the member does not exist"},
      {R"([{"op":"add","path":"/list/5","value":1}])", "the index is out of range"},
      {R"([{"op":"replace","path":"/list/01","value":1}])", "the index is out of range"},
      {R"([{"op":"move","from":"/a","path":"/b"}])", "op \"move\" is not supported"},
      {R"([{"op":"add","path":"baz","value":1}])", "not a JSON Pointer"},
      {R"([{"op":"add","path":"/x~2","value":1}])", "not a JSON Pointer"},
      {R"([{"path":"/x"}])", "needs an op and a path"},
      {R"([{"op":"add","path":"/x"}])", "add needs a value"},
  };
  for (const Case& c : cases) {
    auto applied = JsonPatchApply(Parse(R"({"baz":"qux","list":[1]})"), Parse(c.patch).as_array());
    ASSERT_FALSE(applied.has_value()) << c.patch;
    EXPECT_NE(applied.error().message().find(c.message), std::string::npos)
        << c.patch << ": " << applied.error().message();
  }
}

// A random JSON value, at most `depth` levels deep; keys from a small set, some with "/" and
// "~", so that documents share members and arrays share elements.
json::value RandomValue(std::mt19937& random, int depth) {
  static const char* kKeys[] = {"a", "b", "c/d", "e~f", "", "nodes", "0"};
  const int kind = static_cast<int>(random() % (depth > 0 ? 7 : 5));
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2:
      return static_cast<int64_t>(random() % 100) - 50;
    case 3:
      return static_cast<double>(random() % 1000) / 8;
    case 4:
      return json::string(std::string(random() % 3, static_cast<char>('x' + random() % 3)));
    case 5: {
      json::array array;
      for (size_t n = random() % 5; n > 0; --n) array.push_back(RandomValue(random, depth - 1));
      return array;
    }
    default: {
      json::object object;
      for (size_t n = random() % 5; n > 0; --n) {
        object[kKeys[random() % std::size(kKeys)]] = RandomValue(random, depth - 1);
      }
      return object;
    }
  }
}

// `value` with a random change somewhere inside (or, for a scalar or an empty container, a new
// value altogether).
json::value Mutate(json::value value, std::mt19937& random, int depth) {
  const bool container = (value.is_object() && !value.as_object().empty()) ||
                         (value.is_array() && !value.as_array().empty());
  if (depth == 0 || !container || random() % 6 == 0) return RandomValue(random, depth);
  if (json::object* object = value.if_object(); object != nullptr && !object->empty()) {
    auto it = object->begin() + static_cast<std::ptrdiff_t>(random() % object->size());
    switch (random() % 3) {
      case 0:
        object->erase(it);
        break;
      case 1:
        it->value() = Mutate(it->value(), random, depth - 1);
        break;
      default:
        (*object)[std::to_string(random() % 4)] = RandomValue(random, depth - 1);
    }
  } else if (json::array* array = value.if_array(); array != nullptr && !array->empty()) {
    const size_t at = random() % array->size();
    switch (random() % 3) {
      case 0:
        array->erase(array->begin() + static_cast<std::ptrdiff_t>(at));
        break;
      case 1:
        (*array)[at] = Mutate((*array)[at], random, depth - 1);
        break;
      default:
        array->insert(array->begin() + static_cast<std::ptrdiff_t>(at), RandomValue(random, 2));
    }
  }
  return value;
}

TEST(JsonPatchTest, TheDiffOfRandomDocumentsAppliedToTheFirstGivesTheSecond) {
  std::mt19937 random(20261207);
  int changed = 0;
  for (int i = 0; i < 3000; ++i) {
    const json::value from = RandomValue(random, 5);
    json::value to = from;
    for (int n = 1 + static_cast<int>(random() % 3); n > 0; --n) to = Mutate(to, random, 5);
    const json::array patch = JsonDiff(from, to);
    auto applied = JsonPatchApply(from, patch);
    ASSERT_TRUE(applied.has_value()) << json::serialize(from) << " -> " << json::serialize(to)
                                     << ": " << applied.error().ToString();
    ASSERT_EQ(*applied, to) << json::serialize(from) << " with " << json::serialize(patch);
    EXPECT_EQ(patch.empty(), from == to);
    EXPECT_EQ(JsonEqual(from, to), from == to)
        << json::serialize(from) << " vs " << json::serialize(to);
    changed += from == to ? 0 : 1;
  }
  EXPECT_GT(changed, 2500) << "most pairs differ";
}

TEST(JsonPatchTest, EqualityIgnoresMemberOrderAndComparesNumbersByValue) {
  EXPECT_TRUE(JsonEqual(Parse(R"({"a":1,"b":[2,{"c":3}]})"), Parse(R"({"b":[2,{"c":3}],"a":1})")));
  EXPECT_TRUE(JsonEqual(Parse("1"), json::value(std::uint64_t{1})));
  EXPECT_FALSE(JsonEqual(Parse("1"), Parse("1.5")));
  EXPECT_FALSE(JsonEqual(Parse(R"({"a":1})"), Parse(R"({"a":1,"b":2})")));
  EXPECT_FALSE(JsonEqual(Parse(R"({"a":1})"), Parse(R"({"b":1})")));
  EXPECT_FALSE(JsonEqual(Parse("[1,2]"), Parse("[2,1]")));
  EXPECT_FALSE(JsonEqual(Parse("[]"), Parse("{}")));
  EXPECT_FALSE(JsonEqual(Parse("null"), Parse("[]")));
}

// The deepest document the mirror keeps, changed at its bottom: one operation there (the walk
// is linear in the documents' size: comparing at every level, as before, took minutes).
TEST(JsonPatchTest, DocumentsAsDeepAsTheMirrorKeepsGiveTheOperationAtTheirBottom) {
  constexpr int kDepth = 1998;
  auto nested = [](const std::string& bottom) {
    std::string text;
    for (int i = 0; i < kDepth; ++i) text += R"({"a":)";
    return text + bottom + std::string(kDepth, '}');
  };
  json::parse_options deep;
  deep.max_depth = kDepth + 2;
  const json::value from = json::parse(nested("1"), {}, deep);
  const json::value to = json::parse(nested(R"({"b":[2]})"), {}, deep);
  const json::array patch = JsonDiff(from, to);
  ASSERT_EQ(patch.size(), 1u);
  std::string path;
  for (int i = 0; i < kDepth; ++i) path += "/a";
  EXPECT_EQ(patch[0],
            (json::object{{"op", "replace"}, {"path", path}, {"value", Parse(R"({"b":[2]})")}}));
  auto applied = JsonPatchApply(from, patch);
  ASSERT_TRUE(applied.has_value());
  EXPECT_TRUE(JsonEqual(*applied, to));
  EXPECT_FALSE(JsonEqual(from, to));
  EXPECT_TRUE(JsonDiff(to, to).empty());
}

}  // namespace
}  // namespace lbmirror
