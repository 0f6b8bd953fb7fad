// Fuzz target: a key document and what its wrapped key unwraps to, both
// chosen by the fuzzer (a hostile locker, or whoever can write its KV mount),
// read by KeyService as MariaDB and as MySQL would. The contract: no
// exception, every refusal is a Status with a message, and a key that is
// served is one the server can use (MariaDB: AES of 16, 24 or 32 bytes)
// whose bytes are what the binding says for exactly the key asked for.
//
// Input: "<document JSON>\n%%\n<unwrapped plaintext bytes>" (text seeds in
// tests/fuzz/corpus/key_document/).
#include <cstdint>
#include <string>

#include "keyring_backend/json/strict_json.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/store/document_key_store.h"
#include "tests/fuzz/no_exception.h"

namespace keyring_locker {
namespace {

// Answers every Fetch with the fuzzed document; nothing else is reached by Get.
class FuzzDocuments : public DocumentBackend {
 public:
  explicit FuzzDocuments(std::string doc) : doc_(std::move(doc)) {}
  std::string Describe() const override { return "fuzz"; }
  Status Store(const std::string&, const nlohmann::json&) override { return Unavailable("read-only"); }
  StatusOr<nlohmann::json> Fetch(const std::string&) override {
    StrictJson parsed = ParseStrictJson(doc_);
    if (!parsed.ok()) return DataLoss("not a JSON document");
    return std::move(parsed.value);
  }
  StatusOr<std::vector<std::string>> List(const std::string&) override { return std::vector<std::string>{}; }
  Status Remove(const std::string&) override { return Unavailable("read-only"); }
  StatusOr<LockerHealth> Health() override { return LockerHealth{}; }
  KeyHomeIdentity Identity() const override { return {}; }

 private:
  std::string doc_;
};

// Answers every Unwrap with the fuzzed plaintext.
class FuzzWrapper : public KeyWrapper {
 public:
  explicit FuzzWrapper(std::string plain) : plain_(std::move(plain)) {}
  std::string Id() const override { return "fuzz"; }
  std::string Describe() const override { return "fuzz"; }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer&, const std::string&) override {
    return Unavailable("read-only");
  }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string&, const std::string&) override {
    return crypto::SecureBuffer::CopyOf(plain_);
  }
  bool CanGenerate(size_t) const override { return false; }
  StatusOr<crypto::SecureBuffer> Generate(size_t) override { return Unavailable("read-only"); }

 private:
  std::string plain_;
};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void ReadAs(KeyServer server, const std::string& doc, const std::string& plain) {
  KeyScopeOptions scope;
  scope.scope = "fuzz";
  scope.rules.server = server;
  KeyLocker pair{std::make_unique<DocumentKeyStore>(std::make_shared<FuzzDocuments>(doc), scope.prefix, scope.scope),
                 std::make_unique<FuzzWrapper>(plain)};
  KeyService keys(std::move(pair), scope, CacheOptions{}, nullptr, "fuzz",
                  std::chrono::milliseconds(0));
  auto got = keys.Get("7", 3);
  if (!got.ok()) {
    Check(!got.status().message().empty());
    return;
  }
  const KeyMaterial& k = **got;
  Check(scope.rules.Check(k.type, k.bytes.size(), "served key").ok());
  if (server == KeyServer::kMariaDb) Check(k.type == "AES" && (k.bytes.size() == 16 || k.bytes.size() == 24 || k.bytes.size() == 32));
  // A bound key that was served carried exactly this key's identity.
  auto bound = UnbindKey(KeyBinding{"keyring_locker/fuzz", "7", 3}, crypto::SecureBuffer::CopyOf(plain));
  if (bound.ok()) {
    Check(bound->Equals(k.bytes) || plain.size() == k.bytes.size());
  } else {
    Check(plain.size() == k.bytes.size());  // only an unbound document serves the plaintext as it is
  }
}

void Run(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t sep = input.find("\n%%\n");
  const std::string doc = input.substr(0, sep);
  const std::string plain = sep == std::string::npos ? std::string() : input.substr(sep + 4);
  ReadAs(KeyServer::kMariaDb, doc, plain);
  ReadAs(KeyServer::kMySql, doc, plain);
}

}  // namespace
}  // namespace keyring_locker

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return keyring_locker::fuzz::RunWithoutExceptions("KeyService", [&] { keyring_locker::Run(data, size); });
}
