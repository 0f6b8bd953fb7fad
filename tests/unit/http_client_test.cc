// HttpClient over libcurl against in-process plain-http servers
// (allow_plain_http exists for exactly this).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "keyring_backend/http/curl_http_client.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/vault/vault_leader_routing.h"
#include "tests/unit/http_test_server.h"

namespace keyring_locker {
namespace {

using std::chrono::milliseconds;
using testing::DroppingServer;
using testing::TestServer;
using testing::UnusedPort;
using Clock = std::chrono::steady_clock;

const char kToken[] = "hvs.UNIT-TEST-TOKEN-must-not-leak";

HttpOptions Opts(std::vector<std::string> endpoints) {
  HttpOptions o;
  o.endpoints = std::move(endpoints);
  o.allow_plain_http = true;
  o.connect_timeout = milliseconds(500);
  o.total_timeout = milliseconds(3000);
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(50);
  return o;
}

std::unique_ptr<HttpClient> MustCreate(HttpOptions o) {
  auto c = HttpClient::Create(std::move(o));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

HttpRequest Get(const std::string& path) {
  HttpRequest r;
  r.path = path;
  r.headers = {{"X-Vault-Token", kToken}};
  return r;
}

long long MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

TEST(HttpClient, SendsHeadersAndBodyAndReturnsAnswer) {
  TestServer s;
  std::string token, ns, content_type, body;
  s.server().Post("/v1/echo", [&](const httplib::Request& req, httplib::Response& res) {
    token = req.get_header_value("X-Vault-Token");
    ns = req.get_header_value("X-Vault-Namespace");
    content_type = req.get_header_value("Content-Type");
    body = req.body;
    res.set_content(R"({"data":{"ok":true}})", "application/json");
  });
  s.Start();
  HttpOptions o = Opts({s.url()});
  o.fixed_headers = {{"X-Vault-Namespace", "team-a/"}};  // sent on every request
  auto client = MustCreate(o);
  HttpRequest req = Get("/v1/echo");
  req.method = "POST";
  req.body = R"({"plaintext":"AAAA"})";
  auto r = client->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"data":{"ok":true}})");
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->endpoint, "http://127.0.0.1:" + std::to_string(s.port()));
  EXPECT_EQ(token, kToken);
  EXPECT_EQ(ns, "team-a/");
  EXPECT_EQ(content_type, "application/json");
  EXPECT_EQ(body, R"({"plaintext":"AAAA"})");
  EXPECT_EQ(client->stats().requests, 1u);
}

TEST(HttpClient, EachMethodUsesItsVerb) {
  TestServer s;
  std::vector<std::string> methods;
  std::mutex mu;
  // Pre-routing records every request whatever its route.
  s.server().set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu);
    methods.push_back(req.method + (req.has_param("list") ? "?list=" + req.get_param_value("list") : ""));
    res.status = 204;
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  for (const char* m : {"DELETE", "GET", "PUT", "POST", "LIST"}) {
    HttpRequest req = Get("/v1/x");
    req.method = m;
    auto r = client->Send(req);
    ASSERT_TRUE(r.ok()) << m << ": " << r.status().ToString();
    EXPECT_EQ(r->status, 204) << m;
  }
  EXPECT_EQ(methods, (std::vector<std::string>{"DELETE", "GET", "PUT", "POST", "GET?list=true"}));
  HttpRequest bad = Get("/v1/x");
  bad.method = "PATCH";
  EXPECT_EQ(client->Send(bad).status().code(), Code::kInvalidArgument);
}

TEST(HttpClient, Retries503ThenSucceeds) {
  TestServer s;
  std::atomic<int> hits{0};
  s.server().Get("/v1/flaky", [&](const httplib::Request&, httplib::Response& res) {
    res.status = (hits++ == 0) ? 503 : 200;
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  auto r = client->Send(Get("/v1/flaky"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(hits.load(), 2);
  EXPECT_EQ(client->stats().retries, 1u);
}

TEST(HttpClient, RetriesRunOutReturnsLastRetryableAnswer) {
  TestServer s;
  std::atomic<int> hits{0};
  s.server().Get("/v1/sealed", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 503;
  });
  s.Start();
  HttpOptions o = Opts({s.url()});
  o.max_retries = 2;
  auto client = MustCreate(o);
  auto r = client->Send(Get("/v1/sealed"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(hits.load(), 3);
}

TEST(HttpClient, OtherStatusesAreReturnedAtOnce) {
  TestServer s;
  std::atomic<int> hits{0};
  s.server().Get("/v1/denied", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 403;
    res.set_content(R"({"errors":["permission denied"]})", "application/json");
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  auto r = client->Send(Get("/v1/denied"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(hits.load(), 1);
}

TEST(HttpClient, FailsOverFromRefusingEndpointAndSticksToTheWorkingOne) {
  TestServer s;
  s.server().Get("/v1/ok", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Start();
  const std::string dead = "http://127.0.0.1:" + std::to_string(UnusedPort());
  auto client = MustCreate(Opts({dead, s.url()}));
  auto r = client->Send(Get("/v1/ok"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->endpoint, "http://127.0.0.1:" + std::to_string(s.port()));
  EXPECT_EQ(client->stats().failovers, 1u);
  EXPECT_EQ(client->stats().active_endpoint, r->endpoint);
  // Sticky: the next call starts at the endpoint that worked.
  auto again = client->Send(Get("/v1/ok"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->attempts, 1);
  EXPECT_EQ(client->stats().failovers, 1u);
}

TEST(HttpClient, EachEndpointIsTriedOnceEvenWithoutRetries) {
  // Failover to a configured endpoint not yet tried in this call is not a
  // retry: a dead URL must not use up the retries of the live ones.
  TestServer s;
  s.server().Get("/v1/ok", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Start();
  HttpOptions o = Opts({"http://127.0.0.1:" + std::to_string(UnusedPort()), s.url()});
  o.max_retries = 0;
  auto client = MustCreate(o);
  auto r = client->Send(Get("/v1/ok"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST(HttpClient, AnHttpAnswerIsReportedRatherThanALaterDeadEndpoint) {
  // A sealed active node and a dead standby: the caller must hear "503
  // sealed", not the standby's connection error.
  TestServer s;
  s.server().Get("/v1/ok", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content(R"({"errors":["Vault is sealed"]})", "application/json");
  });
  s.Start();
  HttpOptions o = Opts({s.url(), "http://127.0.0.1:" + std::to_string(UnusedPort())});
  o.max_retries = 1;
  auto client = MustCreate(o);
  auto r = client->Send(Get("/v1/ok"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("sealed"), std::string::npos);
}

TEST(HttpClient, NoEndpointAnswersGivesUnavailableWithoutToken) {
  auto client = MustCreate(Opts({"http://127.0.0.1:" + std::to_string(UnusedPort())}));
  auto r = client->Send(Get("/v1/ok"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect to"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("locker.urls"), std::string::npos);
  EXPECT_EQ(r.status().message().find(kToken), std::string::npos);
  EXPECT_EQ(client->stats().errors, 1u);
}

TEST(HttpClient, HonoursRetryAfterOn429) {
  TestServer s;
  std::atomic<int> hits{0};
  s.server().Get("/v1/quota", [&](const httplib::Request&, httplib::Response& res) {
    if (hits++ == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
    }
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  const auto t0 = Clock::now();
  auto r = client->Send(Get("/v1/quota"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_GE(MsSince(t0), 950);
  EXPECT_LT(MsSince(t0), 2000);
}

TEST(HttpClient, RetryAfterBeyondBudgetFailsFast) {
  TestServer s;
  s.server().Get("/v1/quota", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "30");
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  const auto t0 = Clock::now();
  auto r = client->Send(Get("/v1/quota"));
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(MsSince(t0), 1000);
}

TEST(HttpClient, BudgetExhaustionIsDeadlineExceededOnTime) {
  TestServer s;
  s.server().Get("/v1/hang", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(1500));
  });
  s.Start();
  HttpOptions o = Opts({s.url()});
  o.connect_timeout = milliseconds(200);
  o.total_timeout = milliseconds(600);
  auto client = MustCreate(o);
  const auto t0 = Clock::now();
  auto r = client->Send(Get("/v1/hang"));
  const long long took = MsSince(t0);
  ASSERT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("timeouts.total_ms=600"), std::string::npos);
  EXPECT_GE(took, 550);
  EXPECT_LT(took, 600 + 300);  // slack for a loaded CI machine
}

TEST(HttpClient, FollowsRedirectToConfiguredEndpoint) {
  TestServer standby, active;
  std::atomic<int> active_hits{0};
  active.server().Get("/v1/k", [&](const httplib::Request& req, httplib::Response& res) {
    ++active_hits;
    res.set_content(req.get_header_value("X-Vault-Token") == kToken ? "yes" : "no", "text/plain");
  });
  active.Start();
  standby.server().Get("/v1/k", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", active.url() + "/v1/k");
  });
  standby.Start();
  auto client = MustCreate(Opts({standby.url(), active.url()}));
  auto r = client->Send(Get("/v1/k"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "yes");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->endpoint, "http://127.0.0.1:" + std::to_string(active.port()));
  EXPECT_EQ(active_hits.load(), 1);
}

// A Vault standby forwards unless the client says X-Vault-No-Request-
// Forwarding; then it answers 307 to the active node. With several URLs the
// client says so, follows the 307 and keeps the leader as active endpoint.
TEST(HttpClient, SeveralVaultUrlsFollowTheLeaderNotTheForwardingStandby) {
  TestServer standby, active;
  std::atomic<int> active_hits{0}, forwarded{0};
  active.server().Get("/v1/k", [&](const httplib::Request&, httplib::Response& res) {
    ++active_hits;
    res.set_content("from the leader", "text/plain");
  });
  active.Start();
  standby.server().Get("/v1/k", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value(kVaultNoForwardingHeader) == "true") {
      res.status = 307;
      res.set_header("Location", active.url() + "/v1/k");
      return;
    }
    ++forwarded;  // Vault would forward over its cluster port
    res.set_content("forwarded by the standby", "text/plain");
  });
  standby.Start();
  auto cluster = MustCreate(WithVaultLeaderRedirects(Opts({standby.url(), active.url()})));
  for (int i = 0; i < 2; ++i) {
    auto r = cluster->Send(Get("/v1/k"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "from the leader");
  }
  EXPECT_EQ(cluster->stats().active_endpoint, "http://127.0.0.1:" + std::to_string(active.port()));
  EXPECT_EQ(active_hits.load(), 2);  // the second request went to the leader at once
  EXPECT_EQ(forwarded.load(), 0);

  // One URL (a load balancer): no header, the standby forwards.
  auto single = MustCreate(WithVaultLeaderRedirects(Opts({standby.url()})));
  auto r = single->Send(Get("/v1/k"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "forwarded by the standby");
  EXPECT_EQ(forwarded.load(), 1);
}

TEST(HttpClient, RefusesRedirectToUnconfiguredHost) {
  TestServer standby, stranger;
  std::atomic<int> stranger_hits{0};
  stranger.server().Get("/v1/k", [&](const httplib::Request&, httplib::Response&) { ++stranger_hits; });
  stranger.Start();
  standby.server().Get("/v1/k", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", stranger.url() + "/v1/k");
  });
  standby.Start();
  auto client = MustCreate(Opts({standby.url()}));
  auto r = client->Send(Get("/v1/k"));
  ASSERT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not in locker.urls"), std::string::npos);
  EXPECT_NE(r.status().message().find(std::to_string(stranger.port())), std::string::npos);
  EXPECT_EQ(r.status().message().find(kToken), std::string::npos);
  EXPECT_EQ(stranger_hits.load(), 0);
}

TEST(HttpClient, OversizedBodyIsResourceExhausted) {
  TestServer s;
  s.server().Get("/v1/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(64 * 1024, 'x'), "text/plain");
  });
  s.Start();
  HttpOptions o = Opts({s.url()});
  o.max_response_bytes = 4096;
  auto client = MustCreate(o);
  auto r = client->Send(Get("/v1/big"));
  ASSERT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("limits.max_response_bytes=4096"), std::string::npos);
  // A body just under the cap passes.
  o.max_response_bytes = 64 * 1024;
  auto roomy = MustCreate(o);
  auto ok = roomy->Send(Get("/v1/big"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body.size(), 64u * 1024);
}

TEST(HttpClient, NonIdempotentIsNotResentAfterItMayHaveArrived) {
  DroppingServer s;
  HttpOptions o = Opts({s.url()});
  auto client = MustCreate(o);
  HttpRequest post = Get("/v1/transit/keys/k/rotate");
  post.method = "POST";
  post.body = "{}";
  post.idempotent = false;
  auto r = client->Send(post);
  ASSERT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not re-sent"), std::string::npos) << r.status().message();
  EXPECT_EQ(s.requests(), 1);
  // The same drop on an idempotent request is retried (1 + max_retries).
  auto get = client->Send(Get("/v1/x"));
  EXPECT_EQ(get.status().code(), Code::kUnavailable);
  EXPECT_EQ(s.requests(), 1 + 1 + o.max_retries);
}

TEST(HttpClient, NonIdempotentIsNotResentAfterTimeout) {
  TestServer s;
  std::atomic<int> hits{0};
  s.server().Post("/v1/slow", [&](const httplib::Request&, httplib::Response& res) {
    if (hits++ == 0) std::this_thread::sleep_for(milliseconds(1200));
  });
  s.Start();
  HttpOptions o = Opts({s.url()});
  o.total_timeout = milliseconds(2000);  // one attempt may take 1000 ms
  auto client = MustCreate(o);
  HttpRequest post = Get("/v1/slow");
  post.method = "POST";
  post.body = "{}";
  post.idempotent = false;
  auto r = client->Send(post);
  ASSERT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_EQ(hits.load(), 1);
  // Idempotent: the first attempt times out, the retry within budget succeeds.
  hits = 0;
  post.idempotent = true;
  auto ok = client->Send(post);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->attempts, 2);
  EXPECT_EQ(hits.load(), 2);
}

TEST(HttpClient, ReusesTheConnection) {
  TestServer s;
  std::mutex mu;
  std::vector<int> ports;
  s.server().Get("/v1/ok", [&](const httplib::Request& req, httplib::Response&) {
    std::lock_guard<std::mutex> l(mu);
    ports.push_back(req.remote_port);
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Send(Get("/v1/ok")).ok());
  ASSERT_EQ(ports.size(), 5u);
  // Same client port on every request = one TCP connection for all five.
  EXPECT_EQ(std::set<int>(ports.begin(), ports.end()).size(), 1u);
}

TEST(HttpClient, ConcurrentSendsFromEightThreads) {
  TestServer s;
  std::mutex mu;
  std::set<int> ports;
  std::atomic<int> hits{0};
  s.server().Get(R"(/v1/n/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    {
      std::lock_guard<std::mutex> l(mu);
      ports.insert(req.remote_port);
    }
    res.set_content(req.matches[1].str(), "text/plain");
  });
  s.Start();
  auto client = MustCreate(Opts({s.url()}));
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t * 1000 + i);
        auto r = client->Send(Get("/v1/n/" + n));
        if (!r.ok() || r->status != 200 || r->body != n) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(hits.load(), kThreads * kPerThread);
  EXPECT_EQ(client->stats().requests, static_cast<uint64_t>(kThreads * kPerThread));
  // Pooled handles keep connections: far fewer connections than requests.
  EXPECT_LE(ports.size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace keyring_locker
