// Fuzz target: VaultLocker reading whatever a locker (or something posing as
// one) answers. A fake HttpClient replays fuzzer-chosen replies, one per
// request, while the locker runs every operation that parses a reply.
//
// Input: byte 0 picks the KV version option (0 = detect) and whether an
// Authenticator is present; the rest is a list of replies separated by
// "\n%%\n", each "NNN\n<body>" (NNN = HTTP status; 000 = transport error).
// The text form keeps the seed corpus readable (tests/fuzz/corpus/).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "keyring_backend/vault/vault_locker.h"
#include "tests/fuzz/vault_replay.h"
#include "tests/fuzz/no_exception.h"

namespace keyring_locker {
namespace {

using fuzz::OneRefreshAuth;
using fuzz::ReplayHttpClient;
using fuzz::SplitReplies;

// Every failure must be a real Status with a message an operator can act on.
void CheckStatus(const Status& s) {
  if (!s.ok() && s.message().empty()) __builtin_trap();
}

void Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  VaultOptions vo;
  vo.kv_version = data[0] % 3;
  const bool with_auth = (data[0] & 0x04) != 0;
  ReplayHttpClient http(SplitReplies(std::string(reinterpret_cast<const char*>(data + 1), size - 1)));
  OneRefreshAuth auth;
  VaultLocker locker(vo, &http, with_auth ? &auth : nullptr);

  CheckStatus(locker.Connect());
  auto fetched = locker.Fetch("keyring_locker/fuzz/keys/1/1");
  CheckStatus(fetched.status());
  if (fetched.ok() && !fetched->is_object()) __builtin_trap();  // documents are objects
  CheckStatus(locker.List("keyring_locker/fuzz/keys").status());
  auto key = locker.Unwrap("vault:v1:AAAA", "ctx");
  CheckStatus(key.status());
  auto dk = locker.GenerateDataKey(32, "");
  CheckStatus(dk.status());
  if (dk.ok() && dk->plaintext.size() != 32) __builtin_trap();  // length is checked
  auto health = locker.Health();
  CheckStatus(health.status());
  crypto::SecureBuffer plain(32);
  CheckStatus(locker.Wrap(plain, "").status());
  CheckStatus(locker.Store("keyring_locker/fuzz/keys/1/2", nlohmann::json{{"wrapped", "vault:v1:AAAA"}}));
  CheckStatus(locker.Remove("keyring_locker/fuzz/keys/1/2"));
  (void)locker.Describe();
}

}  // namespace
}  // namespace keyring_locker

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return keyring_locker::fuzz::RunWithoutExceptions("VaultLocker", [&] { keyring_locker::Run(data, size); });
}
