// The heart of the yjs layer: lib0 decoding, struct integration (the YATA ordering of
// sequence items by their left and right origins, as Yjs applies an update to an empty
// document), the delete set, and the JSON and text views. Malformed input throws DecodeError
// internally; Decode turns it into an Error.
// Over 600 lines (about 900) on purpose: the decoder, the integration and the views all work
// on Item and Type, this file's private model of a document; split across files, that model
// would have to become a header of its own for the sake of the split alone.
#include "yjs/document.h"

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/text.h"

namespace lbmirror::yjs {

namespace json = boost::json;

namespace {

struct DecodeError {
  std::string message;
};

[[noreturn]] void Fail(std::string message) { throw DecodeError{std::move(message)}; }

// Thrown past the depth limit, by the decoder (nested values) and the views (nested types).
struct TooDeep {
  int limit;
};
[[noreturn]] void FailTooDeep(int limit) { throw TooDeep{limit}; }

// Runs a view, turning what it throws into an error value.
template <typename View>
auto Guarded(View view) -> Result<decltype(view())> {
  try {
    return view();
  } catch (const TooDeep& e) {
    return Error(ErrorCode::kTooLarge,
                 Cat("Yjs document nested deeper than ", e.limit, " levels (lbmirror's limit)"));
  } catch (const DecodeError& e) {
    return InvalidArgument("malformed Yjs update: " + e.message);
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::kTooLarge, "Yjs document: out of memory while decoding");
  } catch (const std::exception& e) {  // a container's own size limit, for one
    return Error(ErrorCode::kTooLarge, Cat("Yjs document: ", e.what()));
  }
}

// ---- lib0 encoding -------------------------------------------------------------------------

class Reader {
 public:
  Reader(std::string_view data, int max_depth) : data_(data), max_depth_(max_depth) {}

  size_t offset() const { return pos_; }
  bool done() const { return pos_ >= data_.size(); }

  uint8_t Byte() {
    if (pos_ >= data_.size()) Fail(Cat("unexpected end of update at byte ", pos_));
    return static_cast<uint8_t>(data_[pos_++]);
  }

  uint64_t VarUint() {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = Byte();
      if (shift > 49) Fail(Cat("variable-length integer too long at byte ", pos_));
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return value;
    }
  }

  int64_t VarInt() {
    uint8_t b = Byte();
    uint64_t value = b & 0x3F;
    bool negative = (b & 0x40) != 0;
    for (int shift = 6; b & 0x80; shift += 7) {
      b = Byte();
      if (shift > 49) Fail(Cat("variable-length integer too long at byte ", pos_));
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
    }
    return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  }

  std::string_view Bytes() {
    uint64_t length = VarUint();
    if (length > data_.size() - pos_) Fail(Cat("length ", length, " past the end at byte ", pos_));
    std::string_view out = data_.substr(pos_, length);
    pos_ += length;
    return out;
  }
  // lib0's readVarString decodes with a fatal UTF-8 decoder: yjs refuses such updates too.
  std::string String() {
    size_t start = pos_;
    std::string_view bytes = Bytes();
    if (!IsValidUtf8(bytes)) Fail(Cat("invalid UTF-8 in the string at byte ", start));
    return std::string(bytes);
  }

  template <size_t N>
  std::array<uint8_t, N> Fixed() {
    std::array<uint8_t, N> out;
    for (auto& b : out) b = Byte();
    return out;
  }

  // NaN and the infinities have no JSON form: null, as JSON.stringify writes them.
  static json::value Number(double value) {
    if (!std::isfinite(value)) return nullptr;
    return value;
  }

  // lib0's writeAny format.
  json::value Any(int depth = 0) {
    if (depth > max_depth_) FailTooDeep(max_depth_);
    uint8_t type = Byte();
    switch (type) {
      case 127:  // undefined
      case 126:
        return nullptr;
      case 125:
        return VarInt();
      case 124: {
        auto b = Fixed<4>();
        uint32_t bits =
            (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
        return Number(static_cast<double>(std::bit_cast<float>(bits)));
      }
      case 123: {
        auto b = Fixed<8>();
        uint64_t bits = 0;
        for (uint8_t x : b) bits = (bits << 8) | x;
        return Number(std::bit_cast<double>(bits));
      }
      case 122: {
        auto b = Fixed<8>();
        uint64_t bits = 0;
        for (uint8_t x : b) bits = (bits << 8) | x;
        return static_cast<int64_t>(bits);
      }
      case 121:
        return false;
      case 120:
        return true;
      case 119:
        return json::string(String());
      case 118: {
        uint64_t count = VarUint();
        json::object object;
        for (uint64_t i = 0; i < count; ++i) {
          std::string key = String();
          object[key] = Any(depth + 1);
        }
        return object;
      }
      case 117: {
        uint64_t count = VarUint();
        if (count > data_.size() - pos_) Fail("array length past the end");
        json::array array;
        for (uint64_t i = 0; i < count; ++i) array.push_back(Any(depth + 1));
        return array;
      }
      case 116:
        return json::object{{"$binary", Base64Encode(Bytes())}};
      default:
        Fail(Cat("unknown value type ", int(type), " at byte ", pos_ - 1));
    }
  }

  json::value JsonText() {
    std::string text = String();
    if (text == "undefined") return nullptr;
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = static_cast<size_t>(max_depth_);
    json::value value = json::parse(text, ec, {}, options);
    if (ec == json::error::too_deep) FailTooDeep(max_depth_);
    if (ec) Fail(Cat("invalid JSON content at byte ", pos_));
    return value;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  int max_depth_;
};

// ---- the document model ----------------------------------------------------------------------

enum Content : uint8_t {
  kGc = 0,
  kDeleted = 1,
  kJson = 2,
  kBinary = 3,
  kString = 4,
  kEmbed = 5,
  kFormat = 6,
  kType = 7,
  kAny = 8,
  kDoc = 9,
};
enum TypeRef : uint8_t {
  kArray = 0,
  kMap = 1,
  kText = 2,
  kXmlElement = 3,
  kXmlFragment = 4,
  kXmlHook = 5,
  kXmlText = 6,
  kUnknownRoot = 255,
};

struct Id {
  uint64_t client = 0;
  uint64_t clock = 0;
  bool operator==(const Id&) const = default;
};

struct Type;

struct Item {
  Id id;
  uint64_t length = 0;
  std::optional<Id> origin, right_origin;
  // Parent as written in the update (only when there are no origins).
  std::optional<std::string> parent_key;
  std::optional<Id> parent_id;
  std::optional<std::string> parent_sub;
  Content content = kGc;
  std::string str;                  // kString (UTF-8), kBinary (bytes), kFormat key, kDoc guid
  std::vector<json::value> values;  // kJson / kAny elements; kEmbed / kFormat value
  std::unique_ptr<Type> type;       // kType
  // Integration state.
  Type* parent = nullptr;
  Item* left = nullptr;
  Item* right = nullptr;
  bool deleted = false;

  uint64_t end() const { return id.clock + length; }
  bool countable() const { return content != kDeleted && content != kFormat && content != kGc; }
};

struct Type {
  TypeRef ref = kUnknownRoot;
  std::string name;  // XML element node name or hook name
  Item* start = nullptr;
  std::map<std::string, Item*> map;  // key -> the rightmost (current) item
  Item* item = nullptr;              // the item holding this type; null for roots
};

bool SameId(const std::optional<Id>& a, const std::optional<Id>& b) { return a == b; }

// Number of UTF-16 code units of a UTF-8 string (what Yjs counts as string length).
uint64_t Utf16Length(std::string_view s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<uint8_t>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

// Splits UTF-8 text at a UTF-16 offset. A cut through a surrogate pair leaves U+FFFD on both
// sides, as Yjs does.
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

}  // namespace

struct Document::Impl {
  DecodeLimits limits;
  std::map<std::string, std::unique_ptr<Type>> roots;  // by name: views list roots sorted
  std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>> store;  // by clock
  size_t structs = 0;

  // -- decoding --
  void ReadContent(Reader& r, Item& item, uint8_t info);
  void ReadUpdate(std::string_view update);
  // -- integration --
  Type* Root(const std::string& name);
  Item* Find(const Id& id);
  Item* Split(Item* item, uint64_t diff);
  Item* CleanStart(const Id& id);
  Item* CleanEnd(const Id& id);
  uint64_t State(uint64_t client) const;
  void Integrate(std::unique_ptr<Item> owned);
  void IntegrateAll(std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>>& pending);
  void ApplyDeleteSet(Reader& r);
  // -- views --
  TypeRef RootRef(const Type& type) const;
  json::value TypeJson(const Type& type, TypeRef ref, int depth) const;
  json::value ItemValue(const Item& item, size_t index, int depth) const;
  json::value Delta(const Type& type, int depth) const;
  json::value SequenceJson(const Type& type, int depth) const;
  json::object MapJson(const Type& type, int depth) const;
  void CollectText(const Type& type, TypeRef ref, std::vector<std::string>& blocks,
                   std::string& current, int depth) const;
};

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

// ---- views --------------------------------------------------------------------------------

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

// ---- Document ----------------------------------------------------------------------------

Document::Document(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;

Result<Document> Document::Decode(std::string_view update, const DecodeLimits& limits) {
  if (update.size() > limits.max_update_bytes) {
    return Error(ErrorCode::kTooLarge,
                 Cat("Yjs update of ", update.size(), " bytes is over the limit of ",
                     limits.max_update_bytes));
  }
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  auto read = Guarded([&] {
    impl->ReadUpdate(update);
    return true;
  });
  if (!read) return read.error();
  return Document(std::move(impl));
}

Result<json::value> Document::ToJson() const {
  return Guarded([this]() -> json::value {
    json::object out;
    for (const auto& [name, owned] : impl_->roots) {
      const Type& root = *owned;
      TypeRef ref = impl_->RootRef(root);
      json::value value = impl_->TypeJson(root, ref, 0);
      bool empty = (value.is_object() && value.as_object().empty()) ||
                   (value.is_array() && value.as_array().empty()) ||
                   (value.is_string() && value.as_string().empty());
      if (empty && root.start == nullptr && root.map.empty()) continue;
      out[name] = std::move(value);
    }
    return out;
  });
}

Result<std::string> Document::Text() const {
  return Guarded([this] {
    std::vector<std::string> blocks;
    for (const auto& [name, owned] : impl_->roots) {
      const Type& root = *owned;
      TypeRef ref = impl_->RootRef(root);
      if (ref == kMap || ref == kArray) continue;
      std::string current;
      impl_->CollectText(root, ref, blocks, current, 0);
      if (!current.empty()) blocks.push_back(std::move(current));
    }
    std::string out;
    for (const std::string& block : blocks) {
      if (!out.empty()) out += '\n';
      out += block;
    }
    return out;
  });
}

}  // namespace lbmirror::yjs
