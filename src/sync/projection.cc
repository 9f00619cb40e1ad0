#include "sync/projection.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include "core/json_fields.h"
#include "core/limits.h"
#include "core/text.h"
#include "sync/comment_body.h"
#include "sync/pass_kinds.h"
#include "yjs/document.h"

namespace lbmirror::sync {

namespace json = boost::json;
using store::TargetKey;
using store::TargetKind;

namespace {
std::string Serialize(const json::object& object, std::string_view field,
                      std::string_view fallback) {
  const json::value* value = object.if_contains(field);
  return value != nullptr ? json::serialize(*value) : std::string(fallback);
}

// What a REST answer's body may hold: JSON nested up to kMaxNestingDepth.
json::parse_options DeepParseOptions() {
  json::parse_options options;
  options.max_depth = kMaxNestingDepth;
  return options;
}

Error BodyError(std::string_view what, const boost::system::error_code& ec, std::string_view body) {
  if (ec == json::error::too_deep) {
    return Error(ErrorCode::kTooLarge,
                 Cat(what, ": the response nests JSON ", JsonDepth(body),
                     " levels deep, deeper than ", kMaxNestingDepth, " levels (lbmirror's limit)"));
  }
  return Internal(Cat(what, ": response body is not valid JSON"));
}

Result<json::value> ParseBody(const liveblocks::RestResponse& response, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(response.body, ec, {}, DeepParseOptions());
  if (ec) return BodyError(what, ec, response.body);
  return value;
}

Result<Projection> ProjectRoom(const TargetKey& target, const json::value& body) {
  auto row = RoomFromJson(body);
  if (!row) return row.error();
  if (row->room_id != target.scope_id) {
    return Internal("room: response id does not match the requested room");
  }
  return Projection{{std::move(*row)}, {}};
}

// The binary state is the truth (the JSON view of GET /ydoc is lossy); the decoder gives the
// exact JSON and the text. A state that does not decode fails the target with the reason.
Result<Projection> ProjectYdoc(const TargetKey& target, const liveblocks::RestResponse& response) {
  auto row = DecodeYdoc(target.scope_id, response.body, "ydoc-binary");
  if (!row) return row.error();
  return Projection{{std::move(*row)}, {}};
}

std::optional<std::string> OptionalJson(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return json::serialize(*value);
}

Result<Projection> ProjectNotification(const TargetKey& target, const json::value& body,
                                       const std::string& raw) {
  const json::object* n = body.if_object();
  if (n == nullptr) return Internal("notification: response is not a JSON object");
  if (StringField(*n, "id") != target.object_id) {
    return Internal("notification: response id does not match the requested notification");
  }
  return Projection{{NotificationFromJson(target.scope_id, *n, raw)}, {}};
}

Result<Projection> ProjectActiveUsers(const TargetKey& target, const json::value& body) {
  const json::object* object = body.if_object();
  const json::value* data = object != nullptr ? object->if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array())
    return Internal("active users: response has no data array");
  store::ActiveUsersSnapshot snapshot{target.scope_id, {}};
  for (const json::value& entry : data->as_array()) {
    const json::object* user = entry.if_object();
    const json::value* connection = user != nullptr ? user->if_contains("connectionId") : nullptr;
    if (connection == nullptr || !connection->is_int64()) {
      return Internal("active users: an entry has no integer connectionId");
    }
    snapshot.users.push_back(
        {connection->as_int64(), StringField(*user, "id"), OptionalJson(*user, "info")});
  }
  return Projection{{std::move(snapshot)}, {}};
}

std::optional<double> Number(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

// Calls `visit(id, object)` for each element of a map by id or an array of {"id": ...}.
template <typename Visit>
void ForEachById(const json::value* collection, Visit visit) {
  if (collection == nullptr) return;
  if (const json::object* map = collection->if_object()) {
    for (const auto& [id, item] : *map) {
      if (const json::object* o = item.if_object()) visit(std::string(id), *o);
    }
  } else if (const json::array* list = collection->if_array()) {
    for (const json::value& item : *list) {
      const json::object* o = item.if_object();
      if (o == nullptr) continue;
      if (auto id = StringField(*o, "id")) visit(*id, *o);
    }
  }
}
}  // namespace

store::NotificationRow NotificationFromJson(const std::string& user_id, const json::object& n,
                                            std::string raw) {
  store::NotificationRow row;
  row.inbox_notification_id = StringField(n, "id").value_or("");
  row.user_id = user_id;
  row.kind = StringField(n, "kind").value_or("");
  row.room_id = StringField(n, "roomId");
  row.thread_id = StringField(n, "threadId");
  row.subject_id = StringField(n, "subjectId");
  row.notified_at = TimestampField(n, "notifiedAt");
  row.read_at = TimestampField(n, "readAt");
  row.data = std::move(raw);
  return row;
}

namespace {
// A boost::json parser handler that builds nothing: it validates the document (the same
// grammar, UTF-8 and depth checks as json::parse) and notes the keys of the root object.
class RootKeysHandler {
 public:
  // Boost.JSON's handler interface names these. NOLINTBEGIN(readability-identifier-naming)
  static constexpr size_t max_object_size = size_t(-1);
  static constexpr size_t max_array_size = size_t(-1);
  static constexpr size_t max_key_size = size_t(-1);
  static constexpr size_t max_string_size = size_t(-1);
  // NOLINTEND(readability-identifier-naming)

  bool root_is_object = false;
  int max_depth = 0;  // of objects and arrays: {} is 1, {"a":[]} is 2
  std::vector<std::string> keys;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    if (depth_ == 0) root_is_object = true;
    max_depth = std::max(max_depth, ++depth_);
    return true;
  }
  bool on_object_end(size_t, boost::system::error_code&) { return --depth_, true; }
  bool on_array_begin(boost::system::error_code&) {
    max_depth = std::max(max_depth, ++depth_);
    return true;
  }
  bool on_array_end(size_t, boost::system::error_code&) { return --depth_, true; }
  bool on_key_part(json::string_view part, size_t, boost::system::error_code&) {
    if (depth_ == 1) key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, size_t, boost::system::error_code&) {
    if (depth_ == 1) {
      key_.append(part.data(), part.size());
      keys.push_back(std::move(key_));
      key_.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view, size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, size_t, boost::system::error_code&) { return true; }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  int depth_ = 0;
  std::string key_;
};

Result<Projection> ProjectStorage(const TargetKey& target, liveblocks::RestResponse response,
                                  const ProjectionOptions& options) {
  json::basic_parser<RootKeysHandler> parser{DeepParseOptions()};
  boost::system::error_code ec;
  size_t used = parser.write_some(false, response.body.data(), response.body.size(), ec);
  if (!ec && used != response.body.size()) ec = json::error::extra_data;
  if (ec) return BodyError("storage", ec, response.body);
  const RootKeysHandler& seen = parser.handler();
  if (!seen.root_is_object) return Internal("storage: response is not a JSON object");
  // Diagrams are projected from a tree, built only when the document holds one of their keys.
  std::optional<json::value> tree;
  for (const std::string& key : options.flow_keys) {
    if (std::find(seen.keys.begin(), seen.keys.end(), key) != seen.keys.end()) {
      tree = json::parse(response.body, ec, {}, DeepParseOptions());
      if (ec || !tree->is_object()) return BodyError("storage", ec, response.body);
      break;
    }
  }
  const json::object none;
  std::vector<store::RowWrite> flows;
  for (const std::string& key : options.flow_keys) {
    flows.push_back(ProjectFlow(target.scope_id, key, tree ? tree->as_object() : none));
  }
  // The document is stored exactly as received.
  Projection projection{
      {store::DocumentRow{target.scope_id, std::move(response.body), seen.max_depth}}, {}};
  for (store::RowWrite& flow : flows) projection.writes.push_back(std::move(flow));
  return projection;
}
}  // namespace

store::FlowSnapshot ProjectFlow(const std::string& room_id, const std::string& key,
                                const json::object& storage) {
  store::FlowSnapshot flow{room_id, key, {}, {}};
  const json::value* root = storage.if_contains(key);
  const json::object* diagram = root != nullptr ? root->if_object() : nullptr;
  if (diagram == nullptr) return flow;
  ForEachById(diagram->if_contains("nodes"), [&](const std::string& id, const json::object& node) {
    store::FlowNode row{id,           StringField(node, "type"),  std::nullopt,
                        std::nullopt, OptionalJson(node, "data"), json::serialize(node)};
    if (const json::value* position = node.if_contains("position");
        position && position->is_object()) {
      row.position_x = Number(position->as_object(), "x");
      row.position_y = Number(position->as_object(), "y");
    }
    flow.nodes.push_back(std::move(row));
  });
  ForEachById(diagram->if_contains("edges"), [&](const std::string& id, const json::object& edge) {
    flow.edges.push_back({id, StringField(edge, "source"), StringField(edge, "target"),
                          StringField(edge, "type"), OptionalJson(edge, "data"),
                          json::serialize(edge)});
  });
  return flow;
}

namespace {
// The attachments a comment lists ({"type":"attachment","id","name","size","mimeType"}).
Status ProjectAttachments(const json::object& comment, const store::CommentRow& row,
                          std::vector<store::AttachmentRow>& out) {
  const json::value* attachments = comment.if_contains("attachments");
  if (attachments == nullptr || attachments->is_null()) return Ok();
  if (!attachments->is_array()) return Internal("thread: a comment's attachments are not a list");
  for (const json::value& item : attachments->as_array()) {
    const json::object* a = item.if_object();
    auto id = a != nullptr ? StringField(*a, "id") : std::nullopt;
    if (!id || id->empty()) return Internal("thread: an attachment has no id");
    std::optional<int64_t> size;
    if (const json::value* bytes = a->if_contains("size"); bytes != nullptr) {
      if (bytes->is_int64()) size = bytes->as_int64();
      if (bytes->is_uint64() && bytes->as_uint64() <= INT64_MAX) size = bytes->as_uint64();
      if (bytes->is_double() && bytes->as_double() >= 0 && bytes->as_double() < 9e18) {
        size = static_cast<int64_t>(bytes->as_double());
      }
    }
    out.push_back({*id, row.comment_id, row.thread_id, row.room_id,
                   StringField(*a, "name").value_or(""), size, StringField(*a, "mimeType")});
  }
  return Ok();
}
}  // namespace

Result<store::YdocRow> DecodeYdoc(const std::string& room_id, const std::string& state,
                                  std::string_view what) {
  auto document = yjs::Document::Decode(state);
  auto view = document ? document->ToJson() : Result<json::value>(document.error());
  auto text = view ? document->Text() : Result<std::string>(view.error());
  if (!text) return Error(text.error().code(), Cat(what, ": ", text.error().message()));
  std::string data = json::serialize(*view);
  int depth = JsonDepth(data);
  return store::YdocRow{room_id, std::move(data), std::move(*text), state, depth};
}

Result<store::ThreadSnapshot> ProjectThread(const TargetKey& target, const json::value& body) {
  const json::object* thread = body.if_object();
  if (thread == nullptr) return Internal("thread: response is not a JSON object");
  if (StringField(*thread, "id") != target.object_id) {
    return Internal("thread: response id does not match the requested thread");
  }
  store::ThreadSnapshot snapshot;
  store::ThreadRow& row = snapshot.thread;
  row.thread_id = target.object_id;
  row.room_id = StringField(*thread, "roomId").value_or(target.scope_id);
  row.metadata = Serialize(*thread, "metadata", "{}");
  const json::value* resolved = thread->if_contains("resolved");
  row.resolved = resolved != nullptr && resolved->is_bool() && resolved->as_bool();
  row.visibility = StringField(*thread, "visibility").value_or("public");
  row.created_at = TimestampField(*thread, "createdAt");
  row.updated_at = TimestampField(*thread, "updatedAt");
  const json::value* comments = thread->if_contains("comments");
  if (comments == nullptr || !comments->is_array()) return Internal("thread: no comments array");
  for (const json::value& item : comments->as_array()) {
    const json::object* c = item.if_object();
    auto id = c != nullptr ? StringField(*c, "id") : std::nullopt;
    if (!id) return Internal("thread: a comment has no id");
    store::CommentRow comment;
    comment.comment_id = *id;
    comment.thread_id = row.thread_id;
    comment.room_id = row.room_id;
    comment.user_id = StringField(*c, "userId").value_or("");
    if (const json::value* b = c->if_contains("body"); b != nullptr && !b->is_null()) {
      comment.body = json::serialize(*b);
      comment.body_text = CommentBodyToPlainText(*b);
    }
    comment.metadata = Serialize(*c, "metadata", "{}");
    comment.attachments = Serialize(*c, "attachments", "[]");
    LBMIRROR_RETURN_IF_ERROR(ProjectAttachments(*c, comment, snapshot.attachments));
    comment.created_at = TimestampField(*c, "createdAt");
    comment.edited_at = TimestampField(*c, "editedAt");
    comment.deleted_at = TimestampField(*c, "deletedAt");
    if (const json::value* reactions = c->if_contains("reactions");
        reactions && reactions->is_array()) {
      for (const json::value& r : reactions->as_array()) {
        const json::object* reaction = r.if_object();
        auto emoji = reaction != nullptr ? StringField(*reaction, "emoji") : std::nullopt;
        const json::value* users = reaction != nullptr ? reaction->if_contains("users") : nullptr;
        if (!emoji || users == nullptr || !users->is_array()) continue;
        for (const json::value& u : users->as_array()) {
          auto user = u.is_object() ? StringField(u.as_object(), "id") : std::nullopt;
          if (!user) continue;
          snapshot.reactions.push_back({comment.comment_id, *emoji, *user, row.thread_id,
                                        row.room_id, TimestampField(*reaction, "createdAt")});
        }
      }
    }
    snapshot.comments.push_back(std::move(comment));
  }
  return snapshot;
}

Result<store::RoomRow> RoomFromJson(const json::value& body) {
  const json::object* room = body.if_object();
  if (room == nullptr) return Internal("room: response is not a JSON object");
  const json::value* id = room->if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty()) {
    return Internal("room: the room has no id");
  }
  store::RoomRow row;
  row.room_id = std::string(id->as_string());
  const json::value* organization = room->if_contains("organizationId");
  if (organization == nullptr) organization = room->if_contains("tenantId");
  if (organization != nullptr && organization->is_string()) {
    row.organization_id = std::string(organization->as_string());
  }
  row.metadata = Serialize(*room, "metadata", "{}");
  row.default_accesses = Serialize(*room, "defaultAccesses", "[]");
  row.users_accesses = Serialize(*room, "usersAccesses", "{}");
  row.groups_accesses = Serialize(*room, "groupsAccesses", "{}");
  row.created_at = TimestampField(*room, "createdAt");
  row.last_connection_at = TimestampField(*room, "lastConnectionAt");
  return row;
}

const std::vector<TargetKind>& SupportedKinds() {
  static const std::vector<TargetKind> kKinds = {TargetKind::kRoom,   TargetKind::kStorage,
                                                 TargetKind::kYdoc,   TargetKind::kPresence,
                                                 TargetKind::kThread, TargetKind::kNotification};
  return kKinds;
}

std::string ReadPath(const TargetKey& target) {
  switch (target.kind) {
    case TargetKind::kRoom:
      return liveblocks::RoomPath(target.scope_id);
    case TargetKind::kStorage:
      return liveblocks::StoragePath(target.scope_id);
    case TargetKind::kYdoc:
      return liveblocks::YdocBinaryPath(target.scope_id);
    case TargetKind::kPresence:
      return liveblocks::ActiveUsersPath(target.scope_id);
    case TargetKind::kThread:
      return liveblocks::ThreadPath(target.scope_id, target.object_id);
    case TargetKind::kNotification:
      return liveblocks::InboxNotificationPath(target.scope_id, target.object_id);
    case TargetKind::kInbox:
    case TargetKind::kGroups:
    case TargetKind::kVersions:
      return ListingOf(target)->path;
    case TargetKind::kVersionYdoc:
      return liveblocks::RoomPath(target.scope_id) + "/versions/" +
             EncodeUriComponent(target.object_id) + "/yjs";
    case TargetKind::kNotificationSettings:
      return "/v2/users/" + EncodeUriComponent(target.scope_id) + "/notification-settings";
    case TargetKind::kRoomSubscriptionSettings:
    case TargetKind::kFeeds:
    case TargetKind::kFeedMessages:
      return ListingOf(target)->path;
    case TargetKind::kThreadSubscriptions:
      return liveblocks::ThreadPath(target.scope_id, target.object_id) + "/subscriptions";
  }
  LBMIRROR_CHECK(false && "unknown target kind");
  return {};
}

namespace {

// A 404: what the target read no longer exists.
Result<Projection> ProjectGone(const TargetKey& target, int64_t read_started_ms) {
  switch (target.kind) {
    case TargetKind::kRoom:
      return Projection{{store::RoomGone{target.scope_id}}, {}};
    case TargetKind::kStorage:
      return Projection{{store::DocumentGone{target.scope_id}},
                        {{TargetKind::kRoom, target.scope_id, ""}}};
    case TargetKind::kYdoc:
      return Projection{{store::YdocGone{target.scope_id}},
                        {{TargetKind::kRoom, target.scope_id, ""}}};
    case TargetKind::kPresence:
      return Projection{{store::ActiveUsersSnapshot{target.scope_id, {}}},
                        {{TargetKind::kRoom, target.scope_id, ""}}};
    case TargetKind::kThread:
      return Projection{{store::ThreadGone{target.scope_id, target.object_id}}, {}};
    case TargetKind::kNotification:
      return Projection{{store::NotificationGone{target.scope_id, target.object_id}}, {}};
    case TargetKind::kInbox:
    case TargetKind::kGroups:
    case TargetKind::kVersions:
    case TargetKind::kVersionYdoc:
    case TargetKind::kNotificationSettings:
    case TargetKind::kRoomSubscriptionSettings:
    case TargetKind::kThreadSubscriptions:
    case TargetKind::kFeeds:
    case TargetKind::kFeedMessages:
      return ProjectPassGone(target, read_started_ms);
  }
  return Internal(Cat(store::TargetKindName(target.kind), ": Liveblocks answered 404"));
}

}  // namespace

Result<Projection> Project(const TargetKey& target, liveblocks::RestResponse response,
                           const ProjectionOptions& options, int64_t read_started_ms) {
  std::string_view what = store::TargetKindName(target.kind);
  // 501, or a stand-in the server itself calls a dummy (the dev server's feeds): not offered.
  if ((response.status == 501 || response.dummy) && IsPassKind(target.kind)) {
    Projection unsupported;
    unsupported.unsupported = true;
    return unsupported;
  }
  if (response.status == 401 || response.status == 403) {
    return Error(ErrorCode::kUnauthenticated,
                 Cat(liveblocks::DescribeErrorResponse(response),
                     " (check LIVEBLOCKS_SECRET_KEY: it must be a secret key of this project)"),
                 false, response.status);
  }
  if (response.status == 429 || response.status >= 500) {
    return Unavailable(liveblocks::DescribeErrorResponse(response), response.status);
  }
  if (response.status == 404) return ProjectGone(target, read_started_ms);
  if (response.status != 200) {
    return Error(ErrorCode::kInternal, Cat(what, ": ", liveblocks::DescribeErrorResponse(response)),
                 false, response.status);
  }
  if (target.kind == TargetKind::kYdoc) return ProjectYdoc(target, response);
  if (target.kind == TargetKind::kVersionYdoc) return ProjectVersionYdoc(target, response);
  if (target.kind == TargetKind::kStorage)
    return ProjectStorage(target, std::move(response), options);
  auto body = ParseBody(response, what);
  if (!body) return body.error();
  switch (target.kind) {
    case TargetKind::kRoom:
      return ProjectRoom(target, *body);
    case TargetKind::kStorage:
    case TargetKind::kYdoc:
      break;  // handled above
    case TargetKind::kThread: {
      auto snapshot = ProjectThread(target, *body);
      if (!snapshot) return snapshot.error();
      return Projection{{std::move(*snapshot)}, {}};
    }
    case TargetKind::kNotification:
      return ProjectNotification(target, *body, response.body);
    case TargetKind::kInbox:
    case TargetKind::kGroups:
    case TargetKind::kVersions:
    case TargetKind::kRoomSubscriptionSettings:
    case TargetKind::kThreadSubscriptions:
    case TargetKind::kFeeds:
    case TargetKind::kFeedMessages:
      return ProjectListing(target, *body, read_started_ms);
    case TargetKind::kNotificationSettings:
      return ProjectNotificationSettings(target, *body);
    case TargetKind::kVersionYdoc:
      break;  // handled above
    case TargetKind::kPresence:
      return ProjectActiveUsers(target, *body);
  }
  return Internal(Cat("no projection for ", what, " targets"));
}

}  // namespace lbmirror::sync
