// The views of an integrated document: its lossless JSON (Y.Text with formatting as its delta,
// XML as nodeName, attributes and children, Lexical's blocks kept) and its plain text (blocks
// separated by blank lines), both bounded in depth.
#include <algorithm>

#include "core/text.h"
#include "yjs/model.h"

namespace lbmirror::yjs {

TypeRef Document::Impl::RootRef(const Type& type) const {
  if (type.start == nullptr) return kMap;
  bool text = false, xml = false;
  for (int pass = 0; pass < 2 && !text && !xml; ++pass) {
    for (Item* i = type.start; i != nullptr; i = i->right) {
      if (pass == 0 && i->deleted) continue;  // decide by live content first
      if (i->content == kString || i->content == kFormat || i->content == kEmbed) text = true;
      if (i->content == kType &&
          (i->type->ref == kXmlElement || i->type->ref == kXmlText || i->type->ref == kXmlHook)) {
        xml = true;
      }
    }
  }
  if (text) return type.map.empty() ? kText : kXmlText;
  return xml ? kXmlFragment : kArray;
}

json::value Document::Impl::ItemValue(const Item& item, size_t index, int depth) const {
  switch (item.content) {
    case kJson:
    case kAny:
    case kEmbed:
      return item.values[index];
    case kBinary:
      return json::object{{"$binary", Base64Encode(item.str)}};
    case kType:
      return TypeJson(*item.type, item.type->ref, depth + 1);
    case kDoc:
      return json::object{{"$doc", item.str}};
    case kString:
      return json::string(item.str);
    default:
      return nullptr;
  }
}

json::object Document::Impl::MapJson(const Type& type, int depth) const {
  json::object out;
  for (const auto& [key, item] : type.map) {
    if (item->deleted || !item->countable()) continue;
    out[key] = ItemValue(
        *item, item->content == kJson || item->content == kAny ? item->values.size() - 1 : 0,
        depth);
  }
  return out;
}

json::value Document::Impl::SequenceJson(const Type& type, int depth) const {
  json::array out;
  for (Item* i = type.start; i != nullptr; i = i->right) {
    if (i->deleted || !i->countable()) continue;
    size_t count = i->content == kJson || i->content == kAny ? i->values.size() : 1;
    for (size_t k = 0; k < count; ++k) out.push_back(ItemValue(*i, k, depth));
  }
  return out;
}

// Y.Text#toDelta: runs of text with equal attributes; embeds and nested types as inserts.
json::value Document::Impl::Delta(const Type& type, int depth) const {
  json::array ops;
  std::vector<std::pair<std::string, json::value>> attributes;  // insertion order, as in JS
  std::string text;
  auto attributes_json = [&]() {
    json::object object;
    for (const auto& [k, v] : attributes) object[k] = v;
    return object;
  };
  auto pack = [&]() {
    if (text.empty()) return;
    json::object op{{"insert", text}};
    if (!attributes.empty()) op["attributes"] = attributes_json();
    ops.push_back(std::move(op));
    text.clear();
  };
  for (Item* i = type.start; i != nullptr; i = i->right) {
    if (i->deleted) continue;
    if (i->content == kString) {
      text += i->str;
    } else if (i->content == kType || i->content == kEmbed) {
      pack();
      json::object op{{"insert", ItemValue(*i, 0, depth)}};
      if (!attributes.empty()) op["attributes"] = attributes_json();
      ops.push_back(std::move(op));
    } else if (i->content == kFormat) {
      pack();
      auto it = std::find_if(attributes.begin(), attributes.end(),
                             [&](const auto& a) { return a.first == i->str; });
      if (i->values[0].is_null()) {
        if (it != attributes.end()) attributes.erase(it);
      } else if (it != attributes.end()) {
        it->second = i->values[0];
      } else {
        attributes.emplace_back(i->str, i->values[0]);
      }
    }
  }
  pack();
  bool plain = std::all_of(ops.begin(), ops.end(), [](const json::value& op) {
    return op.as_object().at("insert").is_string() && !op.as_object().contains("attributes");
  });
  if (!plain) return ops;
  std::string joined;
  for (const json::value& op : ops)
    joined += std::string_view(op.as_object().at("insert").as_string());
  return json::string(joined);
}

json::value Document::Impl::TypeJson(const Type& type, TypeRef ref, int depth) const {
  if (depth > limits.max_depth) FailTooDeep(limits.max_depth);
  switch (ref) {
    case kMap:
    case kXmlHook:
      return MapJson(type, depth);
    case kText:
      return Delta(type, depth);
    case kXmlText: {
      json::value delta = Delta(type, depth);
      if (type.map.empty()) return delta;
      return json::object{{"attributes", MapJson(type, depth)}, {"delta", std::move(delta)}};
    }
    case kXmlElement:
      return json::object{{"nodeName", type.name},
                          {"attributes", MapJson(type, depth)},
                          {"children", SequenceJson(type, depth)}};
    case kArray:
    case kXmlFragment:
    case kUnknownRoot:
      return SequenceJson(type, depth);
  }
  return nullptr;
}

// Text of text-like and XML types. A block is flushed after each XML element with direct
// text children, and around each block embedded in a text or each text with attributes
// (Lexical's layout: attributed Y.XmlText blocks).
void Document::Impl::CollectText(const Type& type, TypeRef ref, std::vector<std::string>& blocks,
                                 std::string& current, int depth) const {
  if (depth > limits.max_depth) FailTooDeep(limits.max_depth);
  auto flush = [&] {
    if (!current.empty()) blocks.push_back(std::move(current));
    current.clear();
  };
  if (ref == kText || ref == kXmlText) {
    for (Item* i = type.start; i != nullptr; i = i->right) {
      if (i->deleted) continue;
      if (i->content == kString) {
        current += i->str;
      } else if (i->content == kType && (i->type->ref == kXmlText || i->type->ref == kText ||
                                         i->type->ref == kXmlElement)) {
        flush();
        CollectText(*i->type, i->type->ref, blocks, current, depth + 1);
        flush();
      }
    }
    return;
  }
  if (ref == kXmlElement || ref == kXmlFragment) {
    if (ref == kXmlElement && type.name == "hardBreak") {
      current += '\n';
      return;
    }
    bool direct_text = false;
    for (Item* i = type.start; i != nullptr; i = i->right) {
      if (i->deleted || i->content != kType) continue;
      // A text with attributes is a block of its own (Lexical); a plain one is inline text.
      bool block = i->type->ref == kXmlText && !i->type->map.empty();
      direct_text |= i->type->ref == kXmlText && !block;
      if (block) flush();
      CollectText(*i->type, i->type->ref, blocks, current, depth + 1);
      if (block) flush();
    }
    if (direct_text) flush();
  }
}

}  // namespace lbmirror::yjs
