// Subcommands. Each returns the process exit code: 0 success, 1 runtime failure, 2 bad
// configuration. They may throw only during startup; main turns that into exit code 2.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace lbmirror::cli {

int RunServe(const CommonOptions& common, const ApiOptions& api, const ServeOptions& serve);
// Lists every room and mirrors all of it (resumable); exit 130 when interrupted.
int RunBackfill(const CommonOptions& common, const ApiOptions& api, const BackfillOptions& options);
// Prints the work queue (pending, failed with their errors, lag) and the last webhook per type.
int RunStatus(const CommonOptions& common);
// Prints what the mirror holds of `room_id` (its row, rows per table, pending targets), or
// with `mirror_again` marks every target of the room due now. Exit 2 for an empty room id.
int RunRoom(const CommonOptions& common, const std::string& room_id, bool mirror_again);
// Deletes stored webhooks older than a duration such as "30d".
int RunPrune(const CommonOptions& common, const std::string& older_than);
// Marks dirty again the targets of stored webhooks in a time range (sync::Replay).
int RunReplay(const CommonOptions& common, const ReplayArgs& args);
// Makes `target` (or, with `failed`, every failed target) due now; the running mirror
// reads it within its idle poll. Exit 2 for a target that does not parse, or neither/both.
int RunRetry(const CommonOptions& common, const std::string& target, bool failed);
int RunMigrate(const CommonOptions& common, bool print_only);
// Writes the binary Yjs state mirrored for `room_id` to standard output (exit 1 if none).
int RunYdocExport(const CommonOptions& common, const std::string& room_id);
// Decodes binary Yjs updates (files) and prints one JSON line per file:
// {"file":…,"json":…,"text":…} or {"file":…,"error":…}. Exit 1 if any failed.
int RunYdocDecode(const std::vector<std::string>& files);
// Prints matching comments and documents, one per line: kind, room, thread/comment, snippet.
int RunSearch(const CommonOptions& common, const std::string& query, int limit);
// The change feed after position `args.after`, filtered, one JSON object a line; with
// `args.follow`, forever. Exit 2 for a bad filter or a position retention pruned past.
int RunChanges(const CommonOptions& common, const ChangesArgs& args);
// GETs `path` of the serve listening at `listen` (0.0.0.0 and :: reached on loopback): 0 when it
// answers 200, 1 otherwise (the reason on standard error), 2 for a bad address or path.
int RunHealthcheck(const std::string& listen, const std::string& path, int timeout_ms);

// Parses argv and runs the chosen subcommand.
int Main(int argc, char** argv);

}  // namespace lbmirror::cli
