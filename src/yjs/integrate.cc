// Decoding an update into the model and integrating its structs as Yjs applies an update to an
// empty document: the YATA ordering of sequence items by their left and right origins, items
// whose dependencies come later held until they arrive, and the delete set.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "core/text.h"
#include "yjs/model.h"

namespace lbmirror::yjs {

uint64_t Utf16Length(std::string_view s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<uint8_t>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

std::pair<std::string, std::string> SplitUtf16(std::string_view s, uint64_t offset) {
  uint64_t units = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (units == offset) return {std::string(s.substr(0, i)), std::string(s.substr(i))};
    if (width == 4 && units + 1 == offset) {
      return {std::string(s.substr(0, i)) + "\xEF\xBF\xBD",
              "\xEF\xBF\xBD" + std::string(s.substr(std::min(s.size(), i + 4)))};
    }
    units += width == 4 ? 2 : 1;
    i += width;
  }
  return {std::string(s), std::string()};
}

void Document::Impl::ReadContent(Reader& r, Item& item, uint8_t info) {
  item.content = static_cast<Content>(info & 0x1F);
  switch (item.content) {
    case kDeleted:
      item.length = r.VarUint();
      item.deleted = true;
      break;
    case kJson:
    case kAny: {
      uint64_t count = r.VarUint();
      if (count == 0) Fail("empty JSON content");
      for (uint64_t i = 0; i < count; ++i) {
        item.values.push_back(item.content == kJson ? r.JsonText() : r.Any());
      }
      item.length = count;
      break;
    }
    case kBinary:
      item.str = std::string(r.Bytes());
      item.length = 1;
      break;
    case kString:
      item.str = r.String();
      item.length = Utf16Length(item.str);
      if (item.length == 0) Fail("empty string content");
      break;
    case kEmbed:
      item.values.push_back(r.JsonText());
      item.length = 1;
      break;
    case kFormat:
      item.str = r.String();
      item.values.push_back(r.JsonText());
      item.length = 1;
      break;
    case kType: {
      item.type = std::make_unique<Type>();
      uint64_t ref = r.VarUint();
      if (ref > kXmlText) Fail(Cat("unknown type reference ", ref));
      item.type->ref = static_cast<TypeRef>(ref);
      if (ref == kXmlElement || ref == kXmlHook) item.type->name = r.String();
      item.length = 1;
      break;
    }
    case kDoc:
      item.str = r.String();
      item.values.push_back(r.Any());
      item.length = 1;
      break;
    default:
      Fail(Cat("unknown content kind ", int(info & 0x1F), " at byte ", r.offset()));
  }
}

void Document::Impl::ReadUpdate(std::string_view update) {
  Reader r(update, limits.max_depth);
  std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>> pending;
  uint64_t clients = r.VarUint();
  for (uint64_t c = 0; c < clients; ++c) {
    uint64_t count = r.VarUint();
    uint64_t client = r.VarUint();
    uint64_t clock = r.VarUint();
    if (count > update.size()) Fail("struct count past the end of the update");
    auto& list = pending[client];
    if (!list.empty()) Fail(Cat("client ", client, " appears twice"));
    for (uint64_t i = 0; i < count; ++i) {
      if (++structs > limits.max_structs) Fail("too many structs");
      uint8_t info = r.Byte();
      if ((info & 0x1F) == 10) {  // skip: a gap in this client's clocks
        clock += r.VarUint();
        continue;
      }
      auto item = std::make_unique<Item>();
      item->id = {client, clock};
      if ((info & 0x1F) == 0) {  // GC
        item->length = r.VarUint();
        item->deleted = true;
      } else {
        if (info & 0x80) item->origin = Id{r.VarUint(), r.VarUint()};
        if (info & 0x40) item->right_origin = Id{r.VarUint(), r.VarUint()};
        if ((info & 0xC0) == 0) {
          if (r.VarUint() == 1) {
            item->parent_key = r.String();
          } else {
            item->parent_id = Id{r.VarUint(), r.VarUint()};
          }
          if (info & 0x20) item->parent_sub = r.String();
        }
        ReadContent(r, *item, info);
      }
      if (item->length == 0) Fail("struct of length 0");
      if (clock + item->length < clock) Fail("clock overflow");
      clock += item->length;
      list.push_back(std::move(item));
    }
  }
  IntegrateAll(pending);
  ApplyDeleteSet(r);
  if (!r.done()) Fail(Cat("unexpected bytes after the delete set at byte ", r.offset()));
}

Type* Document::Impl::Root(const std::string& name) {
  auto& root = roots[name];
  if (!root) root = std::make_unique<Type>();
  return root.get();
}

uint64_t Document::Impl::State(uint64_t client) const {
  auto it = store.find(client);
  return it == store.end() || it->second.empty() ? 0 : it->second.back()->end();
}

Item* Document::Impl::Find(const Id& id) {
  auto it = store.find(id.client);
  if (it == store.end()) return nullptr;
  auto& items = it->second;
  auto pos =
      std::upper_bound(items.begin(), items.end(), id.clock,
                       [](uint64_t clock, const auto& item) { return clock < item->id.clock; });
  if (pos == items.begin()) return nullptr;
  Item* item = std::prev(pos)->get();
  return id.clock < item->end() ? item : nullptr;
}

// Splits `item` after `diff` units; returns the right part (already linked and stored).
Item* Document::Impl::Split(Item* item, uint64_t diff) {
  auto right = std::make_unique<Item>();
  right->id = {item->id.client, item->id.clock + diff};
  right->length = item->length - diff;
  right->origin = Id{item->id.client, item->id.clock + diff - 1};
  right->right_origin = item->right_origin;
  right->parent_sub = item->parent_sub;
  right->parent = item->parent;
  right->deleted = item->deleted;
  right->content = item->content;
  switch (item->content) {
    case kString: {
      auto [left_text, right_text] = SplitUtf16(item->str, diff);
      item->str = std::move(left_text);
      right->str = std::move(right_text);
      break;
    }
    case kJson:
    case kAny:
      right->values.assign(std::make_move_iterator(item->values.begin() + diff),
                           std::make_move_iterator(item->values.end()));
      item->values.resize(diff);
      break;
    case kDeleted:
    case kGc:
      break;
    default:
      Fail("an origin points inside content that cannot be split");
  }
  item->length = diff;
  right->left = item;
  right->right = item->right;
  if (right->right != nullptr) right->right->left = right.get();
  item->right = right.get();
  if (right->right == nullptr && right->parent_sub && right->parent != nullptr) {
    right->parent->map[*right->parent_sub] = right.get();
  }
  Item* raw = right.get();
  auto& items = store[item->id.client];
  auto pos = std::upper_bound(items.begin(), items.end(), item->id.clock,
                              [](uint64_t clock, const auto& i) { return clock < i->id.clock; });
  items.insert(pos, std::move(right));
  return raw;
}

Item* Document::Impl::CleanStart(const Id& id) {
  Item* item = Find(id);
  if (item == nullptr) Fail("a right origin points to a missing struct");
  if (item->content == kGc || id.clock == item->id.clock) return item;
  return Split(item, id.clock - item->id.clock);
}

Item* Document::Impl::CleanEnd(const Id& id) {
  Item* item = Find(id);
  if (item == nullptr) Fail("an origin points to a missing struct");
  if (item->content == kGc || id.clock + 1 == item->end()) return item;
  Split(item, id.clock - item->id.clock + 1);
  return item;
}

void Document::Impl::Integrate(std::unique_ptr<Item> owned) {
  Item* item = owned.get();
  store[item->id.client].push_back(std::move(owned));
  if (item->content == kGc) return;
  Item* left = item->origin ? CleanEnd(*item->origin) : nullptr;
  Item* right = item->right_origin ? CleanStart(*item->right_origin) : nullptr;
  Type* parent = nullptr;
  bool to_gc = (left && left->content == kGc) || (right && right->content == kGc);
  if (!to_gc) {
    if (item->parent_key) {
      parent = Root(*item->parent_key);
    } else if (item->parent_id) {
      Item* holder = Find(*item->parent_id);
      if (holder == nullptr) Fail("a parent points to a missing struct");
      if (holder->content == kType) parent = holder->type.get();
    } else if (left != nullptr) {
      parent = left->parent;
      item->parent_sub = left->parent_sub;
    } else if (right != nullptr) {
      parent = right->parent;
      item->parent_sub = right->parent_sub;
    } else {
      Fail("an item without origin or parent");
    }
  }
  if (parent == nullptr) {  // its parent is gone: keep only the clock range, as Yjs does
    item->content = kGc;
    item->values.clear();
    item->str.clear();
    item->type.reset();
    item->deleted = true;
    return;
  }
  item->parent = parent;
  const std::string* sub = item->parent_sub ? &*item->parent_sub : nullptr;
  auto first_of = [&]() -> Item* {
    if (sub == nullptr) return parent->start;
    auto it = parent->map.find(*sub);
    Item* r = it == parent->map.end() ? nullptr : it->second;
    while (r != nullptr && r->left != nullptr) r = r->left;
    return r;
  };
  // YATA: among items inserted between the same origins, order by origin then client id.
  if ((left == nullptr && (right == nullptr || right->left != nullptr)) ||
      (left != nullptr && left->right != right)) {
    Item* o = left != nullptr ? left->right : first_of();
    std::unordered_set<Item*> conflicting, before_origin;
    while (o != nullptr && o != right) {
      before_origin.insert(o);
      conflicting.insert(o);
      if (SameId(item->origin, o->origin)) {
        if (o->id.client < item->id.client) {
          left = o;
          conflicting.clear();
        } else if (SameId(item->right_origin, o->right_origin)) {
          break;
        }
      } else if (o->origin && before_origin.count(Find(*o->origin))) {
        if (!conflicting.count(Find(*o->origin))) {
          left = o;
          conflicting.clear();
        }
      } else {
        break;
      }
      o = o->right;
    }
  }
  item->left = left;
  if (left != nullptr) {
    right = left->right;
    left->right = item;
  } else {
    right = first_of();
    if (sub == nullptr) parent->start = item;
  }
  item->right = right;
  if (right != nullptr) {
    right->left = item;
  } else if (sub != nullptr) {
    parent->map[*sub] = item;
    if (left != nullptr) left->deleted = true;  // the previous value of this key
  }
  if ((parent->item != nullptr && parent->item->deleted) || (sub != nullptr && right != nullptr)) {
    item->deleted = true;
  }
  if (item->content == kType) item->type->item = item;
}

// Integrates every struct once its origins and parent exist, each client in clock order.
void Document::Impl::IntegrateAll(
    std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>>& pending) {
  std::unordered_map<uint64_t, size_t> next;
  std::vector<uint64_t> clients;
  clients.reserve(pending.size());
  for (auto& [client, items] : pending) clients.push_back(client);
  std::sort(clients.begin(), clients.end(), std::greater<>());
  auto unmet = [&](const Item& item) -> std::optional<Id> {
    for (const std::optional<Id>& dep : {item.origin, item.right_origin, item.parent_id}) {
      if (dep && State(dep->client) <= dep->clock) return dep;
    }
    return std::nullopt;
  };
  for (uint64_t first : clients) {
    std::vector<uint64_t> stack = {first};
    std::unordered_set<uint64_t> on_stack = {first};
    while (!stack.empty()) {
      uint64_t client = stack.back();
      auto& items = pending[client];
      size_t& index = next[client];
      if (index >= items.size()) {
        stack.pop_back();
        on_stack.erase(client);
        continue;
      }
      Item& item = *items[index];
      if (item.id.clock < State(client)) Fail("overlapping structs");
      if (auto missing = unmet(item)) {
        auto other = pending.find(missing->client);
        if (missing->client == client || other == pending.end() ||
            next[missing->client] >= other->second.size() || on_stack.count(missing->client)) {
          Fail(Cat("struct ", item.id.client, ":", item.id.clock, " depends on ", missing->client,
                   ":", missing->clock, ", which is not in the update"));
        }
        stack.push_back(missing->client);
        on_stack.insert(missing->client);
        continue;
      }
      Integrate(std::move(items[index]));
      ++index;
      // Return to the struct that was waiting for this one before going further here.
      if (stack.size() > 1) {
        on_stack.erase(client);
        stack.pop_back();
      }
    }
  }
}

void Document::Impl::ApplyDeleteSet(Reader& r) {
  uint64_t clients = r.VarUint();
  for (uint64_t c = 0; c < clients; ++c) {
    uint64_t client = r.VarUint();
    uint64_t ranges = r.VarUint();
    for (uint64_t i = 0; i < ranges; ++i) {
      uint64_t clock = r.VarUint();
      uint64_t length = r.VarUint();
      uint64_t end = clock + length;
      if (end < clock) Fail("delete range overflow");
      auto it = store.find(client);
      if (it == store.end()) continue;
      for (uint64_t at = clock; at < end;) {
        Item* item = Find({client, at});
        if (item == nullptr) {  // a gap (skipped range): move to the next stored struct
          auto& items = it->second;
          auto pos = std::upper_bound(items.begin(), items.end(), at,
                                      [](uint64_t k, const auto& x) { return k < x->id.clock; });
          if (pos == items.end()) break;
          at = (*pos)->id.clock;
          continue;
        }
        if (item->content != kGc && item->id.clock < at) item = Split(item, at - item->id.clock);
        if (item->content != kGc && item->end() > end) Split(item, end - item->id.clock);
        item->deleted = true;
        at = item->end();
      }
    }
  }
}

}  // namespace lbmirror::yjs
