#include "crypto/crypto.h"
#include "tools/scope_keys.h"

#include <algorithm>

#include "tools/cli.h"

namespace keyring_locker {

StatusOr<std::vector<ScopeVersion>> ListScopeVersions(KeyStore& store) {
  std::vector<ScopeVersion> out;
  RETURN_IF_ERROR(store.ListScope([&](const std::string& name, const std::vector<VersionEntry>& versions) {
    for (const auto& v : versions) out.push_back(ScopeVersion{name, v});
  }));
  std::sort(out.begin(), out.end(), [](const ScopeVersion& a, const ScopeVersion& b) {
    return a.name != b.name ? a.name < b.name : a.entry.version < b.entry.version;
  });
  return out;
}

std::string ScopeOf(const Config& config) { return config.keys.prefix + "/" + config.keys.scope; }

Envelope ScopeEnvelope(Backend& backend) {
  const Config& config = backend.config();
  return Envelope(&backend.store(), &backend.wrapper(),
                  EnvelopeOptions{ScopeOf(config), config.keys.read_unbound_documents, config.keys.rules});
}

size_t WritesInFlight(const Backend& backend) {
  return backend.config().roles.UsesKmip() ? 1 : kDefaultRequestsInFlight;
}

std::vector<StatusOr<OpenedKey>> OpenKeys(Envelope& envelope, const std::vector<KeyToOpen>& keys,
                                          const std::function<void()>& step) {
  // Batches bound the keys held in memory at once and keep the progress bar
  // moving; 100 is Transit's batch per request (KeyWrapper::UnwrapBatch).
  constexpr size_t kBatch = 100;
  std::vector<StatusOr<OpenedKey>> out;
  out.reserve(keys.size());
  for (size_t first = 0; first < keys.size(); first += kBatch) {
    const size_t last = std::min(keys.size(), first + kBatch);
    std::vector<KeyToOpen> batch(keys.begin() + static_cast<std::ptrdiff_t>(first),
                                 keys.begin() + static_cast<std::ptrdiff_t>(last));
    for (auto& k : envelope.OpenMany(batch, kDefaultRequestsInFlight)) {
      out.push_back(std::move(k));
      if (step) step();
    }
  }
  return out;
}

std::vector<StatusOr<std::string>> FingerprintKeys(Envelope& envelope, const std::vector<KeyToOpen>& keys,
                                                   const std::function<void()>& step) {
  std::vector<StatusOr<std::string>> out;
  out.reserve(keys.size());
  constexpr size_t kBatch = 100;
  for (size_t first = 0; first < keys.size(); first += kBatch) {
    const size_t last = std::min(keys.size(), first + kBatch);
    std::vector<KeyToOpen> batch(keys.begin() + static_cast<std::ptrdiff_t>(first),
                                 keys.begin() + static_cast<std::ptrdiff_t>(last));
    for (auto& k : OpenKeys(envelope, batch, step)) {
      if (k.ok()) {
        out.emplace_back(crypto::KeyFingerprint(k->bytes));
      } else {
        out.emplace_back(k.status());
      }
    }
  }
  return out;
}

}  // namespace keyring_locker
