// A room's deletion against the reads of its content in flight, through the fault paths the
// deletion fence (FenceRoomReads) cannot see by itself: a claim that was given back, a
// completion run again after its COMMIT's reply was lost, and a room created again with the
// same id while an older deletion is still being written. Each ends with the mirror equal to
// what the REST API answers last. On SQLite, MySQL/MariaDB and Postgres (sql_store_fixture.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/text.h"
#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

// The resurrection of issue 14: a room's deletion must win over a read of its content that
// started before it, whatever order the two transactions commit in.
TEST_P(SqlStoreTest, ARoomsDeletionFencesOutReadsOfItsContentInFlight) {
  const TargetKey ydoc{TargetKind::kYdoc, "room-1", ""};
  const TargetKey thread{TargetKind::kThread, "room-1", "th_1"};
  const TargetKind content_kinds[] = {TargetKind::kStorage, TargetKind::kYdoc, TargetKind::kThread};
  const TargetKind room_kind[] = {TargetKind::kRoom};
  RowWrite live = DocumentRow{"room-1", R"({"v":1})"};
  ASSERT_TRUE(Recorded(Event("msg_0", {kStorage})));
  auto first = store_->ClaimDue("w0", content_kinds, 10, 60'000);
  ASSERT_TRUE(first.has_value() && first->size() == 1u);
  ASSERT_TRUE(*store_->Complete((*first)[0], std::span(&live, 1), {}));

  // Reads of the Storage, the Yjs document and a thread start; then the room is deleted.
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage, ydoc, thread})));
  auto reads = store_->ClaimDue("reader", content_kinds, 10, 60'000);
  ASSERT_TRUE(reads.has_value());
  ASSERT_EQ(reads->size(), 3u);
  ASSERT_TRUE(Recorded(Event("msg_2", {kRoom})));
  auto deletion = store_->ClaimDue("deleter", room_kind, 10, 60'000);
  ASSERT_TRUE(deletion.has_value() && deletion->size() == 1u);
  RowWrite gone = RoomGone{"room-1"};
  ASSERT_TRUE(*store_->Complete((*deletion)[0], std::span(&gone, 1), {}));

  // The older reads complete last and write nothing.
  for (const Claim& claim : *reads) {
    std::vector<RowWrite> writes;
    if (claim.key.kind == TargetKind::kStorage)
      writes.push_back(DocumentRow{"room-1", R"({"v":2})"});
    if (claim.key.kind == TargetKind::kYdoc)
      writes.push_back(YdocRow{"room-1", "{}", "text", "state"});
    if (claim.key.kind == TargetKind::kThread) {
      writes.push_back(ThreadSnapshot{{"th_1", "room-1", "{}", false, "public", {}, {}}, {}, {}});
    }
    auto done = store_->Complete(claim, writes, {});
    ASSERT_TRUE(done.has_value()) << done.error().ToString();
    EXPECT_FALSE(*done) << claim.key.ToString() << " is fenced out";
  }
  EXPECT_NE(One("SELECT deleted_at FROM {p}documents WHERE room_id = 'room-1'"), "NULL");
  ExpectJson("SELECT data FROM {p}documents WHERE room_id = 'room-1'", R"({"v":1})");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}ydocs"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}threads"), "0");
  // And each is read again at once (it will find 404), by any worker.
  auto again = store_->ClaimDue("w2", content_kinds, 10, 60'000);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->size(), 3u);
}

TEST_P(SqlStoreTest, ARoomsDeletionLeavesItsIdleTargetsAlone) {
  RowWrite live = DocumentRow{"room-1", "{}"};
  ASSERT_TRUE(Recorded(Event("msg_0", {kStorage})));
  auto first = ClaimAll();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(*store_->Complete(first[0], std::span(&live, 1), {}));
  RowWrite gone = RoomGone{"room-1"};
  COMPLETE_WITH(store_, gone);
  EXPECT_TRUE(ClaimAll().empty()) << "a deletion marks only reads in flight";
}

class RoomDeletionTest : public SqlStoreTest {
 protected:
  // Records the room's deletion and writes it (its room:R read 404) as another worker.
  void DeleteRoomAsAnotherWorker(const std::string& room_id, const std::string& webhook_id) {
    const TargetKind room_kind[] = {TargetKind::kRoom};
    ASSERT_TRUE(Recorded(Event(webhook_id, {{TargetKind::kRoom, room_id, ""}})));
    auto deletion = store_->ClaimDue("deleter", room_kind, 10, 60'000);
    ASSERT_TRUE(deletion.has_value()) << deletion.error().ToString();
    ASSERT_EQ(deletion->size(), 1u);
    RowWrite gone = RoomGone{room_id};
    auto done = store_->Complete((*deletion)[0], std::span(&gone, 1), {});
    ASSERT_TRUE(done.has_value()) << done.error().ToString();
    ASSERT_TRUE(*done);
  }

  std::string LiveDocuments(const std::string& room_id) {
    return One("SELECT COUNT(*) FROM {p}documents WHERE room_id = '" + room_id +
               "' AND deleted_at IS NULL");
  }
};

// A claim of four in groups: other workers take two of the first group's candidates, then one
// of the second group's, and reading which of the second group this call won fails.
class SecondLookupFails {
 public:
  SecondLookupFails(std::function<void(std::string)> exec, std::string prefix)
      : exec_(std::move(exec)), prefix_(std::move(prefix)) {}

  std::optional<Error> operator()(std::string_view sql, std::span<const SqlValue> params) {
    if (sql.starts_with("UPDATE " + prefix_ + "targets SET fence = fence + 1, lease_owner")) {
      // Parameters: owner, lease end, now, then kind, room, object, fence per candidate.
      size_t take = ++claims_ == 1 ? 2 : 1;
      for (size_t i = 0; i < take && 3 + 4 * i + 1 < params.size(); ++i) {
        std::string room(std::get<std::string_view>(params[3 + 4 * i + 1]));
        taken_.push_back(room);
        exec_(
            "UPDATE {p}targets SET fence = fence + 1, lease_owner = 'other',"
            " lease_until = 9000000000000 WHERE kind = 'storage' AND scope_id = '" +
            room + "'");
      }
    }
    if (sql.starts_with("SELECT kind, scope_id, object_id FROM " + prefix_ +
                        "targets WHERE lease_owner") &&
        ++lookups_ == 2) {
      return Error(ErrorCode::kUnavailable, "connection lost (injected)", true);
    }
    return std::nullopt;
  }
  int claims() const { return claims_; }
  int lookups() const { return lookups_; }

 private:
  std::function<void(std::string)> exec_;
  std::string prefix_;
  int claims_ = 0, lookups_ = 0;
  std::vector<std::string> taken_;
};

TEST_P(RoomDeletionTest, AClaimWhoseLaterGroupFailsReturnsNothingItGaveBack) {
  if (GetParam() == Dialect::kPostgres) GTEST_SKIP() << "Postgres claims in one statement";
  auto hook = std::make_shared<SecondLookupFails>([this](std::string sql) { Exec(std::move(sql)); },
                                                  prefix_);
  auto claims =
      RecordEightAndClaimFour([hook](std::string_view sql, std::span<const SqlValue> params) {
        return (*hook)(sql, params);
      });
  ASSERT_TRUE(claims.has_value()) << claims.error().ToString();
  ASSERT_EQ(hook->claims(), 2) << "the claim went on to a second group";
  ASSERT_EQ(hook->lookups(), 2);
  // The first group's two are still leased and returned; the second group's are given back.
  ASSERT_EQ(claims->size(), 2u);
  for (const Claim& claim : *claims) {
    EXPECT_EQ(One("SELECT lease_owner FROM {p}targets WHERE kind = 'storage' AND scope_id = '" +
                  claim.key.scope_id + "'"),
              "w1")
        << claim.key.ToString() << " is returned, so it must still be leased";
  }
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE lease_owner = 'w1'"), "2");

  // While the first is read (its Storage answers v1), its room is deleted.
  const Claim& read = (*claims)[0];
  const std::string room = read.key.scope_id;
  DeleteRoomAsAnotherWorker(room, "msg_deleted");
  RowWrite stale = DocumentRow{room, R"({"v":1})"};
  auto done = store_->Complete(read, std::span(&stale, 1), {});
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_FALSE(*done) << "the deletion fenced the read out";
  EXPECT_EQ(LiveDocuments(room), "0") << "a room that answers 404 has no live document";
  // Read again at once: it will find 404.
  const TargetKind storage_kind[] = {TargetKind::kStorage};
  auto again = store_->ClaimDue("w2", storage_kind, 10, 60'000);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(std::any_of(again->begin(), again->end(),
                          [&](const Claim& claim) { return claim.key.scope_id == room; }));
}

// Also on MySQL with CLIENT_FOUND_ROWS: the retried completion's fencing UPDATE then matches
// its row without changing it, and a count of changed rows could not save it.
TEST_P(RoomDeletionTest, ACompletionRunAgainAfterItsCommitsReplyWasLostKeepsTheRoomDeleted) {
  ASSERT_TRUE(Recorded(Event("msg_0", {kStorage})));
  const TargetKind storage_kind[] = {TargetKind::kStorage};
  auto claims = store_->ClaimDue("w1", storage_kind, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  int commits = 0;
  auto writer = MakeStoreLosingCommitReplies(
      [](std::string_view, std::span<const SqlValue>) { return std::optional<Error>(); },
      [&] {
        if (++commits != 1) return false;
        // The completion committed (v1 live, the target clean); before its reply arrives and
        // while the transactor backs off to run it again, the room is deleted and that is
        // written.
        DeleteRoomAsAnotherWorker("room-1", "msg_deleted");
        return true;
      },
      found_rows_factory_);
  RowWrite v1 = DocumentRow{"room-1", R"({"v":1})"};
  auto done = writer->Complete((*claims)[0], std::span(&v1, 1), {});
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_TRUE(*done) << "the completion was written, by its first attempt";
  EXPECT_EQ(commits, 2) << "the transaction ran twice";
  EXPECT_EQ(LiveDocuments("room-1"), "0") << "the retry must not write the document again";
  EXPECT_NE(One("SELECT deleted_at FROM {p}documents WHERE room_id = 'room-1'"), "NULL");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE dirty_seq > done_seq"), "0");
}

// The room is deleted (the deletion's 404 is read), then created again with the same id and
// edited, and its new Storage is mirrored before the older deletion is written: the room's
// next read (200) makes its content be read again.
TEST_P(RoomDeletionTest, ARoomCreatedAgainWhileAnOlderDeletionIsInFlightEndsMirrored) {
  for (bool hard_deletes : {false, true}) {
    SCOPED_TRACE(hard_deletes ? "hard deletes" : "soft deletes");
    SqlStoreOptions options;
    options.table_prefix = prefix_;
    options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
    options.hard_deletes = hard_deletes;
    auto store = std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
    const std::string room = hard_deletes ? "room-hard" : "room-soft";
    const TargetKey room_key{TargetKind::kRoom, room, ""};
    const TargetKey storage_key{TargetKind::kStorage, room, ""};
    const TargetKind room_kind[] = {TargetKind::kRoom};
    const TargetKind storage_kind[] = {TargetKind::kStorage};
    const RowWrite room_row = RoomRow{room, "", "{}", "[]", "{}", "{}", std::nullopt, std::nullopt};
    // Everything due is read, as a worker would, with what the API answers now.
    auto read_all_due = [&](const std::vector<RowWrite>& room_answer,
                            const std::string& storage_answer) {
      for (int round = 0; round < 5; ++round) {
        auto claims = store->ClaimDue("w", kAllKinds, 10, 60'000);
        ASSERT_TRUE(claims.has_value()) << claims.error().ToString();
        if (claims->empty()) return;
        std::vector<Completion> completions;
        for (const Claim& claim : *claims) {
          std::vector<RowWrite> writes = room_answer;
          if (claim.key.kind == TargetKind::kStorage) writes = {DocumentRow{room, storage_answer}};
          completions.push_back({claim, writes, {}});
        }
        auto done = store->CompleteAll(completions);
        ASSERT_TRUE(done.has_value()) << done.error().ToString();
      }
      FAIL() << "still due after 5 rounds";
    };
    ASSERT_TRUE(*store->Record(Event(room + "_0", {room_key, storage_key})));
    read_all_due({room_row}, R"({"v":1})");
    ASSERT_EQ(LiveDocuments(room), "1");

    // Deleted: the deletion is read (404), its write still to come.
    ASSERT_TRUE(*store->Record(Event(room + "_deleted", {room_key})));
    auto deletion = store->ClaimDue("deleter", room_kind, 10, 60'000);
    ASSERT_TRUE(deletion.has_value() && deletion->size() == 1u);
    // Created again and edited; its new Storage is mirrored.
    ASSERT_TRUE(*store->Record(Event(room + "_created", {room_key})));
    ASSERT_TRUE(*store->Record(Event(room + "_edited", {storage_key})));
    auto edit = store->ClaimDue("w1", storage_kind, 10, 60'000);
    ASSERT_TRUE(edit.has_value() && edit->size() == 1u);
    RowWrite v2 = DocumentRow{room, R"({"v":2})"};
    ASSERT_TRUE(*store->Complete((*edit)[0], std::span(&v2, 1), {}));
    // The older deletion is written last.
    RowWrite gone = RoomGone{room};
    ASSERT_TRUE(*store->Complete((*deletion)[0], std::span(&gone, 1), {}));

    // The room answers 200 now, and its Storage v2.
    read_all_due({room_row}, R"({"v":2})");
    EXPECT_EQ(LiveDocuments(room), "1") << "the new room's document is mirrored";
    ExpectJson("SELECT data FROM {p}documents WHERE room_id = '" + room + "'", R"({"v":2})");
    EXPECT_EQ(
        One("SELECT COUNT(*) FROM {p}rooms WHERE room_id = '" + room + "' AND deleted_at IS NULL"),
        "1");
  }
}

// A room read live again and again marks nothing more: only its coming back from deleted
// does.
TEST_P(RoomDeletionTest, ALiveRoomsReadsLeaveItsContentTargetsAlone) {
  const RowWrite room_row =
      RoomRow{"room-1", "", "{}", "[]", "{}", "{}", std::nullopt, std::nullopt};
  ASSERT_TRUE(Recorded(Event("msg_0", {kRoom, kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 2u);
  for (const Claim& claim : claims) {
    RowWrite write = claim.key.kind == TargetKind::kRoom ? room_row : DocumentRow{"room-1", "{}"};
    ASSERT_TRUE(*store_->Complete(claim, std::span(&write, 1), {}));
  }
  ASSERT_TRUE(Recorded(Event("msg_1", {kRoom})));
  claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(*store_->Complete(claims[0], std::span(&room_row, 1), {}));
  EXPECT_TRUE(ClaimAll().empty()) << "a room read live does not make its Storage read again";
}

INSTANTIATE_TEST_SUITE_P(Backends, RoomDeletionTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

}  // namespace
}  // namespace lbmirror::store::sql
