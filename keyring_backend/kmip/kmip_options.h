// KmipOptions: the config's "kmip" group, for the KMIP store and the KMIP
// wrapper (docs/configuration.md). The TLS connection's own options are
// KmipTransportOptions; timeouts come from the top-level "timeouts" group.
#pragma once

#include <chrono>
#include <string>

#include "keyring_backend/kmip/kmip_transport.h"

namespace keyring_locker {

struct KmipOptions {
  // servers, ca_file, cert_file, key_file, server_name, verify_peer,
  // min_tls_version; connect/io timeouts are filled from "timeouts".
  kmip::KmipTransportOptions transport;
  // The highest KMIP version offered in DiscoverVersions: "1.4" (default)
  // or "1.2" (servers that mis-handle 1.3+ requests). KMIP 2.x encodes
  // attributes differently and is not spoken.
  std::string max_version = "1.4";
  // Wrapper "kmip": the Name of the AES-256 key-encryption key, held in the
  // KMIP server and used through Encrypt/Decrypt. Never leaves the server.
  std::string wrapping_key;
  // KMIP store: a Pre-Active object of a key version this much older (by
  // the server's Initial Dates) than a new writer's own is taken as left by
  // a writer that died between Register and Activate, and cleared; until
  // then, creating that version fails with "being created by another
  // writer" (kmip_create_race.h). Clearing is always safe; a smaller value
  // only makes a writer slower than it lose its create.
  std::chrono::seconds abandoned_after{60};
};

}  // namespace keyring_locker
