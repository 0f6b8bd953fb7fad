// Benchmark 2 of issue #11 for the KMIP locker: one Get of a key from PyKMIP
// over mutual TLS on 127.0.0.1, two ways:
//   ours        keyring_locker's KmipClient::Get on its kept-alive connection
//               (request built, sent, response parsed and checked)
//   raw_floor   the same request bytes written on one OpenSSL connection in
//               a loop and the response read, nothing parsed: the floor
// PyKMIP has no delay fault, so only the loopback round trip is measured.
// Run: build/bin/kmip_roundtrip_bench [--requests N] (starts its own PyKMIP).
// Prints one JSON object per line, as roundtrip_bench does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/kmip/kmip_messages.h"
#include "tests/integration/pykmip_fixture.h"

namespace keyring_locker {
namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "kmip_roundtrip_bench: %s\n", why.c_str());
  std::exit(1);
}

// One mutual-TLS connection, verified against the server's CA; blocking I/O.
class RawTls {
 public:
  RawTls(const testing::PyKmipServer& server) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_load_verify_locations(ctx_, server.ca_file().c_str(), nullptr) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx_, server.client_cert().c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, server.client_key().c_str(), SSL_FILETYPE_PEM) != 1) {
      Die("raw TLS: could not load the CA or the client certificate");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("raw TLS: connect failed");
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) Die("raw TLS: handshake failed");
  }
  ~RawTls() {
    SSL_free(ssl_);
    close(fd_);
    SSL_CTX_free(ctx_);
  }
  // Writes the request, reads one TTLV message (8-byte header, then its length).
  bool RoundTrip(const uint8_t* request, size_t size, std::vector<uint8_t>* response) {
    if (SSL_write(ssl_, request, static_cast<int>(size)) != static_cast<int>(size)) return false;
    uint8_t header[8];
    if (!ReadAll(header, 8)) return false;
    const uint32_t length = (uint32_t{header[4]} << 24) | (uint32_t{header[5]} << 16) | (uint32_t{header[6]} << 8) |
                            header[7];
    if (length > (1u << 20)) return false;
    response->resize(length);
    return ReadAll(response->data(), length);
  }

 private:
  bool ReadAll(uint8_t* out, size_t n) {
    while (n > 0) {
      const int got = SSL_read(ssl_, out, static_cast<int>(n));
      if (got <= 0) return false;
      out += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

// Runs `one` once, appending its latency; returns it in seconds.
double Time(const std::function<bool()>& one, std::vector<double>* us) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!one()) Die("a Get failed");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  us->push_back(s * 1e6);
  return s;
}

void Report(const char* client, std::vector<double> us, double wall) {
  std::sort(us.begin(), us.end());
  const int n = static_cast<int>(us.size());
  // requests_per_s: from the time inside this client's requests only.
  std::printf(
      "{\"locker\": \"kmip\", \"request\": \"get_key\", \"client\": \"%s\", \"delay_ms\": 0, \"n\": %d, "
      "\"p50_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f, \"requests_per_s\": %.1f, \"tls_handshakes\": 1}\n",
      client, n, Percentile(us, 0.5), Percentile(us, 0.99), wall * 1e6 / n, n / wall);
  std::fflush(stdout);
}

int Run(int requests) {
  auto server = testing::PyKmipServer::Start();
  if (!server) Die("PyKMIP did not start (apt-get install python3-pykmip)");
  KmipOptions o;
  o.transport.servers = {server->host() + ":" + std::to_string(server->port())};
  o.transport.ca_file = server->ca_file();
  o.transport.cert_file = server->client_cert();
  o.transport.key_file = server->client_key();
  auto opened = kmip::KmipClient::Open(o);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<kmip::KmipClient> client = std::move(opened).value();
  kmip::KeyAttributes key;
  key.name = "roundtrip-bench";
  auto uid = client->Create(key);
  if (!uid.ok() || !client->Activate(*uid).ok()) Die("could not create and activate a key");
  auto version = client->Version();
  if (!version.ok()) Die(version.status().ToString());
  kmip::RequestOptions ro;
  ro.version = *version;
  auto request = kmip::BuildGetRequest(ro, *uid);
  if (!request.ok()) Die(request.status().ToString());

  // Alternating request by request (ours, floor, ours, ...): PyKMIP's speed
  // drifts over a run (Python, SQLite), and measuring one side after the
  // other charged that drift to whichever went first (a 2x difference that
  // swapped with the order).
  RawTls raw(*server);
  std::vector<uint8_t> response;
  std::vector<double> ours_us, floor_us;
  double ours_s = 0, floor_s = 0;
  auto ours = [&] { return client->Get(*uid).ok(); };
  auto floor = [&] { return raw.RoundTrip(request->data(), request->size(), &response); };
  if (!ours() || !floor()) Die("a warm-up Get failed");
  for (int i = 0; i < requests; ++i) {
    ours_s += Time(ours, &ours_us);
    floor_s += Time(floor, &floor_us);
  }
  Report("ours", ours_us, ours_s);
  Report("raw_floor", floor_us, floor_s);
  return 0;
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) {
  int requests = 300;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && std::strcmp(argv[i], "--requests") == 0) {
      requests = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: kmip_roundtrip_bench [--requests N]\n");
      return 2;
    }
  }
  if (requests < 1) return 2;
  return keyring_locker::Run(requests);
}
