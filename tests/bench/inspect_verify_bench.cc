// Wall time of `keyring-locker inspect --verify` over many tablespace files,
// against the dev locker over TLS on loopback. Not a ctest entry (it reports
// numbers); docs/inspect.md quotes its results. Run from the build dir:
//   bin/inspect_verify_bench [--files N] [--keys K] [--format mysql|mariadb]
//                            [--runs R] [--keep DIR]
// (--keep: the files, config and last output stay in DIR; the dev locker
// stops with the program, so the config then names a locker that is gone.)
// mysql: N page-0 files (16K, info "lCC"), file i wrapped under master key
// i % K, each master key stored as mysqld's key_store would. mariadb: N page-0
// files (full_crc32 crypt_data), file i under key id i % K + 1 with
// min_key_version 1..3, each key with 3 versions in the locker.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keyring_backend/backend.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/mysql_encrypted_page0.h"
#include "tests/unit/datafile_test_pages.h"

namespace keyring_locker {
namespace {

struct Options {
  size_t files = 1000;
  size_t keys = 1;
  std::string format = "mysql";
  int runs = 3;
  std::string keep;  // leave the files and config here
};

const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--files" && has_value) {
      o.files = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--keys" && has_value) {
      o.keys = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--format" && has_value) {
      o.format = argv[++i];
    } else if (a == "--runs" && has_value) {
      o.runs = std::atoi(argv[++i]);
    } else if (a == "--keep" && has_value) {
      o.keep = argv[++i];
    } else {
      return false;
    }
  }
  return o.files > 0 && o.files <= 100000 && o.keys > 0 && o.keys <= o.files && o.runs > 0 && o.runs <= 20 &&
         (o.format == "mysql" || o.format == "mariadb");
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

crypto::SecureBuffer MasterBytes(size_t k) {
  crypto::SecureBuffer b(32);
  for (size_t i = 0; i < 32; ++i) b.data()[i] = static_cast<uint8_t>(k * 31 + i * 7 + 1);
  return b;
}

Status MakeMySql(Backend& backend, const Options& o, const std::string& data) {
  for (size_t k = 0; k < o.keys; ++k) {
    const crypto::SecureBuffer master = MasterBytes(k);
    RETURN_IF_ERROR(backend.keys().CreateGeneration("INNODBKey-" + kUuid + "-" + std::to_string(k + 1), "AES", 32,
                                                    &master));
  }
  uint8_t key_iv[64];
  for (size_t i = 0; i < o.files; ++i) {
    const size_t k = i % o.keys;
    for (int j = 0; j < 64; ++j) key_iv[j] = static_cast<uint8_t>(i * 13 + j);
    WriteBytes(data + "/t" + std::to_string(i) + ".ibd",
               mysql_page0::EncryptedPage0(static_cast<uint32_t>(i + 10), static_cast<uint32_t>(k + 1), kUuid,
                                           MasterBytes(k), key_iv));
  }
  return Status::Ok();
}

Status MakeMaria(Backend& backend, const Options& o, const std::string& data) {
  for (size_t k = 0; k < o.keys; ++k) {
    const std::string name = std::to_string(k + 1);
    RETURN_IF_ERROR(backend.keys().EnsureKey(name).status());
    RETURN_IF_ERROR(backend.keys().Rotate(name).status());
    RETURN_IF_ERROR(backend.keys().Rotate(name).status());
  }
  for (size_t i = 0; i < o.files; ++i) {
    auto page = datafile_test::MakePage0(16384, datafile_test::kFcrc32_16k, static_cast<uint32_t>(i + 10));
    datafile_test::PutCryptData(page, 10428, 1, static_cast<uint32_t>(i % 3 + 1), static_cast<uint32_t>(i % o.keys + 1),
                                1);
    WriteBytes(data + "/t" + std::to_string(i) + ".ibd", page);
  }
  return Status::Ok();
}

// Runs the CLI with stdout to `out_file`; returns the exit status and the wall time.
int TimeCli(const std::vector<std::string>& args, const std::string& out_file, double* seconds) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t CountLines(const std::string& file, const std::string& prefix) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

int Main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: inspect_verify_bench [--files N<=100000] [--keys K<=N] [--format mysql|mariadb] "
                 "[--runs R<=20] [--keep DIR]\n");
    return 64;
  }
  char tmpl[] = "/tmp/klk_verify_bench.XXXXXX";
  std::string dir = o.keep.empty() ? (mkdtemp(tmpl) ? tmpl : "") : o.keep;
  if (!o.keep.empty() && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) dir.clear();
  if (dir.empty() || (mkdir((dir + "/data").c_str(), 0700) != 0 && errno != EEXIST)) {
    std::fprintf(stderr, "cannot make %s/data\n", dir.c_str());
    return 1;
  }
  auto locker = testing::DevLocker::Start();
  if (!locker) return 1;
  const std::string token = dir + "/token";
  std::ofstream(token) << locker->root_token();
  chmod(token.c_str(), 0600);
  nlohmann::json config = {{"locker", {{"urls", {locker->url()}}, {"transit_key", "bench"}}},
                           {"keys", {{"scope", "bench/verify"}}},
                           {"auth", {{"method", "token"}, {"token_file", token}}},
                           {"tls", {{"ca_file", locker->ca_file()}}}};
  const std::string config_file = dir + "/config.json";
  std::ofstream(config_file) << config.dump();
  chmod(config_file.c_str(), 0600);
  {
    auto c = LoadConfigFile(config_file);
    auto b = c.ok() ? Backend::Open(*c) : StatusOr<std::unique_ptr<Backend>>(c.status());
    Status made = b.ok() ? (o.format == "mysql" ? MakeMySql(**b, o, dir + "/data") : MakeMaria(**b, o, dir + "/data"))
                         : b.status();
    if (!made.ok()) {
      std::fprintf(stderr, "setting up failed: %s\n", made.ToString().c_str());
      return 1;
    }
  }
  std::printf("%zu %s files under %zu key(s) in %s/data\n", o.files, o.format.c_str(), o.keys, dir.c_str());
  const std::string out = dir + "/verify.out";
  for (const char* mode : {"inspect", "inspect --verify"}) {
    std::vector<std::string> args = {KLK_CLI_BIN, "--config", config_file, "inspect"};
    if (std::string(mode) != "inspect") args.push_back("--verify");
    args.push_back(dir + "/data");
    std::vector<double> times;
    int rc = 0;
    for (int r = 0; r < o.runs; ++r) {
      double s = 0;
      rc = TimeCli(args, out, &s);
      times.push_back(s);
    }
    std::sort(times.begin(), times.end());
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
    std::printf("%-17s exit %d, %zu PASS lines, wall time min %.3f s, median %.3f s (%d runs)\n  %s\n", mode, rc,
                CountLines(out, "PASS "), times.front(), times[times.size() / 2], o.runs, line.c_str());
  }
  if (o.keep.empty()) std::system(("rm -rf " + dir).c_str());
  return 0;
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) { return keyring_locker::Main(argc, argv); }
