// Full-text search over live comments and documents, on each backend's index.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/text.h"
#include "store/sql/schema.h"
#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

TEST_P(SqlStoreTest, SearchFindsLiveCommentsAndDocuments) {
  COMPLETE_WITH(
      store_, Thread({{"cm_1", "The quarterly roadmap review"}, {"cm_2", "会議の議事録です"}}, {}),
      YdocRow{"room-1", "{}", "Launch plan\nThe roadmap for spring", {}});
  auto hits = store_->Search("roadmap", 10);
  ASSERT_TRUE(hits.has_value()) << hits.error().ToString();
  ASSERT_EQ(hits->size(), 2u);
  std::set<std::string> kinds;
  for (const auto& hit : *hits) kinds.insert(hit.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"comment", "ydoc"}));
  for (const auto& hit : *hits) {
    EXPECT_NE(hit.snippet.find("roadmap"), std::string::npos) << hit.snippet;
    if (hit.kind == "comment") {
      EXPECT_EQ(hit.thread_id, "th_1");
    }
  }
  auto cjk = store_->Search("議事録", 10);
  ASSERT_TRUE(cjk.has_value());
  ASSERT_EQ(cjk->size(), 1u);
  EXPECT_EQ((*cjk)[0].object_id, "cm_2");
  COMPLETE_WITH(store_, Thread({{"cm_2", "会議の議事録です"}}, {}));
  auto after = store_->Search("quarterly", 10);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->empty()) << "a deleted comment is not found";
  EXPECT_FALSE(store_->Search("  ", 10).has_value());
}

}  // namespace
}  // namespace lbmirror::store::sql
