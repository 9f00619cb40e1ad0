// Error values for expected failures: bad input, upstream HTTP errors, lost database
// connections. An Error carries a code, a human message (never a secret), whether a retry
// may succeed, and an optional native code (HTTP status, MySQL errno, SQLite result code).
// Errors are plain values; they are safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lbmirror {
inline namespace core {

enum class ErrorCode {
  kInvalidArgument,  // the input is wrong; retrying the same input cannot help
  kUnauthenticated,  // credentials missing or rejected
  kNotFound,         // the object does not exist
  kUnavailable,      // a dependency is down or overloaded; retry later
  kConflict,         // lost a race (for example a lease was taken over)
  kTooLarge,         // the input exceeds a configured limit
  kInternal,         // a bug or an unexpected answer
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, bool retryable = false, int64_t native = 0)
      : code_(code), message_(std::move(message)), retryable_(retryable), native_(native) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }
  // HTTP status, database errno or similar; 0 when there is none.
  int64_t native() const { return native_; }

  // Returns a copy whose message is "context: message".
  Error WithContext(std::string_view context) const;
  // "unavailable: message" - for logs and the targets table.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  bool retryable_;
  int64_t native_;
};

inline Error InvalidArgument(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}
inline Error Unavailable(std::string message, int64_t native = 0) {
  return Error(ErrorCode::kUnavailable, std::move(message), true, native);
}
inline Error Internal(std::string message) {
  return Error(ErrorCode::kInternal, std::move(message));
}

// Throws std::logic_error naming `error`: the value of a Result that holds an error was asked
// for (a bug; as std::expected throws bad_expected_access).
[[noreturn]] void ThrowBadResultAccess(const Error& error);

}  // namespace core
}  // namespace lbmirror
