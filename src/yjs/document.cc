// Document: decoding a Yjs update (lib0_reader.h, integrate.cc) and its views (views.cc),
// with every failure (malformed input, nesting past the limit, exhausted memory) turned into
// an Error value. The model they share is model.h.
#include "yjs/document.h"

#include <boost/json.hpp>

#include "core/text.h"
#include "yjs/model.h"

namespace lbmirror::yjs {

namespace {
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
}  // namespace

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
