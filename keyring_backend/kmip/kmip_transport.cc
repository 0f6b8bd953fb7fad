// KmipTransport over OpenSSL: one persistent connection behind a mutex,
// failover across the configured servers when a connection has to be made,
// and the delivery bookkeeping callers need to re-send safely.
#include "keyring_backend/kmip/kmip_transport.h"

#include <openssl/crypto.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/kmip/kmip_resolver.h"
#include "keyring_backend/kmip/kmip_tls_connection.h"
#include "keyring_backend/kmip/kmip_tls_setup.h"

namespace keyring_locker::kmip {
namespace {

using internal::BoundedResolver;
using internal::ServerAddress;
using internal::SslCtxPtr;
using internal::TlsConnection;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint8_t kStructureType = 0x01;

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Which limit ends a wait: the call's OperationDeadline or one of ours
// (connect_timeout, io_timeout). Running into the first is the caller's
// budget (kDeadlineExceeded); into ours, a slow server (kUnavailable).
struct CallClock {
  std::optional<Clock::time_point> call = OperationDeadline::Current();
  Clock::time_point Cut(Clock::time_point limit) const { return call && *call < limit ? *call : limit; }
  bool CallEndsFirst(Clock::time_point limit) const { return call && *call <= limit; }
  bool CallOver() const { return call && Clock::now() >= *call; }
};

Status CheckRequestFrame(const crypto::SecureBuffer& request) {
  if (request.size() < kKmipHeaderBytes) {
    return InvalidArgument("KMIP request of " + std::to_string(request.size()) +
                           " bytes is shorter than a message header; this is a bug in the caller");
  }
  const uint32_t announced = ReadBigEndian32(request.data() + 4);
  if (request.data()[3] != kStructureType || announced != request.size() - kKmipHeaderBytes) {
    return InvalidArgument("KMIP request is not exactly one framed message (type byte " +
                           std::to_string(request.data()[3]) + ", announced length " +
                           std::to_string(announced) + ", " + std::to_string(request.size()) +
                           " bytes in all); this is a bug in the caller");
  }
  return Status::Ok();
}

// One caller at a time on the connection; a caller waiting gives up at its
// own deadline (a server call must not wait out another thread's budget).
// A mutex and a condition variable rather than std::timed_mutex and
// LockWithinDeadline: timed_mutex::try_lock_until(steady_clock) is
// pthread_mutex_clocklock, which TSan (GCC 12) does not intercept, so TSan
// would lose track of the lock and of everything it guards.
class Turnstile {
 public:
  // False when `deadline` passed first.
  bool Enter(const std::optional<Clock::time_point>& deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    auto free = [this] { return !busy_; };
    if (!deadline) {
      cv_.wait(lock, free);
    } else if (!cv_.wait_until(lock, *deadline, free)) {
      return false;
    }
    busy_ = true;
    return true;
  }
  void Leave() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false;
};

class TurnstilePass {
 public:
  TurnstilePass(Turnstile* t, const std::optional<Clock::time_point>& deadline)
      : turnstile_(t->Enter(deadline) ? t : nullptr) {}
  ~TurnstilePass() {
    if (turnstile_ != nullptr) turnstile_->Leave();
  }
  TurnstilePass(const TurnstilePass&) = delete;
  TurnstilePass& operator=(const TurnstilePass&) = delete;
  bool entered() const { return turnstile_ != nullptr; }

 private:
  Turnstile* turnstile_;
};

class TlsKmipTransport final : public KmipTransport {
 public:
  TlsKmipTransport(const KmipTransportOptions& options, std::vector<ServerAddress> servers, SslCtxPtr ctx)
      : options_(options),
        servers_(std::move(servers)),
        ctx_(std::move(ctx)),
        warning_(internal::TransportWarning(options)) {}

  StatusOr<crypto::SecureBuffer> RoundTrip(const crypto::SecureBuffer& request, Delivery* delivery) override {
    Delivery ignored;
    Delivery& fate = delivery != nullptr ? *delivery : ignored;
    fate = Delivery::kNotSent;
    requests_.fetch_add(1, std::memory_order_relaxed);
    StatusOr<crypto::SecureBuffer> result = Exchange(request, &fate);
    if (!result.ok()) errors_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  KmipTransportStats stats() const override {
    KmipTransportStats s;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.connects = connects_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.failovers = failovers_.load(std::memory_order_relaxed);
    s.errors = errors_.load(std::memory_order_relaxed);
    const int active = active_.load(std::memory_order_relaxed);
    if (active >= 0) s.active_server = servers_[static_cast<size_t>(active)].configured;
    return s;
  }

  const std::string& warning() const override { return warning_; }
  std::string Describe() const override { return internal::DescribeTransport(options_); }

 private:
  StatusOr<crypto::SecureBuffer> Exchange(const crypto::SecureBuffer& request, Delivery* fate);
  // Inside the turnstile: a connection that can take a request, reused when healthy.
  Status EnsureConnection(const CallClock& clock, bool* reused);
  Status Connect(const CallClock& clock);
  void Drop() {
    if (conn_) replacing_ = true;
    conn_.reset();
  }
  // A failure of the open connection, named after its server.
  // `doing` says when (for timeouts), `detail` what was seen (for the rest).
  Status ExchangeError(const Status& s, const std::string& doing, Clock::time_point limit,
                       const CallClock& clock, Delivery fate, const std::string& detail = "") const;
  std::string ServerName(size_t i) const {
    return "KMIP server " + servers_[i].configured;
  }

  const KmipTransportOptions options_;
  const std::vector<ServerAddress> servers_;
  const SslCtxPtr ctx_;
  const std::string warning_;

  Turnstile turnstile_;  // one request at a time on the one connection; guards what follows
  std::unique_ptr<TlsConnection> conn_;  // guarded by turnstile_
  size_t conn_server_ = 0;               // guarded by turnstile_: servers_ index of conn_
  Clock::time_point last_used_{};        // guarded by turnstile_
  size_t preferred_ = 0;                 // guarded by turnstile_: the server that last worked
  bool replacing_ = false;               // guarded by turnstile_: one was dropped since the last connect
  BoundedResolver resolver_;             // guarded by turnstile_

  std::atomic<uint64_t> requests_{0}, connects_{0}, reconnects_{0}, failovers_{0}, errors_{0};
  std::atomic<int> active_{-1};
};

Status TlsKmipTransport::EnsureConnection(const CallClock& clock, bool* reused) {
  *reused = false;
  if (conn_) {
    const bool idle = options_.idle_reconnect.count() > 0 &&
                      Clock::now() - last_used_ >= options_.idle_reconnect;
    if (!idle && conn_->Usable()) {
      *reused = true;
      return Status::Ok();
    }
    // Closed by the server while idle, or idle long enough that a firewall
    // may have forgotten it: nothing was sent on it, so replace it quietly.
    Drop();
  }
  return Connect(clock);
}

Status TlsKmipTransport::Connect(const CallClock& clock) {
  const size_t n = servers_.size();
  std::string failures;
  auto note = [&](size_t i, const std::string& address, const Status& s) {
    failures += (failures.empty() ? "" : "; then ") + ServerName(i) +
                (address.empty() || address == servers_[i].host ? "" : " (" + address + ")") + ": " +
                s.message();
  };
  auto budget_gone = [&] {
    return DeadlineExceeded("the call's time budget ran out before a KMIP server was connected" +
                            (failures.empty() ? std::string() : " (" + failures + ")") +
                            "; check the servers' health or raise the call budget");
  };
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (preferred_ + k) % n;
    const ServerAddress& server = servers_[i];
    if (clock.CallOver()) return budget_gone();
    const Clock::time_point lookup_limit = Clock::now() + options_.connect_timeout;
    auto addresses = resolver_.Resolve(server.host, server.port, clock.Cut(lookup_limit));
    if (!addresses.ok()) {
      if (addresses.status().code() == Code::kDeadlineExceeded && clock.CallEndsFirst(lookup_limit)) {
        note(i, "", addresses.status());
        return budget_gone();
      }
      note(i, "", addresses.status().code() == Code::kDeadlineExceeded
                      ? Unavailable("name lookup took longer than " + options_.option_prefix +
                                    "connect_timeout=" + std::to_string(options_.connect_timeout.count()) +
                                    "ms; check this host's DNS")
                      : addresses.status());
      continue;
    }
    const internal::PeerIdentity peer = internal::PeerFor(server, options_);
    for (const internal::ResolvedAddress& address : *addresses) {
      const Clock::time_point limit = Clock::now() + options_.connect_timeout;
      auto opened = TlsConnection::Open(ctx_.get(), address, peer, options_.option_prefix, clock.Cut(limit));
      if (opened.ok()) {
        conn_ = std::move(opened).value();
        conn_server_ = i;
        last_used_ = Clock::now();
        preferred_ = i;
        active_.store(static_cast<int>(i), std::memory_order_relaxed);
        connects_.fetch_add(1, std::memory_order_relaxed);
        if (k > 0) failovers_.fetch_add(1, std::memory_order_relaxed);
        if (replacing_) reconnects_.fetch_add(1, std::memory_order_relaxed);
        replacing_ = false;
        return Status::Ok();
      }
      const Status& s = opened.status();
      if (s.code() == Code::kDeadlineExceeded) {
        if (clock.CallEndsFirst(limit)) {
          note(i, address.text, s);
          return budget_gone();
        }
        note(i, address.text, Unavailable(s.message() + " after " + options_.option_prefix +
                                          "connect_timeout=" +
                                          std::to_string(options_.connect_timeout.count()) + "ms"));
      } else {
        note(i, address.text, s);
      }
    }
  }
  return Unavailable("no KMIP server could be connected: " + failures + " (the request was not sent)");
}

Status TlsKmipTransport::ExchangeError(const Status& s, const std::string& doing, Clock::time_point limit,
                                       const CallClock& clock, Delivery fate,
                                       const std::string& detail) const {
  const std::string maybe = fate == Delivery::kMaybeDelivered
                                ? "; the request may have reached the server and taken effect"
                                : "; the request did not reach the server";
  const std::string server = ServerName(conn_server_);
  if (s.code() == Code::kDeadlineExceeded) {
    if (clock.CallEndsFirst(limit)) {
      return DeadlineExceeded("the call's time budget ran out " + doing + " (" + server + ")" + maybe);
    }
    return Unavailable(server + " did not respond within " + options_.option_prefix + "io_timeout=" +
                       std::to_string(options_.io_timeout.count()) + "ms " + doing +
                       " (overloaded or hung?)" + maybe);
  }
  return Status(s.code(), server + ": " + s.message() + (detail.empty() ? "" : ", " + detail) + maybe);
}

StatusOr<crypto::SecureBuffer> TlsKmipTransport::Exchange(const crypto::SecureBuffer& request,
                                                         Delivery* fate) {
  RETURN_IF_ERROR(CheckRequestFrame(request));
  const CallClock clock;
  const TurnstilePass pass(&turnstile_, clock.call);
  if (!pass.entered()) {
    // Name the server the busy connection talks to: a hung server is what
    // usually keeps the connection busy, and the operator needs its name.
    const int active = active_.load(std::memory_order_relaxed);
    const std::string busy = active >= 0 ? " to " + ServerName(static_cast<size_t>(active)) : "";
    return DeadlineExceeded("the call's time budget ran out while waiting for the KMIP connection" + busy +
                            ", which other threads were using (the request was not sent)");
  }

  if (clock.CallOver()) {
    return DeadlineExceeded("the call's time budget was used up before the KMIP request could be "
                            "sent (the request was not sent)");
  }
  Clock::time_point io_limit{};
  // At most one quiet retry: a reused connection whose write fails was
  // closed by the server between our check and the write; nothing complete
  // reached it, so the request goes once more on a fresh connection.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    RETURN_IF_ERROR(EnsureConnection(clock, &reused));
    io_limit = Clock::now() + options_.io_timeout;
    const Status sent = conn_->WriteAll(request.data(), request.size(), clock.Cut(io_limit));
    if (sent.ok()) break;
    const Status error = ExchangeError(sent, "while sending the request", io_limit, clock, *fate);
    Drop();
    if (reused && attempt == 0 && sent.code() != Code::kDeadlineExceeded) continue;
    return error;
  }
  *fate = Delivery::kMaybeDelivered;

  auto fail = [&](const Status& s, const std::string& doing, const std::string& detail) {
    Status error = ExchangeError(s, doing, io_limit, clock, *fate, detail);
    Drop();  // the stream is out of step: nothing more may be read from it
    return error;
  };
  uint8_t header[kKmipHeaderBytes];
  size_t got = 0;
  Status read = conn_->ReadExactly(header, sizeof header, clock.Cut(io_limit), &got);
  if (!read.ok()) {
    if (conn_->peer_refused_handshake()) {
      // TLS 1.3: the server checks the client certificate after our side
      // of the handshake ended and never reads what followed it.
      *fate = Delivery::kNotSent;
      const Status refused = Unavailable(ServerName(conn_server_) + ": " + read.message() +
                                         "; the server refused this client's certificate: set " +
                                         options_.option_prefix + "cert_file and " +
                                         options_.option_prefix + "key_file to a client "
                                         "certificate issued by a CA the KMIP server trusts");
      Drop();
      return refused;
    }
    return fail(read, "while waiting for the response",
                got == 0 ? "" : "after " + std::to_string(got) + " bytes of the response header");
  }
  const uint32_t length = ReadBigEndian32(header + 4);
  if (header[3] != kStructureType || length % 8 != 0) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", header[3]);
    return fail(DataLoss("the response does not start with a KMIP message header (type byte " +
                         std::string(type) + ", length " + std::to_string(length) +
                         "); is this port a KMIP server?"),
                "reading the response", "");
  }
  if (length > options_.max_message_bytes - kKmipHeaderBytes) {
    const Status too_big = ResourceExhausted(
        ServerName(conn_server_) + " announced a response of " +
        std::to_string(length + kKmipHeaderBytes) + " bytes, more than " + options_.option_prefix +
        "max_message_bytes=" + std::to_string(options_.max_message_bytes) +
        "; it was not read (raise the limit if the server legitimately sends that much); the "
        "request reached the server");
    Drop();
    return too_big;
  }
  crypto::SecureBuffer response(kKmipHeaderBytes + length);
  std::memcpy(response.data(), header, sizeof header);
  read = conn_->ReadExactly(response.data() + kKmipHeaderBytes, length, clock.Cut(io_limit), &got);
  if (!read.ok()) {
    return fail(read, "while reading the response",
                "after " + std::to_string(kKmipHeaderBytes + got) + " of the " +
                          std::to_string(kKmipHeaderBytes + length) +
                          " bytes the response announced (truncated)");
  }
  last_used_ = Clock::now();
  return response;
}

}  // namespace

StatusOr<std::unique_ptr<KmipTransport>> KmipTransport::Create(const KmipTransportOptions& options) {
  std::vector<ServerAddress> servers;
  RETURN_IF_ERROR(internal::CheckTransportOptions(options, &servers));
  ASSIGN_OR_RETURN(SslCtxPtr ctx, internal::BuildClientTlsContext(options));
  return std::unique_ptr<KmipTransport>(new TlsKmipTransport(options, std::move(servers), std::move(ctx)));
}

}  // namespace keyring_locker::kmip
