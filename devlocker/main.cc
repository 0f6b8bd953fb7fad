// devlocker: a Vault-compatible HTTPS server for tests and demos. It keeps
// keys unprotected in memory and in --data; never use it in production.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <httplib.h>

#include "devlocker/locker.h"
#include "devlocker/tls_setup.h"

namespace {

// Debian's cpp-httplib (a compiled library, so its CPPHTTPLIB_LISTEN_BACKLOG
// cannot be changed) listens with a backlog of 5. A client opening 8
// connections at once (the plugin's start-up reads) then had a SYN dropped
// and waited the kernel's 1 s retransmit: a second in every few start-up
// benchmarks that Vault, whose Go listener takes the kernel's maximum, never
// costs. listen() again on the bound socket only raises its backlog.
void RaiseListenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || accepting == 0) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, 4096);  // the kernel caps it at net.core.somaxconn
  }
}

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string tls_dir;
  std::string root_token;
  std::string data_file;
  int threads = 64;
};

const char* const kUsage =
    "usage: devlocker --listen 127.0.0.1:PORT --tls-dir DIR --root-token TOKEN [--data FILE] [--threads N]\n"
    "\n"
    "A Vault-compatible HTTPS key locker for tests and demos. DEV ONLY: keys are kept\n"
    "unprotected in memory and in --data.\n"
    "\n"
    "  --listen HOST:PORT   address to serve on (PORT 0: any free port; the chosen URL is\n"
    "                       printed as \"devlocker listening on https://HOST:PORT\")\n"
    "  --tls-dir DIR        CA and server certificate; generated there when absent\n"
    "                       (clients trust DIR/ca.pem)\n"
    "  --root-token TOKEN   the root token\n"
    "  --data FILE          keep state across restarts in FILE (default: memory only)\n"
    "  --threads N          worker threads (default 64, 1..10000); each open keep-alive\n"
    "                       connection holds one, so many clients need many (bench/fleet.py)\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "Test hooks (root token): POST /v1/sys/devlocker/faults injects faults (delay, hang,\n"
    "drop, status, ...), GET/DELETE /v1/sys/devlocker/stats reads/resets request counts.\n"
    "See devlocker/README.md.\n";

int Usage(const char* why) {
  std::fprintf(stderr, "devlocker: %s\n%s", why, kUsage);
  return 2;
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

bool ParseArgs(int argc, char** argv, Args* a, std::string* why) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      *why = "missing value after " + flag;
      return false;
    }
    std::string value = argv[++i];
    if (flag == "--listen") {
      size_t colon = value.rfind(':');
      if (colon == std::string::npos) {
        *why = "--listen wants HOST:PORT";
        return false;
      }
      a->host = value.substr(0, colon);
      try {
        a->port = std::stoi(value.substr(colon + 1));
      } catch (const std::exception&) {
        *why = "--listen port is not a number";
        return false;
      }
    } else if (flag == "--tls-dir") {
      a->tls_dir = value;
    } else if (flag == "--root-token") {
      a->root_token = value;
    } else if (flag == "--data") {
      a->data_file = value;
    } else if (flag == "--threads") {
      try {
        a->threads = std::stoi(value);
      } catch (const std::exception&) {
        a->threads = 0;
      }
      if (a->threads < 1 || a->threads > 10000) {
        *why = "--threads wants a number from 1 to 10000";
        return false;
      }
    } else {
      *why = "unknown option " + flag;
      return false;
    }
  }
  if (a->tls_dir.empty() || a->root_token.empty()) {
    *why = "--tls-dir and --root-token are required";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Args args;
  std::string why;
  if (!ParseArgs(argc, argv, &args, &why)) return Usage(why.c_str());
  std::fprintf(stderr, "devlocker: DEV ONLY, keys stored unprotected\n");

  // Block the stop signals before any thread exists so only the waiter below
  // receives them; ignore SIGPIPE from clients that hang up.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (!devlocker::EnsureTlsMaterial(args.tls_dir, &why)) return Usage(why.c_str());
  devlocker::Locker locker(args.root_token, args.data_file);
  if (!locker.Init(&why)) return Usage(why.c_str());

  const std::string tls_dir = args.tls_dir;
  httplib::SSLServer server([&](SSL_CTX& ctx) {
    return devlocker::ConfigureServerContext(ctx, tls_dir, &locker.runtime().handshakes);
  });
  if (!server.is_valid()) return Usage("cannot load the TLS material in --tls-dir; delete it to regenerate");
  // Hanging faults park a worker each; a big pool keeps the rest serving.
  // httplib keeps a worker per open keep-alive connection: a fleet of
  // clients needs a worker per connection it keeps (--threads).
  const int threads = args.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Behave like Vault's HTTP server: no Nagle delay on small JSON replies and
  // long-lived keep-alive connections (httplib closes after 5 by default),
  // so client-side connection reuse is measurable.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(30);
  locker.Install(server);

  int port = args.port;
  if (port == 0) {
    port = server.bind_to_any_port(args.host);
    if (port < 0) return Usage("cannot bind a free port");
  } else if (!server.bind_to_port(args.host, port)) {
    return Usage("cannot bind --listen address: is the port in use?");
  }
  RaiseListenBacklog(port);
  std::printf("devlocker listening on https://%s:%d\n", args.host.c_str(), port);
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    locker.runtime().faults.Shutdown();
    server.stop();
    // Idle keep-alive connections hold workers until their timeout; state is
    // already saved atomically after every change, so do not wait for them.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::fflush(nullptr);
      _exit(0);
    }).detach();
  });
  bool ok = server.listen_after_bind();
  if (!locker.runtime().faults.shutting_down()) kill(getpid(), SIGTERM);  // release the waiter
  waiter.join();
  return ok ? 0 : 1;
}
