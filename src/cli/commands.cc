// The one-shot commands: migrate, search, status, prune, ydoc export and ydoc decode.
#include "cli/commands.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "admin/actions.h"
#include "cli/common.h"
#include "cli/store_factory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "store/sql/schema.h"
#include "sync/passes.h"
#include "sync/replay.h"
#include "yjs/document.h"

namespace lbmirror::cli {

namespace {
// Commands that read the mirror need its tables: say so instead of failing on a missing table.
int RequireSchema(store::SchemaAdmin& store) {
  auto version = store.SchemaVersion();
  if (!version) {
    log::Error(Cat("cannot read the database: ", version.error().ToString()));
    return 1;
  }
  if (*version < store::sql::LatestSchemaVersion()) {
    return ConfigError(Cat("this database holds no current lbmirror tables (schema version ",
                           *version, ", need ", store::sql::LatestSchemaVersion(),
                           "): check DATABASE_URL and --table-prefix, or run `lbmirror migrate`"));
  }
  return 0;
}

// Opens the store for a command that reads or changes the mirror; nullptr, with the exit code
// in `code`, when the database cannot be used or holds no current lbmirror tables.
std::unique_ptr<store::Store> OpenMirror(const CommonOptions& common, const Clock& clock,
                                         int& code) {
  auto store = OpenStore(common.database_url, common.table_prefix, 1, clock);
  if (!store) {
    code = ConfigError(store.error().ToString());
    return nullptr;
  }
  code = RequireSchema(**store);
  if (code != 0) return nullptr;
  return std::move(*store);
}
}  // namespace

int RunYdocExport(const CommonOptions& common, const std::string& room_id) {
  int code = 0;
  auto store = OpenMirror(common, SystemClock::Instance(), code);
  if (!store) return code;
  auto state = store->YdocState(room_id);
  if (!state) {
    log::Error(state.error().ToString());
    return 1;
  }
  if (!*state) {
    log::Error(Cat("no Yjs document is mirrored for room \"", room_id, "\""));
    return 1;
  }
  std::cout.write((*state)->data(), static_cast<std::streamsize>((*state)->size()));
  std::cout.flush();
  return std::cout ? 0 : 1;
}

int RunYdocDecode(const std::vector<std::string>& files) {
  int failures = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::json::object line{{"file", file}};
    auto document = in || in.eof() ? yjs::Document::Decode(bytes)
                                   : Result<yjs::Document>(InvalidArgument("cannot read the file"));
    auto view = document ? document->ToJson() : Result<boost::json::value>(document.error());
    auto text = view ? document->Text() : Result<std::string>(view.error());
    if (text) {
      line["json"] = std::move(*view);
      line["text"] = *text;  // copied: json::value takes a string_view
    } else {
      line["error"] = text.error().message();
      ++failures;
    }
    std::cout << boost::json::serialize(line) << "\n";
  }
  return failures == 0 ? 0 : 1;
}

int RunSearch(const CommonOptions& common, const std::string& query, int limit) {
  int code = 0;
  auto store = OpenMirror(common, SystemClock::Instance(), code);
  if (!store) return code;
  auto hits = store->Search(query, limit);
  if (!hits) {
    log::Error(hits.error().ToString());
    return hits.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  for (const store::SearchHit& hit : *hits) {
    if (hit.kind == "comment") {
      std::cout << "comment  room " << hit.room_id << "  thread " << hit.thread_id << "  comment "
                << hit.object_id << "\n    " << hit.snippet << "\n";
    } else {
      std::cout << "document room " << hit.room_id << "\n    " << hit.snippet << "\n";
    }
  }
  if (hits->empty()) std::cout << "no matches for \"" << query << "\"\n";
  return 0;
}

int RunChanges(const CommonOptions& common, const ChangesArgs& args) {
  auto filter = admin::CheckChangeFilter(args.kinds, args.room_prefix, "--");
  if (!filter) return ConfigError(filter.error().message());
  int code = 0;
  auto store = OpenMirror(common, SystemClock::Instance(), code);
  if (!store) return code;
  int64_t after = args.after;
  for (;;) {
    // Any process may give committed changes their positions: so the feed moves on even when
    // no serve does it.
    if (auto placed = store->SequenceChanges(1000); !placed) {
      log::Error(placed.error().ToString());
      return 1;
    }
    auto changes = store->ReadChanges(after, 1000, *filter);
    if (!changes) {
      log::Error(changes.error().ToString());
      return changes.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
    }
    for (const store::Change& change : *changes) {
      std::cout << admin::ChangeJson(change) << "\n";
      after = change.position.value_or(after);
    }
    std::cout.flush();
    if (!changes->empty()) continue;
    if (!args.follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int RunMigrate(const CommonOptions& common, bool print_only) {
  auto store = OpenStore(common.database_url, common.table_prefix, 1, SystemClock::Instance());
  if (!store) return ConfigError(store.error().ToString());
  if (print_only) {
    (*store)->PrintMigrations(std::cout);
    return 0;
  }
  if (int code = PrepareSchema(**store, /*no_migrate=*/false); code != 0) return code;
  auto version = (*store)->SchemaVersion();
  log::Info(Cat("schema is at version ", version ? *version : -1));
  return 0;
}

int RunRetry(const CommonOptions& common, const std::string& target, bool failed) {
  auto checked = admin::CheckRetry(target, failed, "--");
  if (!checked) return ConfigError(checked.error().message());
  const std::optional<store::TargetKey>& key = *checked;
  int code = 0;
  auto store = OpenMirror(common, SystemClock::Instance(), code);
  if (!store) return code;
  auto changed = store->RetryNow(key);
  if (!changed) {
    log::Error(changed.error().ToString());
    return 1;
  }
  std::cout << (key ? Cat(key->ToString(), " is due now")
                    : Cat(*changed, " failed targets are due now"))
            << "\n";
  return 0;
}

namespace {

void PrintPasses(const std::vector<admin::PassReport>& passes) {
  std::cout << "passes (for data no webhook announces):\n";
  for (const admin::PassReport& pass : passes) {
    const sync::PassProgress& p = pass.progress;
    std::cout << "  " << p.name << ": ";
    if (p.unsupported) {
      std::cout << "Liveblocks answers 501: this server does not offer it\n";
      continue;
    }
    if (!p.started_ms) {
      std::cout << "never run\n";
      continue;
    }
    std::cout << "started " << FormatSqlTimestamp(*p.started_ms) << " UTC, "
              << (p.finished_ms ? Cat("finished ", FormatSqlTimestamp(*p.finished_ms), " UTC")
                                : std::string("marking"))
              << ", " << p.marked << " targets marked; " << pass.targets.pending << " pending, "
              << pass.targets.failed << " failed\n";
  }
}

void PrintForwarding(const std::vector<admin::StatusReport::Endpoint>& endpoints) {
  if (endpoints.empty()) return;
  std::cout << "forwarding the change feed (position, lag, delivered):\n";
  for (const admin::StatusReport::Endpoint& e : endpoints) {
    std::cout << "  " << e.cursor.endpoint << ": position " << e.cursor.position << ", " << e.lag
              << " behind, " << e.cursor.delivered << " delivered";
    if (e.cursor.failures > 0) {
      std::cout << "; " << e.cursor.failures << " failure(s) in a row, next attempt in "
                << e.next_attempt_in_ms / 1000 << " s";
    }
    if (e.cursor.last_error) std::cout << "; last error: " << *e.cursor.last_error;
    std::cout << "\n";
  }
}

}  // namespace

int RunStatus(const CommonOptions& common) {
  const Clock& clock = SystemClock::Instance();
  int code = 0;
  auto store = OpenMirror(common, clock, code);
  if (!store) return code;
  auto report =
      admin::ReadStatus({*store, *store, *store, *store}, sync::PassSpecs({}), clock.NowMs(), 20);
  if (!report) {
    log::Error(report.error().ToString());
    return 1;
  }
  std::cout << "targets pending: " << report->queue.pending;
  if (report->oldest_pending_age_ms) {
    std::cout << " (the oldest waiting " << *report->oldest_pending_age_ms / 1000 << " s)";
  }
  std::cout << "\ntargets failed: " << report->queue.failed << "\n";
  for (size_t i = 0; i < report->queue.failures.size(); ++i) {
    const store::FailedTarget& failure = report->queue.failures[i];
    std::cout << "  " << failure.key.ToString() << ": " << failure.attempts
              << " attempt(s), next in " << report->next_attempt_in_ms[i] / 1000
              << " s: " << failure.last_error << "\n";
  }
  PrintPasses(report->passes);
  std::cout << "webhooks stored, by type (count, last received UTC):\n";
  if (report->events.empty()) std::cout << "  none yet\n";
  for (const store::LastEvent& event : report->events) {
    std::cout << "  " << event.type << " " << event.count << " " << event.last_received_at << "\n";
  }
  PrintForwarding(report->forwarding);
  std::cout.flush();
  return std::cout ? 0 : 1;
}

namespace {

void PrintRoomSummary(std::string_view room_id, const store::RoomSummary& summary) {
  std::cout << "room " << room_id << ": "
            << (!summary.known       ? "not in the mirror"
                : summary.deleted_at ? Cat("deleted at ", *summary.deleted_at, " UTC")
                                     : std::string("live"))
            << "\n";
  std::cout << "rows by table (rows, live, last synced UTC):\n";
  for (const store::RoomTableSummary& table : summary.tables) {
    std::cout << "  " << table.table << " " << table.rows << " " << table.live << " "
              << table.last_synced_at.value_or("-") << "\n";
  }
  std::cout << "live threads: " << summary.live_threads.size() << "\n";
  std::cout << "targets waiting to be read: " << summary.pending.size() << "\n";
  for (const store::RoomSummary::Pending& target : summary.pending) {
    std::cout << "  " << target.key.ToString() << ": " << target.attempts << " attempt(s)"
              << (target.last_error.empty() ? "" : Cat(": ", target.last_error)) << "\n";
  }
}

}  // namespace

int RunRoom(const CommonOptions& common, const std::string& room_id, bool mirror_again) {
  if (room_id.empty()) return ConfigError("give the room's id");
  int code = 0;
  auto store = OpenMirror(common, SystemClock::Instance(), code);
  if (!store) return code;
  if (mirror_again) {
    auto marked = admin::MirrorAgain(*store, *store, room_id);
    if (!marked) {
      log::Error(marked.error().ToString());
      return 1;
    }
    std::cout << *marked << " targets of " << room_id
              << " are due now; the running mirror reads them within its idle poll\n";
    return 0;
  }
  auto summary = admin::RoomReport(*store, room_id);
  if (!summary) {
    log::Error(summary.error().ToString());
    return 1;
  }
  PrintRoomSummary(room_id, *summary);
  std::cout.flush();
  return std::cout ? 0 : 1;
}

int RunPrune(const CommonOptions& common, const std::string& older_than) {
  auto age = ParseDurationMs(older_than);
  if (!age || *age < 60'000) {
    return ConfigError("--events-older-than must be a duration of at least 1m, such as 30d or 12h");
  }
  const Clock& clock = SystemClock::Instance();
  int code = 0;
  auto store = OpenMirror(common, clock, code);
  if (!store) return code;
  int64_t before = clock.NowMs() - *age;
  auto deleted = store->PruneEvents(before);
  if (!deleted) {
    log::Error(Cat("pruning failed: ", deleted.error().ToString()));
    return 1;
  }
  std::cout << "deleted " << *deleted << " stored webhooks received before "
            << FormatSqlTimestamp(before) << " UTC\n";
  return 0;
}

int RunReplay(const CommonOptions& common, const ReplayArgs& args) {
  const Clock& clock = SystemClock::Instance();
  const int64_t now = clock.NowMs();
  auto checked = admin::CheckReplay({args.since, args.until, args.type, args.room}, now, "--");
  if (!checked) return ConfigError(checked.error().message());
  const sync::ReplayOptions& options = *checked;
  int code = 0;
  auto store = OpenMirror(common, clock, code);
  if (!store) return code;
  auto counts = sync::Replay(*store, *store, options);
  if (!counts) {
    log::Error(Cat("replay failed: ", counts.error().ToString()));
    return 1;
  }
  std::cout << "replayed " << counts->webhooks << " stored webhooks received from "
            << FormatSqlTimestamp(options.since_ms) << " to "
            << FormatSqlTimestamp(options.until_ms.value_or(now)) << " UTC: " << counts->targets
            << " targets marked dirty";
  if (counts->without_targets > 0) std::cout << ", " << counts->without_targets << " without any";
  if (counts->unreadable > 0) std::cout << ", " << counts->unreadable << " unreadable";
  std::cout << "\n";
  return 0;
}

}  // namespace lbmirror::cli
