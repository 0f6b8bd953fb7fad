// A fake HttpClient that replays canned replies, one per request, and an
// Authenticator that accepts one refresh: shared by the VaultLocker fuzz
// target and the unit tests that replay what it found.
//
// Replies are text: records separated by "\n%%\n", each "NNN\n<body>"
// (NNN = HTTP status; 000 = transport error; no status = 200).
#pragma once

#include <cstdlib>
#include <deque>
#include <string>

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker {
namespace fuzz {

struct Reply {
  long status;
  std::string body;
};

inline std::deque<Reply> SplitReplies(const std::string& text) {
  std::deque<Reply> out;
  static const std::string kSep = "\n%%\n";
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(kSep, pos);
    std::string rec = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    Reply r{200, rec};
    if (rec.size() >= 3 && rec.find_first_not_of("0123456789") >= 3) {
      r.status = std::strtol(rec.substr(0, 3).c_str(), nullptr, 10);
      r.body = rec.size() > 3 ? rec.substr(rec[3] == '\n' ? 4 : 3) : "";
    }
    out.push_back(std::move(r));
    if (end == std::string::npos) break;
    pos = end + kSep.size();
  }
  return out;
}

class ReplayHttpClient : public HttpClient {
 public:
  explicit ReplayHttpClient(std::deque<Reply> replies) : replies_(std::move(replies)) {
    options_.endpoints = {"https://fuzz.invalid:8200"};
  }
  StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    if (replies_.empty()) return Unavailable("no more fuzzed replies");
    Reply r = std::move(replies_.front());
    replies_.pop_front();
    if (r.status == 0) return Unavailable("fuzzed transport error");
    HttpResponse resp;
    resp.status = r.status;
    resp.body = std::move(r.body);
    resp.endpoint = options_.endpoints[0];
    resp.attempts = 1;
    return resp;
  }
  HttpStats stats() const override { return {}; }
  const HttpOptions& options() const override { return options_; }

 private:
  std::deque<Reply> replies_;
  HttpOptions options_;
};

// Accepts one refresh, so the 403 -> refresh -> retry path is reachable.
class OneRefreshAuth : public Authenticator {
 public:
  Status Login() override { return Status::Ok(); }
  std::string Token() const override { return refreshed_ ? "fuzz-token-2" : "fuzz-token-1"; }
  Status Refresh(const std::string&) override {
    if (refreshed_) return PermissionDenied("already refreshed");
    refreshed_ = true;
    return Status::Ok();
  }
  void StartRenewal() override {}
  void StopRenewal() override {}
  AuthInfo info() const override { return {}; }

 private:
  bool refreshed_ = false;
};

}  // namespace fuzz
}  // namespace keyring_locker
