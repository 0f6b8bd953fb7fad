#include "devlocker/respond.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace devlocker {

namespace {
const char* kJson = "application/json";

// Streams `body` but stops (returning false makes httplib close the socket)
// after `limit` bytes, writing `chunk` bytes per call with `pause_ms` between.
void StreamBody(httplib::Response& res, Faults& faults, std::string body, size_t limit,
                size_t chunk, int pause_ms) {
  auto shared = std::make_shared<std::string>(std::move(body));
  const size_t total = shared->size();
  res.body.clear();
  res.set_content_provider(
      total, kJson, [shared, limit, chunk, pause_ms, &faults](size_t offset, size_t length, httplib::DataSink& sink) {
        if (offset >= limit) return false;
        if (pause_ms > 0 && offset > 0 && !faults.Sleep(pause_ms)) return false;
        size_t n = std::min({length, chunk, limit - offset});
        return sink.write(shared->data() + offset, n);
      });
}
}  // namespace

void WriteReply(const Reply& reply, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& h : reply.headers) res.set_header(h.first, h.second);
  if (reply.raw_body) {
    res.set_content(*reply.raw_body, kJson);
  } else if (reply.status != 204) {
    // replace: a stored string with broken UTF-8 must not abort the reply.
    res.set_content(reply.body.dump(-1, ' ', false, json::error_handler_t::replace), kJson);
  }
}

bool ApplyFaultBefore(const Fault& f, Faults& faults, const httplib::Request& req,
                      httplib::Response& res) {
  if (f.action == "status") {
    Reply r = Error(f.status, "devlocker injected fault: status " + std::to_string(f.status));
    if (f.retry_after > 0) r.headers.emplace_back("Retry-After", std::to_string(f.retry_after));
    WriteReply(r, res);
    return true;
  }
  if (f.action == "delay" || f.action == "hang") {
    if (faults.Sleep(f.delay_ms)) return false;
    WriteReply(Error(503, "devlocker is shutting down"), res);
    return true;
  }
  if (f.action == "drop") {
    // httplib 0.11 has no API to abort a connection from a handler, so shut
    // the socket down under it: the client sees the connection closed with
    // no response, and httplib's own write then fails and closes the socket.
    if (req.ssl) ::shutdown(SSL_get_fd(req.ssl), SHUT_RDWR);
    res.status = 500;
    return true;
  }
  if (f.action == "redirect") {
    Reply r = Error(f.status, "devlocker injected fault: redirect");
    r.headers.emplace_back("Location", f.location + req.target);
    WriteReply(r, res);
    return true;
  }
  if (f.action == "malformed") {
    res.status = 200;
    res.set_content("{\"request_id\": \"devlocker\", \"data\": {\"keys\": [\"a\", ", kJson);
    return true;
  }
  if (f.action == "oversized") {
    // Valid JSON of exactly size_bytes (at least the fixed wrapper), streamed
    // so the locker does not need the memory itself.
    const std::string head = "{\"data\":{\"padding\":\"";
    const std::string tail = "\"}}";
    const size_t total = std::max<size_t>(static_cast<size_t>(f.size_bytes), head.size() + tail.size());
    const size_t pad_end = total - tail.size();
    res.status = 200;
    res.set_content_provider(total, kJson, [head, tail, total, pad_end](size_t offset, size_t length, httplib::DataSink& sink) {
      std::string chunk;
      size_t end = std::min(total, offset + std::min<size_t>(length, 64 * 1024));
      for (size_t i = offset; i < end; ++i)
        chunk += i < head.size() ? head[i] : (i < pad_end ? 'x' : tail[i - pad_end]);
      return sink.write(chunk.data(), chunk.size());
    });
    return true;
  }
  return false;  // slow, truncate: applied to the finished response
}

void ApplyFaultAfter(const Fault& f, Faults& faults, httplib::Response& res) {
  if (res.body.empty()) return;
  if (f.action == "truncate") {
    // Announce the full Content-Length, send half, then close: the client
    // sees a short read, the way a proxy dying mid-response looks.
    size_t half = res.body.size() / 2;
    StreamBody(res, faults, res.body, half, half, 0);
  } else if (f.action == "slow") {
    size_t total = res.body.size();
    StreamBody(res, faults, res.body, total, 1, f.delay_ms > 0 ? f.delay_ms : 100);
  }
}

}  // namespace devlocker
