#include "sync/reconciler.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/text.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_liveblocks_client.h"
#include "store/sql/sql_store.h"
#include "store/sqlite/sqlite_connection.h"
#include "sync/engine.h"

namespace lbmirror::sync {
namespace {

using store::TargetKind;

std::string Room(const std::string& id, const std::string& metadata = "{}") {
  return R"({"type":"room","id":")" + id +
         R"(","createdAt":"2026-01-01T00:00:00.000Z","metadata":)" + metadata +
         R"(,"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{}})";
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    path_ =
        std::filesystem::temp_directory_path() / ("lbmirror_reconcile_" + std::to_string(getpid()) +
                                                  "_" + std::to_string(counter++) + ".db");
    std::string path = path_;
    factory_ = [path] { return store::sqlite::OpenSqliteConnection(path); };
    store_ = std::make_unique<store::sql::SqlStore>(store::sql::Dialect::kSqlite, factory_,
                                                    store::sql::SqlStoreOptions{"liveblocks_", 1},
                                                    clock_);
    ASSERT_TRUE(store_->Migrate().has_value());
    options_.page_size = 2;
    options_.kinds = {TargetKind::kRoom, TargetKind::kStorage};
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }
  std::string One(const std::string& sql) {
    auto connection = factory_();
    auto rows = (*connection)->Query(sql, {});
    if (!rows || rows->empty()) return "<no row>";
    return (*rows)[0][0].value_or("NULL");
  }
  // Three rooms a, b, c over two pages of two.
  void ListThreeRooms() {
    client_.Set("/v2/rooms?limit=2", 200,
                R"({"nextCursor":"c1","data":[)" + Room("a") + "," + Room("b") + "]}");
    client_.Set("/v2/rooms?limit=2&startingAfter=c1", 200,
                R"({"nextCursor":null,"data":[)" + Room("c") + "]}");
    for (std::string id : {"a", "b", "c"}) {
      client_.Set("/v2/rooms/" + id, 200, Room(id));
      client_.Set("/v2/rooms/" + id + "/storage?format=json", 200, R"({"room":")" + id + R"("})");
    }
  }
  void MirrorAll() {
    Engine engine(*store_, client_, clock_, EngineOptions{});
    engine.RunUntilIdle();
  }

  FakeClock clock_;
  std::filesystem::path path_;
  store::sql::ConnectionFactory factory_;
  std::unique_ptr<store::sql::SqlStore> store_;
  liveblocks::FakeLiveblocksClient client_;
  ReconcileOptions options_;
};

TEST_F(ReconcilerTest, MarkAllFollowsTheCursorAndRecordsItsProgress) {
  ListThreeRooms();
  Reconciler reconciler(*store_, *store_, client_, options_);
  std::vector<int64_t> pages;
  auto counts = reconciler.MarkAll("backfill:test", false,
                                   [&](const ReconcileCounts& c) { pages.push_back(c.pages); });
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  EXPECT_EQ(counts->pages, 2);
  EXPECT_EQ(counts->rooms_listed, 3);
  EXPECT_EQ(counts->targets_marked, 6);
  EXPECT_FALSE(counts->resumed);
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_targets WHERE dirty_seq > done_seq"), "6");
  EXPECT_EQ(One("SELECT value FROM liveblocks_checkpoints WHERE name = 'backfill:test'"),
            R"({"cursor":"","rooms":3,"listed":true})");
  MirrorAll();
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_documents"), "3");
}

TEST_F(ReconcilerTest, AnInterruptedMarkAllResumesAfterItsLastPage) {
  ListThreeRooms();
  ASSERT_TRUE(store_->SetCheckpoint("backfill:test", R"({"cursor":"c1","rooms":2})").has_value());
  Reconciler reconciler(*store_, *store_, client_, options_);
  auto counts = reconciler.MarkAll("backfill:test", false);
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  EXPECT_TRUE(counts->resumed);
  EXPECT_EQ(counts->rooms_listed, 3);
  EXPECT_EQ(counts->pages, 1);
  EXPECT_EQ(client_.Calls("/v2/rooms?limit=2"), 0) << "the first page was listed before";
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_targets"), "2") << "room c only";
  // Once finished, the same name starts over.
  ASSERT_TRUE(reconciler.Finish("backfill:test").has_value());
  auto again = reconciler.MarkAll("backfill:test", false);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->resumed);
  EXPECT_EQ(again->rooms_listed, 3);
}

TEST_F(ReconcilerTest, CompareMarksAndCountsOnlyWhatDiffers) {
  ListThreeRooms();
  Reconciler reconciler(*store_, *store_, client_, options_);
  ASSERT_TRUE(reconciler.MarkAll("", false).has_value());
  MirrorAll();
  auto same = reconciler.Compare(std::nullopt);
  ASSERT_TRUE(same.has_value()) << same.error().ToString();
  EXPECT_EQ(same->rooms_checked, 3);
  EXPECT_EQ(same->repaired, 0);
  EXPECT_EQ(same->rooms_refreshed, 0);
  EXPECT_EQ(same->targets_marked, 0);

  // b's Storage changed with no webhook, a's metadata changed, c was deleted.
  client_.Set("/v2/rooms/b/storage?format=json", 200, R"({"room":"b","changed":true})");
  client_.Set("/v2/rooms?limit=2", 200,
              R"({"nextCursor":"","data":[)" + Room("a", R"({"v":2})") + "," + Room("b") + "]}");
  client_.Set("/v2/rooms/a", 200, Room("a", R"({"v":2})"));
  client_.Set("/v2/rooms/c", 404, R"({"error":"ROOM_NOT_FOUND"})");
  auto drift = reconciler.Compare(std::nullopt);
  ASSERT_TRUE(drift.has_value()) << drift.error().ToString();
  EXPECT_EQ(drift->rooms_listed, 2);
  EXPECT_EQ(drift->rooms_refreshed, 1);
  EXPECT_EQ(drift->rooms_gone, 1);
  EXPECT_EQ(drift->repaired, 2) << "b's Storage and the deleted room c";
  MirrorAll();
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents WHERE room_id = 'b'"),
            R"({"room":"b","changed":true})");
  EXPECT_EQ(One("SELECT metadata FROM liveblocks_rooms WHERE room_id = 'a'"), R"({"v":2})");
  EXPECT_NE(One("SELECT deleted_at FROM liveblocks_rooms WHERE room_id = 'c'"), "NULL");
  auto settled = reconciler.Compare(std::nullopt);
  ASSERT_TRUE(settled.has_value());
  EXPECT_EQ(settled->repaired, 0);
  EXPECT_EQ(settled->targets_marked, 0);
}

TEST_F(ReconcilerTest, ARoomRenamedEndsMirroredUnderItsNewIdWithItsThreadsAndTheOldOneDeleted) {
  options_.kinds = {TargetKind::kRoom, TargetKind::kStorage, TargetKind::kThread};
  const std::string thread =
      R"({"type":"thread","id":"th_1","roomId":"%s","createdAt":"2026-01-01T00:00:00.000Z",)"
      R"("updatedAt":"2026-01-01T00:00:00.000Z","metadata":{},"resolved":false,)"
      R"("visibility":"public","comments":[]})";
  auto thread_of = [&](const std::string& room) {
    std::string out = thread;
    out.replace(out.find("%s"), 2, room);
    return out;
  };
  client_.Set("/v2/rooms?limit=2", 200, R"({"nextCursor":null,"data":[)" + Room("old") + "]}");
  client_.Set("/v2/rooms/old", 200, Room("old"));
  client_.Set("/v2/rooms/old/storage?format=json", 200, R"({"v":1})");
  client_.Set("/v2/rooms/old/threads", 200, "{\"data\":[" + thread_of("old") + "]}");
  client_.Set("/v2/rooms/old/threads/th_1", 200, thread_of("old"));
  Reconciler reconciler(*store_, *store_, client_, options_);
  ASSERT_TRUE(reconciler.MarkAll("", false).has_value());
  MirrorAll();
  ASSERT_EQ(One("SELECT room_id FROM liveblocks_threads WHERE thread_id = 'th_1'"), "old");

  // Renamed: no webhook; the listing has the new id, the old one answers 404.
  client_.Set("/v2/rooms?limit=2", 200, R"({"nextCursor":null,"data":[)" + Room("new") + "]}");
  client_.Set("/v2/rooms/new", 200, Room("new"));
  client_.Set("/v2/rooms/new/storage?format=json", 200, R"({"v":1})");
  client_.Set("/v2/rooms/new/threads", 200, "{\"data\":[" + thread_of("new") + "]}");
  client_.Set("/v2/rooms/new/threads/th_1", 200, thread_of("new"));
  client_.Set("/v2/rooms/old", 404, R"({"error":"ROOM_NOT_FOUND"})");
  auto renamed = reconciler.Compare(std::nullopt);
  ASSERT_TRUE(renamed.has_value()) << renamed.error().ToString();
  EXPECT_EQ(renamed->rooms_gone, 1);
  MirrorAll();
  EXPECT_EQ(One("SELECT deleted_at FROM liveblocks_rooms WHERE room_id = 'new'"), "NULL");
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents WHERE room_id = 'new'"), R"({"v":1})");
  EXPECT_NE(One("SELECT deleted_at FROM liveblocks_rooms WHERE room_id = 'old'"), "NULL");
  EXPECT_NE(One("SELECT deleted_at FROM liveblocks_documents WHERE room_id = 'old'"), "NULL");
  EXPECT_EQ(One("SELECT room_id || ' ' || COALESCE(deleted_at, 'live') FROM liveblocks_threads"
                " WHERE thread_id = 'th_1'"),
            "new live")
      << "the thread, read under the new id";
}

TEST_F(ReconcilerTest, ContentIsComparedOnlyForRoomsConnectedToSinceThen) {
  ListThreeRooms();
  Reconciler reconciler(*store_, *store_, client_, options_);
  ASSERT_TRUE(reconciler.MarkAll("", false).has_value());
  MirrorAll();
  // Rooms that report lastConnectionAt before `since` are not read again.
  std::string old_a = Room("a");
  old_a.insert(old_a.size() - 1, R"(,"lastConnectionAt":"2026-01-01T00:00:00.000Z")");
  client_.Set("/v2/rooms?limit=2", 200, R"({"nextCursor":"","data":[)" + old_a + "]}");
  client_.Set("/v2/rooms/a", 200, old_a);
  int storage_reads = client_.Calls("/v2/rooms/a/storage?format=json");
  auto counts = reconciler.Compare(ParseIsoTimestampMs("2026-06-01T00:00:00.000Z"));
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  EXPECT_EQ(counts->rooms_checked, 0);
  EXPECT_EQ(client_.Calls("/v2/rooms/a/storage?format=json"), storage_reads);
  EXPECT_EQ(counts->rooms_refreshed, 1) << "its last connection time is new to the mirror";

  // A room that reports no connection time is compared in poll mode only.
  client_.Set("/v2/rooms?limit=2", 200, R"({"nextCursor":"","data":[)" + Room("b") + "]}");
  int b_reads = client_.Calls("/v2/rooms/b/storage?format=json");
  auto webhooks = reconciler.Compare(ParseIsoTimestampMs("2026-06-01T00:00:00.000Z"), false);
  ASSERT_TRUE(webhooks.has_value());
  EXPECT_EQ(webhooks->rooms_checked, 0);
  EXPECT_EQ(client_.Calls("/v2/rooms/b/storage?format=json"), b_reads);
  auto poll = reconciler.Compare(ParseIsoTimestampMs("2026-06-01T00:00:00.000Z"), true);
  ASSERT_TRUE(poll.has_value());
  EXPECT_EQ(poll->rooms_checked, 1);
  EXPECT_EQ(client_.Calls("/v2/rooms/b/storage?format=json"), b_reads + 1);
}

TEST_F(ReconcilerTest, AWrongKeyIsAClearError) {
  client_.Set("/v2/rooms?limit=2", 403, R"({"error":"Forbidden","message":"Invalid secret key"})");
  Reconciler reconciler(*store_, *store_, client_, options_);
  auto counts = reconciler.MarkAll("", false);
  ASSERT_FALSE(counts.has_value());
  EXPECT_EQ(counts.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(counts.error().message().find("LIVEBLOCKS_SECRET_KEY"), std::string::npos);
}

}  // namespace
}  // namespace lbmirror::sync
