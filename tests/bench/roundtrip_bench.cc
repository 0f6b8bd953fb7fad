// Benchmark 2 of issue #11: one key-fetch round trip to the locker, three
// ways, against the dev locker over TLS on 127.0.0.1 with its delay fault
// simulating the network (0, 1, 5 ms added to every request):
//   ours        keyring_locker's HttpClient: kept-alive connections, reused
//   new_tls     a fresh curl easy handle per request, so a new TCP + TLS
//               connection each time (what MariaDB's hashicorp_key_management
//               and Percona's Vault keyring do)
//   curl_floor  one curl easy handle reused in a loop: the same request with
//               nothing of ours around it, the floor
// for two requests: a KV read of a key document (GET secret/data/...) and a
// Transit decrypt (POST transit/decrypt/...), the two of a cache miss.
// With --locker real-vault the same requests go to a real Vault 1.14.8
// (scripts/real_vault.sh builds it; tests/vault/real_vault.py starts it): no
// delay fault there, so loopback only, and the handshakes are not counted
// (Vault keeps no such counter; the rows say -1).
// With --locker aws-kms: a KMS Decrypt (the unwrap of a cache miss with the
// AWS KMS wrapper) against moto over HTTPS (tests/aws/moto_server.py), the
// same three clients (curl signing with its own SigV4); loopback only.
// Run: build/bin/roundtrip_bench [--requests N] [--delays 0,1,5]
//                               [--locker devlocker|real-vault|aws-kms]
// Prints one JSON object per line (bench/run reads them).
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "keyring_backend/http/http_client.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/moto_fixture.h"
#include "tests/integration/real_vault_fixture.h"

namespace keyring_locker {
namespace {

struct Request {
  std::string kind;    // "kv_read" / "transit_decrypt"
  std::string method;  // GET / POST
  std::string path;    // "/v1/..."
  std::string body;
};

size_t Discard(char*, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(size * n, '\0');
  return size * n;
}

// Options every curl client here sets: the same TLS verification as ours,
// the locker's headers, and for AWS curl's own SigV4 signing.
struct CurlSetup {
  std::string url_base, ca_file, sigv4, userpwd;
  curl_slist* headers = nullptr;
  CurlSetup(std::string url, std::string ca, const std::vector<std::string>& header_lines)
      : url_base(std::move(url)), ca_file(std::move(ca)) {
    for (const auto& h : header_lines) headers = curl_slist_append(headers, h.c_str());
  }
  ~CurlSetup() { curl_slist_free_all(headers); }
  bool Perform(CURL* h, const Request& r, std::string* body) const {
    const std::string url = url_base + r.path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!sigv4.empty()) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      curl_easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
    }
    if (r.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
    } else {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    long status = 0;
    return curl_easy_perform(h) == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
           status == 200;
  }
};

struct Result {
  std::vector<double> us;
  double wall_s = 0;
  bool ok = true;
};

// Appends `n` timed calls to `r`.
void Measure(int n, const std::function<bool()>& one, Result* r) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n && r->ok; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    r->ok = one();
    r->us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  r->wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "roundtrip_bench: %s\n", why.c_str());
  std::exit(1);
}

std::vector<int> ParseDelays(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

using Client = std::pair<std::string, std::function<bool()>>;

// The two curl clients of every row: a new connection per request (what
// MariaDB's and Percona's Vault clients do), and one handle kept alive (the
// floor). They refer to `curl`, `reused` and `req`, which must outlive them.
void AddCurlClients(const CurlSetup& curl, CURL* reused, const Request& req, std::vector<Client>* clients) {
  clients->emplace_back("new_tls", [&curl, &req] {
    CURL* h = curl_easy_init();
    std::string body;
    const bool ok = curl.Perform(h, req, &body);
    curl_easy_cleanup(h);
    return ok;
  });
  clients->emplace_back("curl_floor", [&curl, reused, &req] {
    std::string body;
    return curl.Perform(reused, req, &body);
  });
}

// The rows of one request: a warm-up call per client (the reused clients
// connect there, not inside the measurement), then `requests` timed calls
// per client in kRounds chunks taken in turn (ours, new TLS, floor, ours,
// ...), so a slow second of the shared machine hits every client alike
// instead of whichever ran then; one JSON line per client. `handshakes`
// counts the server's TLS handshakes where it can (nullptr: it cannot).
constexpr int kRounds = 10;

void MeasureAndPrint(const std::string& locker, const std::string& kind, int delay, int requests,
                     const std::vector<Client>& clients, const std::function<int()>& handshakes) {
  std::vector<Result> results(clients.size());
  std::vector<int> made(clients.size(), 0);
  for (const auto& client : clients) client.second();
  for (int round = 0; round < kRounds; ++round) {
    const int chunk = requests / kRounds + (round < requests % kRounds ? 1 : 0);
    for (size_t c = 0; c < clients.size(); ++c) {
      const int before = handshakes ? handshakes() : 0;
      Measure(chunk, clients[c].second, &results[c]);
      // Less 1: the stats request that reads the count makes a connection (and a handshake) of its own.
      if (handshakes) made[c] += handshakes() - before - 1;
      if (!results[c].ok) Die(clients[c].first + " " + kind + " failed at delay " + std::to_string(delay) + " ms");
    }
  }
  for (size_t c = 0; c < clients.size(); ++c) {
    Result& r = results[c];
    std::sort(r.us.begin(), r.us.end());
    std::printf(
        "{\"locker\": \"%s\", \"request\": \"%s\", \"client\": \"%s\", \"delay_ms\": %d, \"n\": %d, "
        "\"p50_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f, \"requests_per_s\": %.1f, "
        "\"tls_handshakes\": %d}\n",
        locker.c_str(), kind.c_str(), clients[c].first.c_str(), delay, requests, Percentile(r.us, 0.50),
        Percentile(r.us, 0.99), r.wall_s * 1e6 / requests, requests / r.wall_s, handshakes ? made[c] : -1);
  }
  std::fflush(stdout);
}

// KMS Decrypt against moto: what the AWS KMS wrapper sends to unwrap a key.
int RunAwsKms(int requests) {
  if (!testing::MotoServer::Installed()) {
    std::fprintf(stderr, "roundtrip_bench: moto is not installed (scripts/deps.sh installs it)\n");
    return 3;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string error;
  auto moto = testing::MotoServer::Start(&error);
  if (!moto) Die("moto did not start: " + error);
  auto client = moto->NewClient();
  const std::string key = moto->CreateKey();
  if (!client || key.empty()) Die("no KMS client or key");
  // 32 bytes of 'A', base64: the plaintext of a data key.
  auto enc = client->Call("Encrypt",
                          nlohmann::json{{"KeyId", key}, {"Plaintext", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}}.dump(),
                          key);
  if (!enc.ok()) Die("KMS Encrypt: " + enc.status().ToString());
  const Request req{"kms_decrypt", "POST", "/",
                    nlohmann::json{{"KeyId", key}, {"CiphertextBlob", enc->body["CiphertextBlob"]}}.dump()};
  CurlSetup curl(moto->url(), moto->ca_file(),
                 {"X-Amz-Target: TrentService.Decrypt", "Content-Type: application/x-amz-json-1.1"});
  curl.sigv4 = "aws:amz:us-east-1:kms";
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  curl.userpwd = std::string(id ? id : "") + ":" + (secret ? secret : "");
  CURL* reused = curl_easy_init();
  std::vector<Client> clients = {{"ours", [&] { return client->Call("Decrypt", req.body, key).ok(); }}};
  AddCurlClients(curl, reused, req, &clients);
  MeasureAndPrint("aws_kms", req.kind, 0, requests, clients, nullptr);
  curl_easy_cleanup(reused);
  return 0;
}

// The locker under measurement: the dev locker (with its delay fault and
// handshake counter) or a real Vault (neither).
struct Target {
  std::string name;  // "vault" (dev locker) / "real_vault"
  std::unique_ptr<testing::DevLocker> dev;
  std::unique_ptr<testing::RealVault> real;
  std::string url() const { return dev ? dev->url() : real->url(); }
  std::string ca_file() const { return dev ? dev->ca_file() : real->ca_file(); }
  std::string token() const { return dev ? dev->root_token() : real->root_token(); }
  testing::DevLocker::Reply Call(const std::string& method, const std::string& path, const nlohmann::json& body) {
    return dev ? dev->Call(method, path, body) : real->Call(method, path, body);
  }
  int Handshakes() { return dev ? dev->Stats().value("tls_handshakes", 0) : -1; }
};

int Run(int requests, std::vector<int> delays, const std::string& which) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Target locker;
  if (which == "real-vault") {
    if (!testing::RealVault::Installed()) Die("no real Vault binary: run scripts/real_vault.sh");
    locker.name = "real_vault";
    locker.real = testing::RealVault::Start();
    if (!locker.real) Die("the real Vault did not start (tests/vault/real_vault.py)");
    delays = {0};  // no delay fault in a real server
  } else {
    locker.name = "vault";
    locker.dev = testing::DevLocker::Start();
    if (!locker.dev) Die("the dev locker did not start (build the devlocker target)");
  }
  const std::string token = locker.token();
  // A key document and a Transit ciphertext to fetch and unwrap.
  if (locker.Call("POST", "secret/data/bench/doc", {{"data", {{"wrapped", std::string(120, 'w')}}}}).status != 200) {
    Die("could not write the KV document");
  }
  auto enc = locker.Call("POST", "transit/encrypt/bench", {{"plaintext", std::string(44, 'A')}});
  if (enc.status != 200) Die("could not encrypt with Transit");
  const std::string ciphertext = enc.body["data"]["ciphertext"].get<std::string>();
  const std::vector<Request> kinds = {
      {"kv_read", "GET", "/v1/secret/data/bench/doc", ""},
      {"transit_decrypt", "POST", "/v1/transit/decrypt/bench", nlohmann::json{{"ciphertext", ciphertext}}.dump()},
  };

  HttpOptions ho;
  ho.endpoints = {locker.url()};
  ho.tls.ca_file = locker.ca_file();
  auto client = HttpClient::Create(ho);
  if (!client.ok()) Die(client.status().ToString());
  CurlSetup curl(locker.url(), locker.ca_file(), {"X-Vault-Token: " + token, "Content-Type: application/json"});
  CURL* reused = curl_easy_init();

  for (int delay : delays) {
    if (locker.dev) locker.dev->ClearFaults();
    if (delay > 0) {
      for (const char* prefix : {"secret/", "transit/"}) {
        locker.dev->InjectFault({{"action", "delay"}, {"delay_ms", delay}, {"path_prefix", prefix}});
      }
    }
    for (const Request& req : kinds) {
      std::vector<Client> clients = {{"ours", [&] {
                                         HttpRequest r;
                                         r.method = req.method;
                                         r.path = req.path;
                                         r.body = req.body;
                                         r.headers = {{"X-Vault-Token", token}};
                                         auto resp = (*client)->Send(r);
                                         return resp.ok() && resp->status == 200;
                                       }}};
      AddCurlClients(curl, reused, req, &clients);
      MeasureAndPrint(locker.name, req.kind, delay, requests, clients,
                      locker.dev ? std::function<int()>([&] { return locker.Handshakes(); }) : nullptr);
    }
  }
  curl_easy_cleanup(reused);
  return 0;
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) {
  int requests = 300;
  std::vector<int> delays = {0, 1, 5};
  std::string locker = "devlocker";
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && std::strcmp(argv[i], "--requests") == 0) {
      requests = std::atoi(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--delays") == 0) {
      delays = keyring_locker::ParseDelays(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--locker") == 0 &&
               (std::strcmp(argv[i + 1], "devlocker") == 0 || std::strcmp(argv[i + 1], "real-vault") == 0 ||
                std::strcmp(argv[i + 1], "aws-kms") == 0)) {
      locker = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: roundtrip_bench [--requests N] [--delays 0,1,5] [--locker devlocker|real-vault|aws-kms]\n");
      return 2;
    }
  }
  if (requests < 1 || delays.empty()) return 2;
  if (locker == "aws-kms") return keyring_locker::RunAwsKms(requests);
  return keyring_locker::Run(requests, delays, locker);
}
