// Vault's error answers, as the KV/Transit locker and the auth calls both
// report them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/printable.h"
#include "common/status.h"

namespace keyring_locker {

// Vault wraps the errors of some checks (a policy refusing a valid token:
// "1 error occurred:\n\t* permission denied\n\n") in go-multierror's
// layout; the items alone, joined by "; ", read the same on every locker.
inline std::string UnwrapMultiError(const std::string& text) {
  const size_t header = text.find(" occurred:\n");
  if (header == std::string::npos || header > 20 || text.find_first_not_of("0123456789") == 0) return text;
  std::string out;
  for (size_t at = text.find("\t* ", header); at != std::string::npos;) {
    const size_t next = text.find("\n\t* ", at);
    std::string item = text.substr(at + 3, next == std::string::npos ? std::string::npos : next - at - 3);
    while (!item.empty() && (item.back() == '\n' || item.back() == ' ')) item.pop_back();
    if (!out.empty()) out += "; ";
    out += item;
    at = next == std::string::npos ? next : next + 1;
  }
  return out.empty() ? text : out;
}

// Vault answers a token it does not know (missing, expired, revoked) with a
// bare "permission denied", and a valid token its policies refuse with the
// multierror layout above. True for the second: the fix is in the policy.
inline bool RefusedByPolicy(const nlohmann::json& body) {
  if (!body.is_object()) return false;
  auto errors = body.find("errors");
  if (errors == body.end() || !errors->is_array()) return false;
  for (const auto& e : *errors) {
    if (!e.is_string()) continue;
    const std::string& text = e.get_ref<const std::string&>();
    const std::string unwrapped = UnwrapMultiError(text);
    if (unwrapped != text && unwrapped == "permission denied") return true;
  }
  return false;
}

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
    out += Printable(UnwrapMultiError(e.get_ref<const std::string&>()));
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
