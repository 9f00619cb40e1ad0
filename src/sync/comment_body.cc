#include "sync/comment_body.h"

#include <boost/json.hpp>

namespace lbmirror::sync {

namespace json = boost::json;

namespace {
std::string_view StringField(const json::object& object, std::string_view field) {
  const json::value* v = object.if_contains(field);
  return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

void AppendInline(const json::value& element, std::string& out) {
  const json::object* object = element.if_object();
  if (object == nullptr) return;
  const json::value* type = object->if_contains("type");
  if (type == nullptr) {
    // A text run has no "type" and a string "text".
    const json::value* text = object->if_contains("text");
    if (text != nullptr && text->is_string()) out += std::string_view(text->as_string());
    return;
  }
  if (!type->is_string()) return;
  std::string_view kind = type->as_string();
  if (kind == "link") {
    const json::value* text = object->if_contains("text");
    out += text != nullptr && text->is_string() ? std::string_view(text->as_string())
                                                : StringField(*object, "url");
  } else if (kind == "mention") {
    std::string_view id = StringField(*object, "id");
    if (!id.empty()) {
      out += '@';
      out += id;
    }
  }
}
}  // namespace

std::string CommentBodyToPlainText(const json::value& body) {
  const json::object* root = body.if_object();
  if (root == nullptr) return {};
  const json::value* content = root->if_contains("content");
  if (content == nullptr || !content->is_array()) return {};
  std::string out;
  bool first = true;
  for (const json::value& block : content->as_array()) {
    const json::object* paragraph = block.if_object();
    if (paragraph == nullptr || StringField(*paragraph, "type") != "paragraph") continue;
    if (!first) out += '\n';
    first = false;
    const json::value* children = paragraph->if_contains("children");
    if (children == nullptr || !children->is_array()) continue;
    for (const json::value& child : children->as_array()) AppendInline(child, out);
  }
  return out;
}

}  // namespace lbmirror::sync
