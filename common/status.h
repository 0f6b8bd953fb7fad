// Status / StatusOr: the result types every keyring_locker layer returns.
// Modelled on absl::Status so code reads the same, but header-only so the
// server plugins do not drag Abseil's shared libraries into mysqld/mariadbd.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace keyring_locker {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // caller or config error: fix the input
  kNotFound,           // the locker has no such key/document
  kAlreadyExists,      // create-only write met an existing document
  kPermissionDenied,   // 403: token lacks a policy
  kUnauthenticated,    // no/expired token, login failed
  kFailedPrecondition, // state forbids it (sealed, wrong mount kind, ...)
  kUnavailable,        // transient: connect/TLS/5xx/timeout, worth a retry
  kDeadlineExceeded,   // wall-time budget used up
  kResourceExhausted,  // 429, size caps
  kDataLoss,           // corrupt or malformed data from the locker
  kInternal,           // a bug or an OpenSSL/libcurl failure
};

const char* CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: key 'x' ..." - never contains key bytes or tokens by construction:
  // callers must only put names, paths and numbers into messages.
  std::string ToString() const {
    return ok() ? std::string("OK") : std::string(CodeName(code_)) + ": " + message_;
  }
  // Prefix context while keeping the code: "fetching key 7: " + inner message.
  Status Annotate(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
inline Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
inline Status Unauthenticated(std::string m) { return Status(Code::kUnauthenticated, std::move(m)); }
inline Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
inline Status DeadlineExceeded(std::string m) { return Status(Code::kDeadlineExceeded, std::move(m)); }
inline Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
inline Status DataLoss(std::string m) { return Status(Code::kDataLoss, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

inline const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "INVALID_ARGUMENT";
    case Code::kNotFound: return "NOT_FOUND";
    case Code::kAlreadyExists: return "ALREADY_EXISTS";
    case Code::kPermissionDenied: return "PERMISSION_DENIED";
    case Code::kUnauthenticated: return "UNAUTHENTICATED";
    case Code::kFailedPrecondition: return "FAILED_PRECONDITION";
    case Code::kUnavailable: return "UNAVAILABLE";
    case Code::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case Code::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case Code::kDataLoss: return "DATA_LOSS";
    case Code::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

// A value or the Status explaining why there is none. Works with move-only T
// (SecureBuffer). Accessing value() of a non-ok StatusOr is a bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status s) : status_(std::move(s)) { assert(!status_.ok() && "StatusOr needs a value or an error"); }
  StatusOr(T value) : value_(std::move(value)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace keyring_locker

// Early-return helpers, as in absl/status.
#define KLK_CONCAT_INNER(a, b) a##b
#define KLK_CONCAT(a, b) KLK_CONCAT_INNER(a, b)
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::keyring_locker::Status klk_status_ = (expr);     \
    if (!klk_status_.ok()) return klk_status_;         \
  } while (0)
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(KLK_CONCAT(klk_sor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
