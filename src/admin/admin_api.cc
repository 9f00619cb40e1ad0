#include "admin/admin_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <random>

#include "admin/actions.h"
#include "admin/console_page.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"
#include "store/target.h"
#include "sync/replay.h"
#include "webhook/event.h"

namespace lbmirror::admin {

namespace {
namespace json = boost::json;

http::Response Json(int status, const json::value& value) {
  return http::Response::Json(status, json::serialize(value));
}

http::Response Problem(int status, std::string_view message) {
  return Json(status, json::object{{"error", message}});
}

// The value of `name` in a query string (percent-decoded, '+' as a space), or "".
std::string QueryParam(std::string_view query, std::string_view name) {
  for (const std::string& pair : SplitAny(query, "&")) {
    size_t eq = pair.find('=');
    if (std::string_view(pair).substr(0, eq) != name) continue;
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    return PercentDecode(value).value_or("");
  }
  return {};
}

// A whole decimal number, all of `text`.
template <typename T>
bool ParseInt(std::string_view text, T* value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// The request's JSON object body, or nullopt (answered with `problem`).
std::optional<json::object> BodyObject(const http::Request& request, http::Response& problem) {
  boost::system::error_code ec;
  json::value body = json::parse(request.body.empty() ? "{}" : request.body, ec);
  if (ec || !body.is_object()) {
    problem = Problem(400, "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(body.as_object());
}

std::string StringMember(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

json::array ForwardingJson(const StatusReport& report) {
  json::array endpoints;
  for (const StatusReport::Endpoint& e : report.forwarding) {
    endpoints.push_back(json::object{
        {"endpoint", e.cursor.endpoint},
        {"position", e.cursor.position},
        {"lag", e.lag},
        {"delivered", e.cursor.delivered},
        {"failures", e.cursor.failures},
        {"next_attempt_in_s", e.next_attempt_in_ms / 1000.0},
        {"last_error", e.cursor.last_error ? json::value(*e.cursor.last_error) : nullptr},
        {"leased_by", e.cursor.lease_owner}});
  }
  return endpoints;
}

json::array PassesJson(const StatusReport& report) {
  json::array passes;
  for (const PassReport& pass : report.passes) {
    const sync::PassProgress& p = pass.progress;
    auto at = [](const std::optional<int64_t>& ms) {
      return ms ? json::value(FormatSqlTimestamp(*ms)) : json::value(nullptr);
    };
    passes.push_back(json::object{{"name", p.name},
                                  {"interval_s", p.interval_ms / 1000.0},
                                  {"started_at", at(p.started_ms)},
                                  {"finished_at", at(p.finished_ms)},
                                  {"marked", p.marked},
                                  {"unsupported", p.unsupported},
                                  {"pending", pass.targets.pending},
                                  {"failed", pass.targets.failed}});
  }
  return passes;
}

http::Response Queue(const AdminContext& context) {
  auto report = ReadStatus({*context.store, *context.store, *context.store, *context.store},
                           context.passes, context.clock->NowMs(), 100);
  if (!report) return Problem(503, report.error().ToString());
  json::array failures;
  for (size_t i = 0; i < report->queue.failures.size(); ++i) {
    const store::FailedTarget& failure = report->queue.failures[i];
    failures.push_back(json::object{{"target", failure.key.ToString()},
                                    {"kind", store::TargetKindName(failure.key.kind)},
                                    {"room_id", failure.key.scope_id},
                                    {"object_id", failure.key.object_id},
                                    {"attempts", failure.attempts},
                                    {"next_attempt_in_s", report->next_attempt_in_ms[i] / 1000.0},
                                    {"last_error", failure.last_error}});
  }
  json::array webhooks;
  for (const store::LastEvent& event : report->events) {
    webhooks.push_back(json::object{{"type", event.type},
                                    {"count", event.count},
                                    {"last_received_at", event.last_received_at}});
  }
  json::object out{{"pending", report->queue.pending}, {"failed", report->queue.failed}};
  out["oldest_pending_age_s"] = report->oldest_pending_age_ms
                                    ? json::value(*report->oldest_pending_age_ms / 1000.0)
                                    : nullptr;
  out["failures"] = std::move(failures);
  out["passes"] = PassesJson(*report);
  out["webhooks"] = std::move(webhooks);
  out["forwarding"] = ForwardingJson(*report);
  return Json(200, out);
}

http::Response Events(const AdminContext& context, const http::Request& request) {
  store::EventFilter filter;
  filter.newest_first = true;
  filter.type = QueryParam(request.query, "type");
  filter.room_id = QueryParam(request.query, "room");
  filter.limit = 50;
  if (std::string limit = QueryParam(request.query, "limit"); !limit.empty()) {
    int value = 0;
    if (!ParseInt(limit, &value) || value < 1 || value > 500) {
      return Problem(400, "limit must be a whole number from 1 to 500");
    }
    filter.limit = value;
  }
  if (std::string since = QueryParam(request.query, "since"); !since.empty()) {
    auto age = ParseDurationMs(since);
    if (!age) return Problem(400, "since must be a duration such as 1h or 30m");
    filter.since_ms = context.clock->NowMs() - *age;
  }
  auto events = context.store->Events(filter);
  if (!events) return Problem(503, events.error().ToString());
  json::array out;
  for (const store::StoredEvent& event : *events) {
    json::array targets;
    if (auto parsed = webhook::ParseEvent(event.payload)) {
      for (const store::TargetKey& key : parsed->targets)
        targets.push_back(json::value(key.ToString()));
    }
    out.push_back(json::object{{"webhook_id", event.webhook_id},
                               {"type", event.type},
                               {"room_id", event.room_id},
                               {"received_at", event.received_at},
                               {"payload", event.payload},
                               {"targets", std::move(targets)}});
  }
  return Json(200, json::object{{"events", std::move(out)}});
}

http::Response Retry(const AdminContext& context, const http::Request& request) {
  http::Response problem;
  auto body = BodyObject(request, problem);
  if (!body) return problem;
  const json::value* failed = body->if_contains("failed");
  auto target = CheckRetry(StringMember(*body, "target"),
                           failed != nullptr && failed->is_bool() && failed->as_bool(), "");
  if (!target) return Problem(400, target.error().message());
  auto made_due = context.store->RetryNow(*target);
  if (!made_due) return Problem(503, made_due.error().ToString());
  if (*made_due > 0 && context.notify_workers) context.notify_workers();
  return Json(200, json::object{{"made_due", *made_due}});
}

http::Response Replay(const AdminContext& context, const http::Request& request) {
  http::Response problem;
  auto body = BodyObject(request, problem);
  if (!body) return problem;
  auto options = CheckReplay({StringMember(*body, "since"), StringMember(*body, "until"),
                              StringMember(*body, "type"), StringMember(*body, "room")},
                             context.clock->NowMs(), "");
  if (!options) return Problem(400, options.error().message());
  auto counts = sync::Replay(*context.store, *context.store, *options);
  if (!counts) return Problem(503, counts.error().ToString());
  if (counts->targets > 0 && context.notify_workers) context.notify_workers();
  return Json(200, json::object{{"webhooks", counts->webhooks},
                                {"targets", counts->targets},
                                {"without_targets", counts->without_targets},
                                {"unreadable", counts->unreadable}});
}

// POST /api/forward/retry {"endpoint":NAME}: the failing endpoint tries again now.
http::Response RetryForwarding(const AdminContext& context, const http::Request& request) {
  http::Response problem;
  auto body = BodyObject(request, problem);
  if (!body) return problem;
  const std::string endpoint = StringMember(*body, "endpoint");
  if (endpoint.empty()) return Problem(400, "give the endpoint: {\"endpoint\":\"NAME\"}");
  auto found = context.store->RetryCursor(endpoint);
  if (!found) return Problem(503, found.error().ToString());
  if (!*found) return Problem(404, Cat("no forwarding endpoint is named ", endpoint));
  return Json(200, json::object{{"endpoint", endpoint}, {"retrying", true}});
}

// How many of a room's latest changes its view lists (the change feed's audit trail).
constexpr int kRoomChanges = 20;

http::Response Room(const AdminContext& context, const http::Request& request) {
  std::string room_id = QueryParam(request.query, "id");
  if (room_id.empty()) return Problem(400, "give the room's id: /api/room?id=ROOM");
  auto summary = RoomReport(*context.store, room_id);
  if (!summary) return Problem(503, summary.error().ToString());
  json::array tables;
  for (const store::RoomTableSummary& table : summary->tables) {
    json::object row{{"table", table.table}, {"rows", table.rows}, {"live", table.live}};
    row["last_synced_at"] =
        table.last_synced_at ? json::value(*table.last_synced_at) : json::value(nullptr);
    tables.push_back(std::move(row));
  }
  json::array pending;
  for (const store::RoomSummary::Pending& target : summary->pending) {
    pending.push_back(json::object{{"target", target.key.ToString()},
                                   {"attempts", target.attempts},
                                   {"last_error", target.last_error}});
  }
  json::array threads;
  for (const std::string& id : summary->live_threads) threads.push_back(json::value(id));
  json::array comments;
  for (const store::RoomSummary::Comment& c : summary->latest_comments) {
    json::object comment{{"thread_id", c.thread_id},
                         {"comment_id", c.comment_id},
                         {"user_id", c.user_id},
                         {"text", c.text}};
    comment["created_at"] = c.created_at ? json::value(*c.created_at) : json::value(nullptr);
    comments.push_back(std::move(comment));
  }
  json::object out{{"room_id", room_id}, {"known", summary->known}};
  out["deleted_at"] = summary->deleted_at ? json::value(*summary->deleted_at) : nullptr;
  out["tables"] = std::move(tables);
  out["threads"] = std::move(threads);
  out["latest_comments"] = std::move(comments);
  out["pending"] = std::move(pending);
  auto changes = context.store->RoomChanges(room_id, kRoomChanges);
  if (!changes) return Problem(503, changes.error().ToString());
  json::array trail;
  json::parse_options deep;  // a change is as deep as its document
  deep.max_depth = kMaxNestingDepth + 8;
  for (const store::Change& change : *changes) {
    trail.push_back(json::parse(ChangeJson(change), {}, deep));
  }
  out["changes"] = std::move(trail);
  return Json(200, out);
}

// Mirror again: every target of the room (its row, Storage, Yjs document, active users and
// each thread it has) is read anew.
http::Response MirrorAgain(const AdminContext& context, const http::Request& request) {
  http::Response problem;
  auto body = BodyObject(request, problem);
  if (!body) return problem;
  std::string room_id = StringMember(*body, "room");
  if (room_id.empty()) return Problem(400, "give the room: {\"room\": \"ROOM\"}");
  auto marked = admin::MirrorAgain(*context.store, *context.store, room_id);
  if (!marked) return Problem(503, marked.error().ToString());
  if (context.notify_workers) context.notify_workers();
  return Json(200, json::object{{"marked", *marked}});
}

// The console's cookie: it lets the browser reload the page (which holds no data) and
// authorises nothing else; every API request needs the token in its header.
constexpr std::string_view kConsoleCookie = "lbmirror_console=";

std::string CookieToken(const http::Request& request) {
  auto cookies = request.SingleHeader("cookie");
  if (!cookies) return {};
  for (std::string_view cookie : SplitAny(*cookies, ";")) {
    cookie = Trim(cookie);
    if (StartsWith(cookie, kConsoleCookie))
      return std::string(cookie.substr(kConsoleCookie.size()));
  }
  return {};
}

// GET /?token=TOKEN: the console page. The token comes in the address here (a browser cannot
// send a header when it opens a page); the page's script takes it from there and sends it in a
// header from then on. Strict headers: only the page's own script runs, nothing is framed,
// cached or sent as a referrer.
http::Response Console(const AdminContext& context, const http::Request& request) {
  const std::string offered =
      request.query.empty() ? CookieToken(request) : QueryParam(request.query, "token");
  if (context.token.empty() || !ConstantTimeEquals(offered, context.token)) {
    http::Response response;
    response.status = 401;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "401: open the console as /?token=YOUR_ADMIN_TOKEN\n";
    return response;
  }
  std::random_device random;
  std::string bytes;
  for (int i = 0; i < 16; ++i) bytes.push_back(static_cast<char>(random() & 0xff));
  const std::string nonce = Base64Encode(bytes);
  http::Response response;
  response.status = 200;
  response.content_type = "text/html; charset=utf-8";
  response.body = ConsolePage(nonce);
  response.headers.emplace(
      "Content-Security-Policy",
      Cat("default-src 'none'; script-src 'nonce-", nonce, "'; style-src 'nonce-", nonce,
          "'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'"));
  response.headers.emplace("Cache-Control", "no-store");
  response.headers.emplace(
      "Set-Cookie", Cat(kConsoleCookie, context.token, "; Path=/; HttpOnly; SameSite=Strict"));
  response.headers.emplace("Referrer-Policy", "no-referrer");
  response.headers.emplace("X-Content-Type-Options", "nosniff");
  return response;
}

// The answer to a request without the token (401), or nullopt when it carries it.
std::optional<http::Response> Denied(const AdminContext& context, const http::Request& request) {
  auto authorization = request.SingleHeader("authorization");
  const std::string_view scheme = "Bearer ";
  if (!authorization || !StartsWith(*authorization, scheme) ||
      !ConstantTimeEquals(authorization->substr(scheme.size()), context.token)) {
    http::Response response = Problem(401, "the admin token is missing or wrong");
    response.headers.emplace("WWW-Authenticate", "Bearer");
    return response;
  }
  return std::nullopt;
}

// `handler`, for requests that carry the token; 401 for the others.
http::Handler Guarded(const AdminContext& context,
                      std::function<http::Response(const http::Request&)> handler) {
  return [&context, handler = std::move(handler)](const http::Request& request) {
    if (auto denied = Denied(context, request)) return *denied;
    return handler(request);
  };
}

// The longest a long poll of the change feed waits, and how many changes one answer holds.
constexpr int64_t kMaxChangesWaitMs = 60'000;
constexpr int kMaxChangesLimit = 1000;

// GET /api/changes?after=POS&limit=N&wait=30s&kind=K,K&room_prefix=P: {"changes":[...],
// "next":POS}, at once when there are changes after POS, else when one comes or `wait` ends.
void Changes(const AdminContext& context, const http::Request& request,
             const http::Responder& respond) {
  if (context.changes == nullptr) {
    respond(Problem(404, "the change feed is off: start serve with --change-feed"));
    return;
  }
  int64_t after = 0;
  int limit = 100;
  std::string text = QueryParam(request.query, "after");
  if (!text.empty() && (!ParseInt(text, &after) || after < 0)) {
    respond(Problem(400, "after must be a position (a whole number, 0 or more)"));
    return;
  }
  text = QueryParam(request.query, "limit");
  if (!text.empty() && (!ParseInt(text, &limit) || limit < 1 || limit > kMaxChangesLimit)) {
    respond(Problem(400, Cat("limit must be a whole number from 1 to ", kMaxChangesLimit)));
    return;
  }
  int64_t wait_ms = 0;
  text = QueryParam(request.query, "wait");
  if (!text.empty()) {
    auto parsed = ParseDurationMs(text);
    if (!parsed || *parsed > kMaxChangesWaitMs) {
      respond(Problem(400, "wait must be a duration of at most 60s (such as 30s)"));
      return;
    }
    wait_ms = *parsed;
  }
  auto filter = CheckChangeFilter(QueryParam(request.query, "kind"),
                                  QueryParam(request.query, "room_prefix"), "");
  if (!filter) {
    respond(Problem(400, filter.error().message()));
    return;
  }
  context.changes->Wait(after, limit, std::move(*filter), wait_ms,
                        [after, respond](Result<std::vector<store::Change>> changes) {
                          if (!changes) {
                            // A position retention pruned past: gone, with where the kept changes
                            // start.
                            const bool stale =
                                changes.error().code() == ErrorCode::kInvalidArgument;
                            respond(Problem(stale ? 410 : 503, changes.error().message()));
                            return;
                          }
                          std::string body = "{\"changes\":[";
                          int64_t next = after;
                          for (size_t i = 0; i < changes->size(); ++i) {
                            if (i > 0) body += ",";
                            body += ChangeJson((*changes)[i]);
                            next = (*changes)[i].position.value_or(next);
                          }
                          body += Cat("],\"next\":", next, "}");
                          respond(http::Response::Json(200, body));
                        });
}
}  // namespace

http::Router AdminRoutes(const AdminContext& context) {
  http::Router router;
  router.Add("GET", "/",
             [&context](const http::Request& request) { return Console(context, request); });
  AddProbes(router, context.probes);
  router.Add("GET", "/api/overview", Guarded(context, [&context](const http::Request&) {
               return http::Response::Json(200, context.overview ? context.overview() : "{}");
             }));
  router.AddBlocking("GET", "/api/queue",
                     Guarded(context, [&context](const http::Request&) { return Queue(context); }));
  router.AddBlocking("GET", "/api/events",
                     Guarded(context, [&context](const http::Request& request) {
                       return Events(context, request);
                     }));
  router.AddBlocking("POST", "/api/retry",
                     Guarded(context, [&context](const http::Request& request) {
                       return Retry(context, request);
                     }));
  router.AddBlocking("POST", "/api/replay",
                     Guarded(context, [&context](const http::Request& request) {
                       return Replay(context, request);
                     }));
  router.AddBlocking("GET", "/api/room", Guarded(context, [&context](const http::Request& request) {
                       return Room(context, request);
                     }));
  router.AddAsync(
      "GET", "/api/changes",
      [&context](const http::Request& request, const http::Responder& respond) {
        if (auto denied = Denied(context, request)) return respond(std::move(*denied));
        Changes(context, request, respond);
      },
      {}, std::chrono::milliseconds(kMaxChangesWaitMs + 15'000));
  router.AddBlocking("POST", "/api/forward/retry",
                     Guarded(context, [&context](const http::Request& request) {
                       return RetryForwarding(context, request);
                     }));
  router.AddBlocking("POST", "/api/mirror",
                     Guarded(context, [&context](const http::Request& request) {
                       return MirrorAgain(context, request);
                     }));
  return router;
}

Result<std::unique_ptr<AdminListener>> AdminListener::Start(const std::string& address,
                                                            AdminContext context) {
  auto parsed = http::ParseListenAddress(address);
  if (!parsed) return InvalidArgument(Cat("--admin-listen: ", parsed.error().message()));
  std::unique_ptr<AdminListener> listener(new AdminListener(std::move(context)));
  http::ServerOptions options;
  options.host = parsed->first;
  options.port = parsed->second;
  options.threads = 1;
  options.max_connections = 64;
  options.answer_timeout = std::chrono::milliseconds(listener->context_.answer_timeout_ms);
  listener->server_ = std::make_unique<http::HttpServer>(options, AdminRoutes(listener->context_));
  if (Status listening = listener->server_->Listen(); !listening) {
    return Error(ErrorCode::kUnavailable,
                 Cat("--admin-listen ", address, ": ", listening.error().message()));
  }
  listener->thread_ = std::thread([server = listener->server_.get()] { server->Run(); });
  return listener;
}

AdminListener::~AdminListener() {
  if (server_) server_->Stop();
  if (thread_.joinable()) thread_.join();
}

void RunningAdmin::Stop() {
  if (changes) changes->Stop();
  listener.reset();
  sampler.reset();
}

Result<RunningAdmin> StartAdmin(const AdminSettings& settings, const Sources& sources,
                                std::function<void()> notify_workers, Probes probes) {
  RunningAdmin running;
  running.sampler = std::make_unique<OverviewSampler>(
      sources, settings.sample_ms, static_cast<size_t>(3'600'000 / settings.sample_ms));
  AdminContext context;
  context.overview = [sampler = running.sampler.get()] { return sampler->Json(); };
  context.store = sources.store;
  context.clock = sources.clock;
  if (sources.passes != nullptr) context.passes = sources.passes->specs();
  context.token = settings.token;
  context.answer_timeout_ms = settings.answer_timeout_ms;
  context.notify_workers = std::move(notify_workers);
  context.probes = std::move(probes);
  if (settings.change_feed) {
    running.changes = std::make_unique<ChangePoller>(*sources.store, *sources.clock);
    context.changes = running.changes.get();
  }
  auto listener = AdminListener::Start(settings.listen, std::move(context));
  if (!listener) return listener.error();
  log::Info(Cat("admin API on ", settings.listen, " (port ", (*listener)->port(),
                "; the admin token is required)"));
  running.listener = std::move(*listener);
  running.sampler->Start();
  return running;
}

}  // namespace lbmirror::admin
