#pragma once
// Result<T> and Status: the one error type used everywhere in certvault.
//
// An Error carries the HTTP class it belongs to (kind), the Key Vault-style error code shown to
// API callers (for example "CertificateNotFound") and a human message. Messages never contain
// secrets, keys or tokens. Retryable errors (unavailable peers, timeouts) are distinct from
// terminal ones so that callers can decide whether to try again.

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace certvault {

enum class ErrorKind {
  kBadRequest,        // 400: the caller's input is wrong
  kUnauthorized,      // 401: no or invalid credentials
  kForbidden,         // 403: authenticated, but not allowed
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kConflict,          // 409: the object's state forbids the operation
  kPayloadTooLarge,   // 413
  kTooManyRequests,   // 429
  kInternal,          // 500: a bug or a broken invariant
  kUnavailable,       // 503: a dependency is down; worth retrying
};

class Error {
 public:
  Error(ErrorKind kind, std::string code, std::string message)
      : kind_(kind), code_(std::move(code)), message_(std::move(message)) {}

  static Error BadParameter(std::string message) {
    return {ErrorKind::kBadRequest, "BadParameter", std::move(message)};
  }
  static Error NotFound(std::string code, std::string message) {
    return {ErrorKind::kNotFound, std::move(code), std::move(message)};
  }
  static Error Conflict(std::string message) {
    return {ErrorKind::kConflict, "Conflict", std::move(message)};
  }
  static Error Unauthorized(std::string message) {
    return {ErrorKind::kUnauthorized, "Unauthorized", std::move(message)};
  }
  static Error Forbidden(std::string message) {
    return {ErrorKind::kForbidden, "Forbidden", std::move(message)};
  }
  static Error Internal(std::string message) {
    return {ErrorKind::kInternal, "InternalError", std::move(message)};
  }
  static Error Unavailable(std::string message) {
    return {ErrorKind::kUnavailable, "ServiceUnavailable", std::move(message)};
  }

  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const {
    return kind_ == ErrorKind::kUnavailable || kind_ == ErrorKind::kTooManyRequests;
  }
  int http_status() const;

  // Returns a copy whose message is prefixed with `context: `.
  Error WithContext(const std::string& context) const {
    Error e{kind_, code_, context + ": " + message_};
    e.inner_code_ = inner_code_;
    return e;
  }

  // Key Vault's finer-grained code (rendered as "innererror"), e.g. "SecretDisabled".
  const std::string& inner_code() const { return inner_code_; }
  Error WithInnerCode(std::string inner) && {
    inner_code_ = std::move(inner);
    return std::move(*this);
  }

 private:
  ErrorKind kind_;
  std::string code_;
  std::string message_;
  std::string inner_code_;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> Fail(Error e) { return tl::unexpected<Error>(std::move(e)); }
inline Status Ok() { return {}; }

}  // namespace certvault

#define CV_CONCAT_INNER_(a, b) a##b
#define CV_CONCAT_(a, b) CV_CONCAT_INNER_(a, b)

// Returns the error of `expr` (a Result or Status) from the enclosing function.
#define CV_RETURN_IF_ERROR(expr)                                   \
  do {                                                             \
    auto&& cv_status_ = (expr);                                    \
    if (!cv_status_) return ::certvault::Fail(cv_status_.error()); \
  } while (0)

// `CV_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its error.
#define CV_ASSIGN_OR_RETURN(lhs, expr) \
  CV_ASSIGN_OR_RETURN_IMPL_(CV_CONCAT_(cv_result_, __LINE__), lhs, expr)
#define CV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)             \
  auto tmp = (expr);                                          \
  if (!tmp) return ::certvault::Fail(std::move(tmp).error()); \
  lhs = std::move(*tmp)
