// Vault's error answers, as the KV/Transit locker and the auth calls both
// report them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/printable.h"
#include "common/status.h"

namespace keyring_locker {

// {"errors":[...]} as one line ("" when there are none). Vault's texts name
// paths and reasons, never request bodies or tokens; whoever answers may
// still send CR/LF or ESC, so each is made printable and bounded.
inline std::string VaultErrorText(const nlohmann::json& body) {
  std::string out;
  if (!body.is_object()) return out;
  auto errors = body.find("errors");
  if (errors == body.end() || !errors->is_array()) return out;
  for (const auto& e : *errors) {
    if (!e.is_string()) continue;
    if (!out.empty()) out += "; ";
    out += Printable(e.get_ref<const std::string&>());
  }
  return out;
}

// A reply that holds one field twice: Vault never sends one, and which of
// the two a reader would see is up to whoever altered it. `what` names the
// call ("auth/token/lookup-self", "locker at URL answered GET path").
inline Status DuplicateFieldError(const std::string& what, const std::string& field) {
  return DataLoss(what + " with a reply holding the field \"" + Printable(field, 100) +
                  "\" twice; Vault never does that, so something between keyring_locker and the locker "
                  "altered it: check locker.urls, TLS interception and the locker's host");
}

}  // namespace keyring_locker
