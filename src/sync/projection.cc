#include "sync/projection.h"

#include <boost/json.hpp>

#include "core/text.h"

namespace lbmirror::sync {

namespace json = boost::json;
using store::TargetKey;
using store::TargetKind;

namespace {
std::string Serialize(const json::object& object, std::string_view field, std::string_view fallback) {
  const json::value* value = object.if_contains(field);
  return value != nullptr ? json::serialize(*value) : std::string(fallback);
}

std::optional<std::string> Timestamp(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  auto ms = ParseIsoTimestampMs(value->as_string());
  if (!ms) return std::nullopt;
  return FormatSqlTimestamp(*ms);
}

Result<json::value> ParseBody(const liveblocks::RestResponse& response, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(response.body, ec);
  if (ec) return Internal(Cat(what, ": response body is not valid JSON"));
  return value;
}

Result<Projection> ProjectRoom(const TargetKey& target, const json::value& body) {
  const json::object* room = body.if_object();
  if (room == nullptr) return Internal("room: response is not a JSON object");
  const json::value* id = room->if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string() != target.scope_id) {
    return Internal("room: response id does not match the requested room");
  }
  store::RoomRow row;
  row.room_id = target.scope_id;
  const json::value* organization = room->if_contains("organizationId");
  if (organization == nullptr) organization = room->if_contains("tenantId");
  if (organization != nullptr && organization->is_string()) {
    row.organization_id = std::string(organization->as_string());
  }
  row.metadata = Serialize(*room, "metadata", "{}");
  row.default_accesses = Serialize(*room, "defaultAccesses", "[]");
  row.users_accesses = Serialize(*room, "usersAccesses", "{}");
  row.groups_accesses = Serialize(*room, "groupsAccesses", "{}");
  row.created_at = Timestamp(*room, "createdAt");
  row.last_connection_at = Timestamp(*room, "lastConnectionAt");
  return Projection{{std::move(row)}, {}};
}

// Inline ProseMirror marks and text-level nodes: they do not end a paragraph.
bool IsInlineElement(std::string_view name) {
  static constexpr std::string_view kInline[] = {
      "bold", "italic", "strike", "code", "underline", "link", "highlight", "textStyle",
      "subscript", "superscript", "mention", "span", "em", "strong", "s", "a", "sub", "sup",
      "liveblocksMention", "comment", "liveblocksCommentMark"};
  for (std::string_view n : kInline) {
    if (n == name) return true;
  }
  return false;
}

void AppendEntity(std::string_view entity, std::string& out) {
  if (entity == "lt") out += '<';
  else if (entity == "gt") out += '>';
  else if (entity == "amp") out += '&';
  else if (entity == "quot") out += '"';
  else if (entity == "apos") out += '\'';
  else out += Cat('&', entity, ';');
}

// Reduces XML text to its character data; every non-inline element ends a paragraph.
std::string XmlToText(std::string_view xml) {
  std::string out;
  for (size_t i = 0; i < xml.size();) {
    char c = xml[i];
    if (c == '<') {
      size_t end = xml.find('>', i);
      if (end == std::string_view::npos) break;
      std::string_view tag = xml.substr(i + 1, end - i - 1);
      bool closing = !tag.empty() && tag.front() == '/';
      bool self_closing = !tag.empty() && tag.back() == '/';
      if (closing) tag.remove_prefix(1);
      std::string_view name = tag.substr(0, tag.find_first_of(" /"));
      if ((closing || self_closing) && !IsInlineElement(name)) {
        if (name == "hardBreak" || name == "br") out += '\n';
        else if (!out.empty() && out.back() != '\n') out += '\n';
      }
      i = end + 1;
    } else if (c == '&') {
      size_t end = xml.find(';', i);
      if (end == std::string_view::npos || end - i > 8) {
        out += c;
        ++i;
        continue;
      }
      AppendEntity(xml.substr(i + 1, end - i - 1), out);
      i = end + 1;
    } else {
      out += c;
      ++i;
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool LooksLikeXml(std::string_view text) {
  return text.size() > 2 && text.front() == '<' && text.back() == '>';
}
}  // namespace

const std::vector<TargetKind>& SupportedKinds() {
  static const std::vector<TargetKind> kKinds = {TargetKind::kRoom, TargetKind::kStorage,
                                                 TargetKind::kYdoc};
  return kKinds;
}

std::string ReadPath(const TargetKey& target) {
  switch (target.kind) {
    case TargetKind::kRoom: return liveblocks::RoomPath(target.scope_id);
    case TargetKind::kStorage: return liveblocks::StoragePath(target.scope_id);
    case TargetKind::kYdoc: return liveblocks::YdocPath(target.scope_id);
    default: break;
  }
  LBMIRROR_CHECK(false && "unsupported target kind");
  return {};
}

namespace {
std::string YdocText(const json::object& document) {
  std::string out;
  for (const auto& [key, root] : document) {
    if (!root.is_string()) continue;
    std::string_view s = root.as_string();
    std::string part = LooksLikeXml(s) ? XmlToText(s) : std::string(s);
    if (part.empty()) continue;
    if (!out.empty()) out += '\n';
    out += part;
  }
  return out;
}
}  // namespace

std::string YdocTextFromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !value.is_object()) return {};
  return YdocText(value.as_object());
}

Result<Projection> Project(const TargetKey& target, const liveblocks::RestResponse& response) {
  std::string_view what = store::TargetKindName(target.kind);
  if (response.status == 401 || response.status == 403) {
    return Error(ErrorCode::kUnauthenticated,
                 Cat(liveblocks::DescribeErrorResponse(response),
                     " (check LIVEBLOCKS_SECRET_KEY: it must be a secret key of this project)"),
                 false, response.status);
  }
  if (response.status == 429 || response.status >= 500) {
    return Unavailable(liveblocks::DescribeErrorResponse(response), response.status);
  }
  if (response.status == 404) {
    switch (target.kind) {
      case TargetKind::kRoom:
        return Projection{{store::RoomGone{target.scope_id}}, {}};
      case TargetKind::kStorage:
        return Projection{{store::DocumentGone{target.scope_id}},
                          {{TargetKind::kRoom, target.scope_id, ""}}};
      case TargetKind::kYdoc:
        return Projection{{store::YdocGone{target.scope_id}},
                          {{TargetKind::kRoom, target.scope_id, ""}}};
      default: break;
    }
  }
  if (response.status != 200) {
    return Error(ErrorCode::kInternal, Cat(what, ": ", liveblocks::DescribeErrorResponse(response)),
                 false, response.status);
  }
  auto body = ParseBody(response, what);
  if (!body) return body.error();
  switch (target.kind) {
    case TargetKind::kRoom:
      return ProjectRoom(target, *body);
    case TargetKind::kStorage:
      if (!body->is_object()) return Internal("storage: response is not a JSON object");
      // The document is stored exactly as received; it was parsed only to validate it.
      return Projection{{store::DocumentRow{target.scope_id, response.body}}, {}};
    case TargetKind::kYdoc:
      if (!body->is_object()) return Internal("ydoc: response is not a JSON object");
      return Projection{
          {store::YdocRow{target.scope_id, response.body, YdocText(body->as_object())}}, {}};
    default:
      return Internal(Cat("no projection for ", what, " targets"));
  }
}

}  // namespace lbmirror::sync
