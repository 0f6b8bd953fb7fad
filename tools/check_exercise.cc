// check: what no locker can be asked, done. A wrap + unwrap round trip of
// random bytes (and a data key where the wrapper makes them), a listing of
// the scope, the store's health, and for a directory store its folder.
// Nothing is written to the scope: a key record, once written, stays (the
// stores are create-only), so key creation is proven by the capabilities
// (Vault) and by the wrap; the directory's write test uses a scratch file
// it removes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "tools/check_report.h"

namespace keyring_locker {
namespace {

// What the wrapper's operator must grant, per wrapper type.
std::string WrapperFix(const Config& c, const std::string& op) {
  const std::string& w = c.roles.wrapper;
  if (w == "vault") {
    const std::string path = c.vault.transit_mount + "/" + (op == "generate" ? "datakey/plaintext" : op) + "/" +
                             c.vault.transit_key;
    return "add to the token's policy: path \"" + path + "\" { capabilities = [\"update\"] }";
  }
  if (w == "kmip") return "let this client's identity use KMIP " + std::string(op == "decrypt" ? "Decrypt" : "Encrypt") +
                          " with the key named by kmip.wrapping_key (docs/locker-setup.md, KMIP)";
  if (w == "aws_kms") return "allow kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on aws_kms.key_id for this "
                             "identity (docs/locker-setup.md, AWS KMS)";
  if (w == "azure_key_vault") return "assign 'Key Vault Crypto Service Encryption User' on the key (wrapKey, "
                                     "unwrapKey, get; docs/locker-setup.md, Azure Key Vault)";
  return "see docs/locker-setup.md";
}

void CheckWrapper(Backend& b, CheckReport& report) {
  KeyWrapper& w = b.wrapper();
  const Config& c = b.config();
  if (c.roles.wrapper == "none") {
    report.Info("wrapper.roundtrip", "wrapper \"none\": the KMIP store keeps the key bytes itself");
    return;
  }
  auto key = crypto::RandomKey(32);
  if (!key.ok()) {
    report.Fail("wrapper.roundtrip", key.status().message(), "check OpenSSL's random source");
    return;
  }
  const std::string ad = "keyring-locker check";
  auto wrapped = w.Wrap(*key, ad);
  if (!wrapped.ok()) {
    report.Fail("wrapper.wrap", w.Id() + " could not wrap 32 random bytes: " + wrapped.status().message(),
                WrapperFix(c, "encrypt"));
    return;
  }
  auto back = w.Unwrap(*wrapped, ad);
  if (!back.ok()) {
    report.Fail("wrapper.unwrap", w.Id() + " wrapped but could not unwrap: " + back.status().message(),
                WrapperFix(c, "decrypt"));
    return;
  }
  if (back->size() != key->size() || std::memcmp(back->data(), key->data(), key->size()) != 0) {
    report.Fail("wrapper.roundtrip", w.Id() + " unwrapped other bytes than it wrapped",
                "the wrapper's key or its server is broken: ask its operator; do not start the server on it");
    return;
  }
  report.Pass("wrapper.roundtrip", w.Id() + ": 32 random bytes wrapped and unwrapped back");
  if (w.CanGenerate(32)) {
    auto generated = w.Generate(32);
    if (!generated.ok()) {
      report.Fail("wrapper.datakey", w.Id() + " could not generate a 32-byte key: " + generated.status().message(),
                  WrapperFix(c, "generate"));
    } else {
      report.Pass("wrapper.datakey", w.Id() + " generated a 32-byte key");
    }
  }
}

void CheckDirectory(const std::string& dir, CheckReport& report) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    report.Fail("directory.exists", "store.directory " + dir + " is missing or not a folder",
                "install -d -m 0700 -o <the database's OS user> " + dir);
    return;
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    report.Fail("directory.mode", dir + " has mode " + mode + ": others may read or change the wrapped keys",
                "chmod 0700 " + dir);
  } else {
    report.Pass("directory.mode", dir + " mode " + mode + ", owner uid " + std::to_string(st.st_uid));
  }
  const std::string scratch = dir + "/.keyring-locker-check." + std::to_string(::getpid());
  const int fd = ::open(scratch.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    report.Fail("directory.writable", "cannot create a file in " + dir + ": " + std::strerror(errno),
                "make the database's OS user the owner of " + dir + " (chown), mode 0700");
    return;
  }
  ::close(fd);
  if (::unlink(scratch.c_str()) != 0) {
    report.Warn("directory.writable", "created but could not remove the scratch file " + scratch,
                "remove " + scratch + " by hand");
    return;
  }
  report.Pass("directory.writable", "a scratch file was created in " + dir + " and removed");
}

}  // namespace

void CheckExercise(Backend& b, CheckReport& report) {
  const Config& c = b.config();
  auto health = b.store().Health();
  if (!health.ok()) {
    report.Fail("store.health", health.status().message(), "check that the locker runs (keyring-locker health)");
  } else if (!health->reachable || health->sealed) {
    report.Fail("store.health", health->detail, health->sealed ? "unseal the locker" : "check that the locker runs");
  } else {
    report.Pass("store.health", health->detail);
  }
  if (c.roles.store == "directory") CheckDirectory(c.roles.directory, report);
  size_t keys = 0;
  Status listed = b.store().ListScope([&](const std::string&, const std::vector<VersionEntry>&) { ++keys; });
  if (!listed.ok()) {
    std::string fix = "grant listing of the scope";
    if (c.roles.store == "vault") {
      fix = "add to the token's policy: path \"" + c.vault.kv_mount + "/metadata/" + c.keys.prefix + "/" +
            c.keys.scope + "/*\" { capabilities = [\"list\", \"read\"] }";
    } else if (c.roles.store == "kmip") {
      fix = "let this client's identity Locate and Get Attributes of its objects";
    }
    report.Fail("store.list", "listing the scope failed: " + listed.message(), fix);
  } else {
    report.Pass("store.list", "the scope " + c.keys.prefix + "/" + c.keys.scope + " lists " + std::to_string(keys) +
                                  " key(s)");
  }
  if (c.roles.store == "kmip") {
    report.Info("kmip.create", "Create/Activate are not exercised (an object, once made, stays in the server); "
                               "the first 'keyring-locker ensure' or server start proves them");
  }
  CheckWrapper(b, report);
}

}  // namespace keyring_locker
