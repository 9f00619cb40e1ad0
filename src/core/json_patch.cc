#include "core/json_patch.h"

#include <boost/json.hpp>
#include <charconv>
#include <string>
#include <type_traits>
#include <vector>

#include "core/text.h"

namespace lbmirror {
inline namespace core {

namespace json = boost::json;

namespace {

json::object Operation(std::string_view op, const std::string& path) {
  return json::object{{"op", op}, {"path", path}};
}

// Walks both values once, `path` (a buffer shared by the whole walk) naming where it stands:
// linear in their size, whatever their depth.
void Diff(const json::value& from, const json::value& to, std::string& path, json::array& out) {
  const size_t length = path.size();
  auto at = [&](auto token) -> std::string& {
    path.resize(length);
    path += '/';
    if constexpr (std::is_same_v<decltype(token), size_t>) {
      path += std::to_string(token);
    } else {
      path += JsonPointerToken(token);
    }
    return path;
  };
  if (from.is_object() && to.is_object()) {
    const json::object& a = from.as_object();
    const json::object& b = to.as_object();
    for (const auto& member : a) {
      if (const json::value* now = b.if_contains(member.key())) {
        Diff(member.value(), *now, at(member.key()), out);
      } else {
        out.push_back(Operation("remove", at(member.key())));
      }
    }
    for (const auto& member : b) {
      if (a.contains(member.key())) continue;
      json::object add = Operation("add", at(member.key()));
      add["value"] = member.value();
      out.push_back(std::move(add));
    }
  } else if (from.is_array() && to.is_array()) {
    const json::array& a = from.as_array();
    const json::array& b = to.as_array();
    const size_t common = std::min(a.size(), b.size());
    for (size_t i = 0; i < common; ++i) Diff(a[i], b[i], at(i), out);
    for (size_t i = common; i < b.size(); ++i) {
      json::object add = Operation("add", at(i));
      add["value"] = b[i];
      out.push_back(std::move(add));
    }
    // The last first, so that each index is still the element meant.
    for (size_t i = a.size(); i > common; --i) out.push_back(Operation("remove", at(i - 1)));
  } else if (!JsonEqual(from, to)) {
    path.resize(length);
    json::object replace = Operation("replace", path);
    replace["value"] = to;
    out.push_back(std::move(replace));
  }
  path.resize(length);
}

// The reference tokens of a JSON Pointer, unescaped; nullopt when it is not one.
std::optional<std::vector<std::string>> Tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  pointer.remove_prefix(1);
  for (;;) {
    const size_t end = pointer.find('/');
    std::string_view raw = pointer.substr(0, end);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[++i] == '0' ? '~' : '/';
      } else {
        return std::nullopt;
      }
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos) return tokens;
    pointer.remove_prefix(end + 1);
  }
}

// An array index token: digits without a leading zero ("-" is handled by the caller).
std::optional<size_t> Index(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  size_t index = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return index;
}

// Carries out one operation on `document` (RFC 6902 §4.1-4.3, 4.6).
Status ApplyOne(json::value& document, std::string_view op, const std::vector<std::string>& path,
                const json::value* value) {
  if (op == "test") {
    json::value* at = &document;
    for (const std::string& token : path) {
      json::object* object = at->if_object();
      json::array* array = at->if_array();
      std::optional<size_t> index = array != nullptr ? Index(token) : std::nullopt;
      if (object != nullptr && object->contains(token)) {
        at = &object->at(token);
      } else if (index && *index < array->size()) {
        at = &(*array)[*index];
      } else {
        return InvalidArgument("test: the path does not exist");
      }
    }
    return JsonEqual(*at, *value) ? Ok() : Status(InvalidArgument("test: the value differs"));
  }
  if (path.empty()) {  // the whole document
    if (op == "remove") return InvalidArgument("remove: cannot remove the whole document");
    document = *value;
    return Ok();
  }
  json::value* parent = &document;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    json::object* object = parent->if_object();
    json::array* array = parent->if_array();
    std::optional<size_t> index = array != nullptr ? Index(path[i]) : std::nullopt;
    if (object != nullptr && object->contains(path[i])) {
      parent = &object->at(path[i]);
    } else if (index && *index < array->size()) {
      parent = &(*array)[*index];
    } else {
      return InvalidArgument(Cat(op, ": the parent of the path does not exist"));
    }
  }
  const std::string& last = path.back();
  if (json::object* object = parent->if_object()) {
    if (op != "add" && !object->contains(last)) {
      return InvalidArgument(Cat(op, ": the member does not exist"));
    }
    if (op == "remove") {
      object->erase(last);
    } else {
      (*object)[last] = *value;
    }
    return Ok();
  }
  json::array* array = parent->if_array();
  if (array == nullptr) return InvalidArgument(Cat(op, ": the parent is neither object nor array"));
  std::optional<size_t> index = last == "-" && op == "add" ? array->size() : Index(last);
  if (!index || *index > array->size() || (op != "add" && *index == array->size())) {
    return InvalidArgument(Cat(op, ": the index is out of range"));
  }
  if (op == "add") {
    array->insert(array->begin() + static_cast<std::ptrdiff_t>(*index), *value);
  } else if (op == "remove") {
    array->erase(array->begin() + static_cast<std::ptrdiff_t>(*index));
  } else {
    (*array)[*index] = *value;
  }
  return Ok();
}

}  // namespace

std::string JsonPointerToken(std::string_view key) {
  std::string token;
  token.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

bool JsonEqual(const json::value& a, const json::value& b) {
  if (a.is_object() && b.is_object()) {
    const json::object& x = a.as_object();
    const json::object& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (const json::key_value_pair& member : x) {
      const json::value* other = y.if_contains(member.key());
      if (other == nullptr || !JsonEqual(member.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    const json::array& x = a.as_array();
    const json::array& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!JsonEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_structured() || b.is_structured()) return false;
  return a == b;  // numbers of different kinds compare by value
}

json::array JsonDiff(const json::value& from, const json::value& to) {
  json::array out;
  std::string path;
  Diff(from, to, path, out);
  return out;
}

Result<json::value> JsonPatchApply(json::value document, const json::array& patch) {
  for (size_t i = 0; i < patch.size(); ++i) {
    const json::object* operation = patch[i].if_object();
    const json::value* op = operation != nullptr ? operation->if_contains("op") : nullptr;
    const json::value* path = operation != nullptr ? operation->if_contains("path") : nullptr;
    if (op == nullptr || !op->is_string() || path == nullptr || !path->is_string()) {
      return InvalidArgument(Cat("operation ", i, ": needs an op and a path"));
    }
    const std::string_view name = op->as_string();
    if (name != "add" && name != "remove" && name != "replace" && name != "test") {
      return InvalidArgument(Cat("operation ", i, ": op \"", name, "\" is not supported"));
    }
    const json::value* value = operation->if_contains("value");
    if (name != "remove" && value == nullptr) {
      return InvalidArgument(Cat("operation ", i, ": ", name, " needs a value"));
    }
    auto tokens = Tokens(path->as_string());
    if (!tokens) return InvalidArgument(Cat("operation ", i, ": the path is not a JSON Pointer"));
    if (Status applied = ApplyOne(document, name, *tokens, value); !applied) {
      return InvalidArgument(Cat("operation ", i, " (", std::string(path->as_string()),
                                 "): ", applied.error().message()));
    }
  }
  return document;
}

}  // namespace core
}  // namespace lbmirror
