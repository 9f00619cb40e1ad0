// Result<T> holds a value or an Error; Status is Result<void>. Both are shaped like
// std::expected (has_value, value, error, operator*, operator->) so the code can move to
// C++23 without churn. Results are [[nodiscard]]: handle the error or pass it up.
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

#include "core/error.h"

namespace lbmirror {
inline namespace core {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return data_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // On an error these throw (as std::expected does), naming the error.
  T& value() & {
    if (!has_value()) ThrowBadResultAccess(std::get<1>(data_));
    return std::get<0>(data_);
  }
  const T& value() const& {
    if (!has_value()) ThrowBadResultAccess(std::get<1>(data_));
    return std::get<0>(data_);
  }
  T&& value() && {
    if (!has_value()) ThrowBadResultAccess(std::get<1>(data_));
    return std::get<0>(std::move(data_));
  }
  const Error& error() const {
    assert(!has_value());
    return std::get<1>(data_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const {
    assert(error_.has_value());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace core
}  // namespace lbmirror

// Returns early with the error of a Status/Result expression.
#define LBMIRROR_RETURN_IF_ERROR(expr)                      \
  do {                                                      \
    auto lbmirror_status_ = (expr);                         \
    if (!lbmirror_status_) return lbmirror_status_.error(); \
  } while (0)

// Always-on check for invariants whose violation could corrupt data.
#define LBMIRROR_CHECK(cond)                                         \
  do {                                                               \
    if (!(cond)) ::lbmirror::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace lbmirror {
inline namespace core {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}  // namespace core
}  // namespace lbmirror
