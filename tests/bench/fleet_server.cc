// Benchmark 7 of issue #11: one simulated database server of a fleet. It
// opens the real Backend from a config file (its own keys.scope and
// cache.version_refresh_s), makes sure its scope holds K keys (the first
// run creates them), caches the latest version of each, prints one JSON
// line and then sits at rest, as a server does between rotations: only the
// Backend's background threads (version refresh, token renewal) talk to the
// locker. bench/fleet.py starts N of these against one dev locker.
//
//   build/bin/fleet_server --config FILE --keys K [--max-seconds S]
//
// Prints {"ready_ms":..,"keys":..,"cached":..,"created":..} once ready, or
// {"error":"..."} and exits 1. Exits 0 on SIGTERM/SIGINT or after S seconds
// (default 3600: never left behind by a driver that died).
#include <signal.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "keyring_backend/backend.h"

namespace keyring_locker {
namespace {

int Fail(const std::string& why) {
  std::printf("{\"error\":\"%s\"}\n", why.c_str());
  std::fflush(stdout);
  return 1;
}

int Run(const std::string& config_path, int keys, int max_seconds) {
  // Block the stop signals in every thread the Backend starts: sigwait below
  // is the only place they arrive.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  auto config = LoadConfigFile(config_path);
  if (!config.ok()) return Fail("config: " + config.status().ToString());
  auto backend = Backend::Open(*config);
  if (!backend.ok()) return Fail("open: " + backend.status().ToString());
  KeyService& service = (*backend)->keys();
  int created = 0;
  if (service.KnownKeyCount() < static_cast<size_t>(keys)) {
    for (int k = 1; k <= keys; ++k) {
      auto v = service.EnsureKey(std::to_string(k));
      if (!v.ok()) return Fail("ensure key " + std::to_string(k) + ": " + v.status().ToString());
      ++created;
    }
  }
  auto cached = service.WarmLatest(8);
  if (!cached.ok()) return Fail("warm: " + cached.status().ToString());
  const auto ready_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"ready_ms\":%lld,\"keys\":%zu,\"cached\":%zu,\"created\":%d}\n", static_cast<long long>(ready_ms),
              service.KnownKeyCount(), *cached, created);
  std::fflush(stdout);

  timespec limit{max_seconds, 0};
  (void)sigtimedwait(&stop, nullptr, &limit);
  return 0;  // the Backend stops its threads in its destructor
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) {
  std::string config;
  int keys = 10, max_seconds = 3600;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      config = argv[++i];
    } else if (a == "--keys" && has_value) {
      keys = std::atoi(argv[++i]);
    } else if (a == "--max-seconds" && has_value) {
      max_seconds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: fleet_server --config FILE --keys K [--max-seconds S]\n");
      return 2;
    }
  }
  if (config.empty() || keys < 1 || keys > 100000 || max_seconds < 1) {
    std::fprintf(stderr, "fleet_server: --config is required; --keys 1..100000, --max-seconds >= 1\n");
    return 2;
  }
  return keyring_locker::Run(config, keys, max_seconds);
}
