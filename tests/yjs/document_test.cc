// The decoder against updates made by the npm `yjs` package (tests/testdata/yjs/cases.json,
// written by tests/yjs/make_cases.mjs): each content kind, deletes, concurrent inserts and
// their order, formatting, XML and the editors' documents, subdocuments, encodings at their
// edges; the JSON view and the text must be what yjs gives, and malformed updates must fail
// with the reason. Also the limits, on updates built here.
#include "yjs/document.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/text.h"

namespace lbmirror::yjs {
namespace {

namespace json = boost::json;

struct Case {
  std::string name;
  std::string update;
  std::optional<json::value> json;
  std::string text;
  std::string error;
};

std::vector<Case> LoadCases() {
  std::ifstream in(std::string(LBMIRROR_TESTDATA_DIR) + "/yjs/cases.json");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<Case> cases;
  const json::value parsed = json::parse(text.str());
  for (const json::value& entry : parsed.as_array()) {
    const json::object& object = entry.as_object();
    Case c;
    c.name = std::string(object.at("name").as_string());
    c.update = Base64Decode(object.at("update").as_string()).value_or("<not base64>");
    if (const json::value* error = object.if_contains("error")) {
      c.error = std::string(error->as_string());
    } else {
      c.json = object.at("json");
      c.text = std::string(object.at("text").as_string());
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// JSON values equal as JavaScript sees them: numbers by value, whichever type holds them (lib0
// writes integers past 31 bits as float64, which boost::json keeps as double).
bool SameJson(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array &x = a.as_array(), &y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!SameJson(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object &x = a.as_object(), &y = b.as_object();
    if (x.size() != y.size()) return false;
    for (const auto& [key, value] : x) {
      const json::value* other = y.if_contains(key);
      if (other == nullptr || !SameJson(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

// gtest names a failing case by this.
void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

class DocumentCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(DocumentCaseTest, DecodesAsYjsDoes) {
  const Case& c = GetParam();
  auto document = Document::Decode(c.update);
  if (!c.error.empty()) {
    ASSERT_FALSE(document.has_value()) << "a malformed update is refused";
    EXPECT_EQ(document.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(document.error().message().find(c.error), std::string::npos)
        << document.error().message();
    return;
  }
  ASSERT_TRUE(document.has_value()) << document.error().ToString();
  auto view = document->ToJson();
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  EXPECT_TRUE(SameJson(*view, *c.json))
      << "got " << json::serialize(*view) << "\nyjs gives " << json::serialize(*c.json);
  auto text = document->Text();
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  EXPECT_EQ(*text, c.text);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name;
  for (char ch : info.param.name) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Yjs, DocumentCaseTest, ::testing::ValuesIn(LoadCases()), CaseName);

TEST(DocumentCasesTest, TheFileHoldsEveryKindOfCase) {
  auto cases = LoadCases();
  EXPECT_GE(cases.size(), 20u);
  size_t malformed = 0;
  for (const Case& c : cases) malformed += c.error.empty() ? 0 : 1;
  EXPECT_GE(malformed, 3u);
}

// Updates over the limits are refused before or while decoding, with kTooLarge.
TEST(DocumentLimitsTest, AnUpdateOverTheByteLimitIsRefused) {
  DecodeLimits limits;
  limits.max_update_bytes = 4;
  auto document = Document::Decode(std::string(5, '\0'), limits);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), ErrorCode::kTooLarge);
}

TEST(DocumentLimitsTest, AnEmptyDocumentHasNoRootsAndNoText) {
  // No structs, no deletes: the update of a fresh Y.Doc.
  auto document = Document::Decode(std::string("\0\0", 2));
  ASSERT_TRUE(document.has_value()) << document.error().ToString();
  EXPECT_EQ(*document->ToJson(), json::value(json::object{}));
  EXPECT_EQ(*document->Text(), "");
}

}  // namespace
}  // namespace lbmirror::yjs
