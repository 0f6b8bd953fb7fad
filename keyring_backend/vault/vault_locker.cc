#include "keyring_backend/vault/vault_locker.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "crypto/crypto.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/json/strict_json.h"
#include "keyring_backend/vault/vault_errors.h"
#include "keyring_backend/vault/vault_namespace.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

// Strings that held key bytes (base64 or raw) or tokens are wiped before release.
void Wipe(std::string& s) { crypto::WipeString(&s); }

bool Contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

// Reads a string field at body["data"][field], or explains what is wrong.
StatusOr<std::string> DataString(const json& body, const char* field, const std::string& what) {
  if (!body.is_object() || !body.contains("data") || !body["data"].is_object()) {
    return DataLoss(what + ": locker reply has no \"data\" object; is locker.urls pointing at Vault/OpenBao?");
  }
  const json& data = body["data"];
  auto it = data.find(field);
  if (it == data.end() || !it->is_string()) {
    return DataLoss(what + ": locker reply lacks string field data." + field);
  }
  return it->get<std::string>();
}

// Reply fields read with a fallback. A locker, or something posing as one,
// may put any JSON type anywhere, and nlohmann's value() throws on a type
// mismatch (found by tests/fuzz/fuzz_vault_responses).
const json& ObjectOr(const json& obj, const char* key) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}
std::string StringOr(const json& obj, const char* key, const std::string& fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}
bool BoolOr(const json& obj, const char* key, bool fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}
// A mount's options.version: "2" from Vault, 2 from some look-alikes; else v1.
int KvVersionOf(const json& mount) {
  const json& options = ObjectOr(mount, "options");
  auto it = options.find("version");
  if (it == options.end()) return 1;
  if (it->is_string()) return it->get<std::string>() == "2" ? 2 : 1;
  return it->is_number_integer() && it->get<int64_t>() == 2 ? 2 : 1;
}

}  // namespace

VaultLocker::VaultLocker(VaultOptions options, HttpClient* http, Authenticator* auth)
    : options_(std::move(options)), http_(http), auth_(auth) {
  kv_version_ = options_.kv_version;
}

std::string VaultLocker::Describe() const {
  const auto& eps = http_->options().endpoints;
  std::string s = "vault";
  for (const auto& e : eps) s += " " + e;
  if (!options_.ns.empty()) s += " ns=" + options_.ns;
  s += " kv=" + options_.kv_mount + "(v" + std::to_string(kv_version_.load()) + ")";
  return s;
}

KeyHomeIdentity VaultLocker::Identity() const {
  KeyHomeIdentity id;
  id.fields = {{"namespace", options_.ns}, {"kv_mount", options_.kv_mount}};
  for (const auto& e : http_->options().endpoints) id.endpoints += (id.endpoints.empty() ? "" : ",") + e;
  return id;
}

StatusOr<VaultLocker::Reply> VaultLocker::Call(const std::string& method, const std::string& path,
                                               std::string body) {
  HttpRequest req;
  req.method = method;
  // KeyService percent-encodes key names into single path segments; escape
  // the '%' itself, or the locker's URL decoding would turn "%2F" in a name
  // into another path level and the key would land in the wrong folder.
  req.path = "/v1/";
  for (char c : path) {
    if (c == '%') {
      req.path += "%25";
    } else {
      req.path += c;
    }
  }
  req.body = std::move(body);
  // Every copy of the token this function makes is wiped before it is freed.
  auto wipe_headers = [&req] {
    for (auto& h : req.headers) Wipe(h.second);
    req.headers.clear();
  };
  std::string refresh_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    wipe_headers();
    std::string token = auth_ ? auth_->Token() : std::string();
    if (!token.empty()) req.headers.emplace_back("X-Vault-Token", std::move(token));
    auto resp = http_->Send(req);
    if (!resp.ok()) {
      wipe_headers();
      Wipe(req.body);
      return resp.status();
    }
    if (resp->status == 403 && attempt == 0 && auth_ != nullptr) {
      // The token may have expired or been rotated under us: one fresh try.
      const std::string no_token;
      const std::string& rejected = req.headers.empty() ? no_token : req.headers[0].second;  // a reference: no copy
      Status refreshed = auth_->Refresh(rejected);
      if (refreshed.ok()) continue;
      // "Permission denied" would send the operator to the policy, not to the locker's health.
      if (refreshed.code() == Code::kDeadlineExceeded || refreshed.code() == Code::kUnavailable) {
        wipe_headers();
        Wipe(req.body);
        return refreshed.Annotate("the locker refused the token (HTTP 403 to " + method + " " + path +
                                  ") and getting a new one failed");
      }
      refresh_error = refreshed.message();
    }
    wipe_headers();
    Wipe(req.body);
    Reply reply;
    reply.status = resp->status;
    reply.endpoint = resp->endpoint;
    reply.refresh_error = std::move(refresh_error);
    if (!resp->body.empty()) {
      StrictJson parsed = ParseStrictJson(resp->body);
      Wipe(resp->body);
      if (parsed.value.is_discarded()) {
        return DataLoss("locker at " + reply.endpoint + " answered " + std::to_string(reply.status) + " to " +
                        method + " " + path + " with a body that is not JSON; is locker.urls pointing at Vault/OpenBao?");
      }
      if (!parsed.duplicate.empty()) {
        // Which of two "wrapped" or "plaintext" fields is real? Neither is used.
        WipeJsonStrings(&parsed.value);
        return DuplicateFieldError("locker at " + reply.endpoint + " answered " + method + " " + path,
                                   parsed.duplicate);
      }
      reply.body = std::move(parsed.value);
    }
    return reply;
  }
  Wipe(req.body);
  return Internal("unreachable");
}

Status VaultLocker::ErrorFor(const Reply& reply, const std::string& what, const std::string& path,
                             const char* capability) const {
  const std::string errors = VaultErrorText(reply.body);
  const std::string where = what + " (" + path + " at " + reply.endpoint + "): HTTP " + std::to_string(reply.status) +
                            (errors.empty() ? "" : " \"" + errors + "\"");
  switch (reply.status) {
    case 400: return InvalidArgument(where + "; the locker rejected the request");
    case 401:
    case 403:
      return PermissionDenied(where + "; the token's policy must grant \"" + capability +
                              "\" on this path (see docs/locker-setup.md), or the token expired" +
                              (reply.refresh_error.empty() ? "" : "; getting a new token failed: " + reply.refresh_error));
    case 404: return NotFound(where);
    case 405: return FailedPrecondition(where + "; the mount is not of the expected kind (KV/Transit)");
    case 412: return Unavailable(where + "; the locker cluster is not yet consistent, retry later");
    case 429: return ResourceExhausted(where + "; rate limited by the locker's quota");
    case 501: return FailedPrecondition(where + "; the locker is not initialised");
    case 503: return Unavailable(where + "; the locker is sealed or in maintenance: unseal it");
    default: return Unavailable(where);
  }
}

std::string VaultLocker::KvDataPath(const std::string& path) const {
  return kv_version_ == 2 ? options_.kv_mount + "/data/" + path : options_.kv_mount + "/" + path;
}
std::string VaultLocker::KvMetadataPath(const std::string& path) const {
  return kv_version_ == 2 ? options_.kv_mount + "/metadata/" + path : options_.kv_mount + "/" + path;
}

StatusOr<int> VaultLocker::DetectKvVersion() {
  const std::string mount = options_.kv_mount;
  ASSIGN_OR_RETURN(Reply r, Call("GET", "sys/internal/ui/mounts/" + mount));
  if (r.status == 200) {
    const json& data = ObjectOr(r.body, "data");
    const std::string type = StringOr(data, "type", "");
    if (!type.empty() && type != "kv" && type != "generic") {
      return FailedPrecondition("locker.kv_mount \"" + mount + "\" is a \"" + type +
                                "\" mount, not KV; point locker.kv_mount at a KV secrets engine");
    }
    return KvVersionOf(data);
  }
  if (r.status == 404 || r.status == 403) {
    // Old servers lack the endpoint, and some policies hide it: sys/mounts next.
    ASSIGN_OR_RETURN(Reply m, Call("GET", "sys/mounts"));
    if (m.status == 200 && m.body.is_object()) {
      const json& all = m.body.contains("data") ? m.body["data"] : m.body;
      auto it = all.find(mount + "/");
      if (it != all.end() && it->is_object()) return KvVersionOf(*it);
      return NotFound("locker.kv_mount \"" + mount + "\" does not exist on the locker; enable it with "
                      "'vault secrets enable -path=" + mount + " kv-v2' or fix locker.kv_mount");
    }
    return PermissionDenied("cannot tell the KV version of locker.kv_mount \"" + mount +
                            "\": the token may read neither sys/internal/ui/mounts/" + mount +
                            " nor sys/mounts; set locker.kv_version to 1 or 2 explicitly");
  }
  return ErrorFor(r, "detecting the KV version", "sys/internal/ui/mounts/" + mount, "read");
}

Status VaultLocker::CheckNamespacesExist(const std::string& ns) {
  // Vault's community edition has no namespaces: it ignores X-Vault-Namespace
  // and would keep this scope's keys in its root namespace, beside whatever
  // else lives there. Its version tells it apart (Vault Enterprise and HCP
  // report "1.x.y+ent...", OpenBao 2.x); a server that says nothing passes.
  ASSIGN_OR_RETURN(Reply r, Call("GET", "sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200"));
  const std::string version = r.status == 200 ? StringOr(r.body, "version", "") : "";
  if (version.rfind("1.", 0) == 0 && version.find("+ent") == std::string::npos) {
    return FailedPrecondition("locker.namespace is \"" + ns + "\", but the locker at " + r.endpoint +
                              " is Vault " + version +
                              " (community edition), which has no namespaces: it would ignore the namespace and "
                              "keep the keys in its root namespace; remove locker.namespace, or use Vault "
                              "Enterprise or OpenBao");
  }
  return Status::Ok();
}

Status VaultLocker::Connect() {
  // Up to four requests, one budget: a connect run by a thread without a deadline
  // (background refresh, a tool) holds connect_mu_ no longer than a server call may wait.
  OperationDeadline budget(http_->options().total_timeout);
  // Nothing is published until every step passed: a connect cut part-way
  // (deadline, locker down) must run again in full on the next call, or the
  // Transit key would never be checked or created.
  if (const std::string ns = VaultNamespaceOf(http_->options()); !ns.empty()) {
    RETURN_IF_ERROR(CheckNamespacesExist(ns));
  }
  int version = options_.kv_version;
  if (version == 0) {
    ASSIGN_OR_RETURN(version, DetectKvVersion());
  }
  // Read the Transit key's metadata: proves the mount and key exist and that
  // the token may see them, before the server relies on it.
  const std::string path = options_.transit_mount + "/keys/" + options_.transit_key;
  ASSIGN_OR_RETURN(Reply r, Call("GET", path));
  if (r.status == 404) {
    // Create it (aes256-gcm96). A policy without create rights gets a clear error.
    ASSIGN_OR_RETURN(Reply c, Call("POST", path, json{{"type", "aes256-gcm96"}}.dump()));
    if (c.status / 100 != 2) {
      return ErrorFor(c, "creating the Transit key \"" + options_.transit_key +
                             "\" (create it with 'vault write -f " + path + "' or fix locker.transit_key)",
                      path, "update");
    }
  } else if (r.status / 100 != 2) {
    return ErrorFor(r, "reading the Transit key (locker.transit_mount/transit_key)", path, "read");
  }
  kv_version_ = version;
  connected_ = true;
  return Status::Ok();
}

Status VaultLocker::EnsureConnected() {
  if (connected_.load()) return Status::Ok();
  const uint64_t attempts_seen = connect_attempts_.load();
  std::unique_lock<std::timed_mutex> lock = LockWithinDeadline(connect_mu_);
  if (!lock.owns_lock()) {
    return DeadlineExceeded("another thread's first connect to the locker (mount and Transit key checks) "
                            "did not finish within this call's timeouts.total_ms=" +
                            std::to_string(http_->options().total_timeout.count()) +
                            "; check the locker's health or raise timeouts.total_ms");
  }
  if (connected_.load()) return Status::Ok();
  if (connect_attempts_.load() != attempts_seen) return last_connect_error_;  // failed while we queued
  Status s = Connect();
  last_connect_error_ = s;
  connect_attempts_.fetch_add(1);
  return s;
}

Status VaultLocker::Store(const std::string& path, const json& document) {
  RETURN_IF_ERROR(EnsureConnected());
  const std::string data_path = KvDataPath(path);
  if (kv_version_ == 2) {
    json body = {{"options", {{"cas", 0}}}, {"data", document}};
    ASSIGN_OR_RETURN(Reply r, Call("POST", data_path, body.dump()));
    if (r.status / 100 == 2) return Status::Ok();
    if (r.status == 400 && Contains(VaultErrorText(r.body), "check-and-set")) {
      return AlreadyExists("a key document already exists at " + options_.kv_mount + "/" + path +
                           "; keys are never overwritten");
    }
    // Vault checks the policy before check-and-set, and a write to a path
    // that exists is an "update": under docs/locker-setup.md's create-only
    // policy, losing a create race to another server is a 403, not the 400
    // above. A document there now means exactly that race.
    if (r.status == 403 && Fetch(path).ok()) {
      return AlreadyExists("a key document already exists at " + options_.kv_mount + "/" + path +
                           " (written by another server meanwhile); keys are never overwritten");
    }
    return ErrorFor(r, "storing a key document", data_path, "create");
  }
  // KV v1 has no check-and-set: check, then write. Two servers racing on the
  // same new key can still collide here; KV v2 is recommended (docs).
  auto existing = Fetch(path);
  if (existing.ok()) {
    return AlreadyExists("a key document already exists at " + options_.kv_mount + "/" + path +
                         "; keys are never overwritten");
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  ASSIGN_OR_RETURN(Reply r, Call("POST", data_path, document.dump()));
  if (r.status / 100 == 2) return Status::Ok();
  return ErrorFor(r, "storing a key document", data_path, "create");
}

StatusOr<json> VaultLocker::Fetch(const std::string& path) {
  RETURN_IF_ERROR(EnsureConnected());
  const std::string data_path = KvDataPath(path);
  ASSIGN_OR_RETURN(Reply r, Call("GET", data_path));
  if (r.status == 404) return NotFound("no key document at " + options_.kv_mount + "/" + path);
  if (r.status / 100 != 2) return ErrorFor(r, "fetching a key document", data_path, "read");
  if (!r.body.is_object() || !r.body.contains("data") || !r.body["data"].is_object()) {
    return DataLoss("locker reply for " + data_path + " has no data object");
  }
  json data = std::move(r.body["data"]);
  if (kv_version_ == 2) {
    if (!data.contains("data") || !data["data"].is_object()) {
      return DataLoss("KV v2 reply for " + data_path + " has no data.data object; is locker.kv_version right?");
    }
    // Every document is written once (cas=0), so it is KV version 1. A later
    // version is someone's overwrite: refused, never read as ours.
    const json& meta = ObjectOr(data, "metadata");
    auto v = meta.find("version");
    if (v != meta.end() && !(v->is_number_unsigned() && v->get<uint64_t>() == 1)) {
      return DataLoss("the document at " + options_.kv_mount + "/" + path + " was overwritten (KV version " +
                      v->dump().substr(0, 24) + ", keyring_locker writes each document once as version 1): "
                      "someone with write access to the KV mount replaced it. Nothing was served; the original is "
                      "version 1 ('vault kv get -version=1'): save it, 'vault kv metadata delete' the path, write it "
                      "back, and review who may write the mount");
    }
    return std::move(data["data"]);
  }
  return data;
}

StatusOr<std::vector<std::string>> VaultLocker::List(const std::string& prefix) {
  RETURN_IF_ERROR(EnsureConnected());
  std::string p = prefix;
  if (!p.empty() && p.back() != '/') p += '/';
  const std::string list_path = KvMetadataPath(p);
  ASSIGN_OR_RETURN(Reply r, Call("LIST", list_path));
  std::vector<std::string> names;
  if (r.status == 404) return names;  // Vault answers 404 to an empty list
  if (r.status / 100 != 2) return ErrorFor(r, "listing key documents", list_path, "list");
  const json* keys = nullptr;
  if (r.body.is_object() && r.body.contains("data") && r.body["data"].is_object()) {
    auto it = r.body["data"].find("keys");
    if (it != r.body["data"].end()) keys = &*it;
  }
  if (keys == nullptr || !keys->is_array()) return DataLoss("list reply for " + list_path + " has no data.keys array");
  for (const auto& k : *keys) {
    if (k.is_string()) names.push_back(k.get<std::string>());
  }
  return names;
}

Status VaultLocker::Remove(const std::string& path) {
  RETURN_IF_ERROR(EnsureConnected());
  // v2: metadata DELETE removes every version; only called on an explicit
  // server request (MySQL key_remove) after KeyService kept a soft copy.
  const std::string p = KvMetadataPath(path);
  ASSIGN_OR_RETURN(Reply r, Call("DELETE", p));
  if (r.status / 100 == 2 || r.status == 404) return Status::Ok();
  return ErrorFor(r, "removing a key document", p, "delete");
}

StatusOr<std::string> VaultLocker::Wrap(const crypto::SecureBuffer& plaintext, const std::string& context) {
  const std::string path = options_.transit_mount + "/encrypt/" + options_.transit_key;
  crypto::SecureBuffer b64 = crypto::Base64EncodeSecret(plaintext);
  // Build the body in a string we wipe: the base64 of a key is the key.
  std::string body = "{\"plaintext\":\"";
  body.append(reinterpret_cast<const char*>(b64.data()), b64.size());
  body += "\"";
  if (!context.empty()) {
    body += ",\"context\":\"" + crypto::Base64Encode(reinterpret_cast<const uint8_t*>(context.data()), context.size()) + "\"";
  }
  body += "}";
  ASSIGN_OR_RETURN(Reply r, Call("POST", path, std::move(body)));
  if (r.status / 100 != 2) return ErrorFor(r, "wrapping a key with Transit", path, "update");
  ASSIGN_OR_RETURN(std::string ct, DataString(r.body, "ciphertext", "wrapping a key"));
  if (ct.rfind("vault:v", 0) != 0) return DataLoss("Transit returned a ciphertext without the vault:vN: prefix");
  return ct;
}

StatusOr<crypto::SecureBuffer> VaultLocker::Unwrap(const std::string& ciphertext, const std::string& context) {
  const std::string path = options_.transit_mount + "/decrypt/" + options_.transit_key;
  json req = {{"ciphertext", ciphertext}};
  if (!context.empty()) {
    req["context"] = crypto::Base64Encode(reinterpret_cast<const uint8_t*>(context.data()), context.size());
  }
  ASSIGN_OR_RETURN(Reply r, Call("POST", path, req.dump()));
  if (r.status / 100 != 2) return ErrorFor(r, "unwrapping a key with Transit", path, "update");
  if (!r.body.is_object() || !r.body.contains("data") || !r.body["data"].is_object() ||
      !r.body["data"].contains("plaintext") || !r.body["data"]["plaintext"].is_string()) {
    return DataLoss("unwrapping a key: Transit reply lacks data.plaintext");
  }
  std::string& b64 = r.body["data"]["plaintext"].get_ref<std::string&>();
  auto key = crypto::Base64DecodeSecret(b64.data(), b64.size());
  Wipe(b64);
  if (!key.ok()) return DataLoss("unwrapping a key: Transit returned invalid base64 plaintext");
  return std::move(key).value();
}

std::vector<StatusOr<crypto::SecureBuffer>> VaultLocker::UnwrapBatch(
    const std::vector<std::pair<std::string, std::string>>& items) {
  std::vector<StatusOr<crypto::SecureBuffer>> out;
  out.reserve(items.size());
  const std::string path = options_.transit_mount + "/decrypt/" + options_.transit_key;
  for (size_t first = 0; first < items.size(); first += kUnwrapBatchSize) {
    const size_t end = std::min(items.size(), first + kUnwrapBatchSize);
    json batch = json::array();
    for (size_t i = first; i < end; ++i) {
      json item = {{"ciphertext", items[i].first}};
      const std::string& context = items[i].second;
      if (!context.empty()) {
        item["context"] = crypto::Base64Encode(reinterpret_cast<const uint8_t*>(context.data()), context.size());
      }
      batch.push_back(std::move(item));
    }
    auto failed = [&](const Status& s) {
      for (size_t i = first; i < end; ++i) out.emplace_back(s);
    };
    auto r = Call("POST", path, json{{"batch_input", std::move(batch)}}.dump());
    if (!r.ok()) {
      failed(r.status());
      continue;
    }
    if (r->status / 100 != 2) {
      failed(ErrorFor(*r, "unwrapping keys with Transit (batch)", path, "update"));
      continue;
    }
    json* results = nullptr;
    if (r->body.is_object() && r->body.contains("data") && r->body["data"].is_object()) {
      auto it = r->body["data"].find("batch_results");
      if (it != r->body["data"].end() && it->is_array() && it->size() == end - first) results = &*it;
    }
    if (results == nullptr) {
      WipeJsonStrings(&r->body);
      failed(DataLoss("unwrapping keys: Transit's batch reply lacks data.batch_results with one result per item"));
      continue;
    }
    for (auto& result : *results) {
      const std::string error = StringOr(result, "error", "");
      if (!error.empty() || !result.is_object() || !result.contains("plaintext") || !result["plaintext"].is_string()) {
        out.emplace_back(error.empty() ? DataLoss("unwrapping a key: a Transit batch result lacks plaintext")
                                       : InvalidArgument("unwrapping a key with Transit (" + path + "): \"" +
                                                         error.substr(0, 200) + "\""));
        continue;
      }
      std::string& b64 = result["plaintext"].get_ref<std::string&>();
      auto key = crypto::Base64DecodeSecret(b64.data(), b64.size());
      Wipe(b64);
      if (!key.ok()) {
        out.emplace_back(DataLoss("unwrapping a key: Transit returned invalid base64 plaintext"));
      } else {
        out.emplace_back(std::move(key).value());
      }
    }
  }
  return out;
}

StatusOr<WrappedKey> VaultLocker::GenerateDataKey(size_t bytes, const std::string& context) {
  if (bytes != 16 && bytes != 32 && bytes != 64) {
    return InvalidArgument("Transit data keys are 16, 32 or 64 bytes, not " + std::to_string(bytes));
  }
  const std::string path = options_.transit_mount + "/datakey/plaintext/" + options_.transit_key;
  json req = {{"bits", bytes * 8}};
  if (!context.empty()) {
    req["context"] = crypto::Base64Encode(reinterpret_cast<const uint8_t*>(context.data()), context.size());
  }
  ASSIGN_OR_RETURN(Reply r, Call("POST", path, req.dump()));
  if (r.status / 100 != 2) return ErrorFor(r, "generating a data key with Transit", path, "update");
  ASSIGN_OR_RETURN(std::string ct, DataString(r.body, "ciphertext", "generating a data key"));
  if (!r.body["data"].contains("plaintext") || !r.body["data"]["plaintext"].is_string()) {
    return DataLoss("generating a data key: Transit reply lacks data.plaintext");
  }
  std::string& b64 = r.body["data"]["plaintext"].get_ref<std::string&>();
  auto key = crypto::Base64DecodeSecret(b64.data(), b64.size());
  Wipe(b64);
  if (!key.ok()) return DataLoss("generating a data key: Transit returned invalid base64 plaintext");
  if (key->size() != bytes) {
    return DataLoss("Transit returned a " + std::to_string(key->size()) + "-byte data key, expected " +
                    std::to_string(bytes));
  }
  return WrappedKey{std::move(key).value(), std::move(ct)};
}

StatusOr<LockerHealth> VaultLocker::Health() {
  // sys/health needs no token; map standby/sealed codes to 2xx so the HTTP
  // client neither retries nor fails over while we only look.
  HttpRequest health;
  health.path = "/v1/sys/health?standbyok=true&perfstandbyok=true&sealedcode=299&uninitcode=299";
  auto resp = http_->Send(health);
  LockerHealth h;
  if (!resp.ok()) {
    h.detail = resp.status().ToString();
    return h;
  }
  h.reachable = true;
  h.endpoint = resp->endpoint;
  json body = json::parse(resp->body, nullptr, false);
  h.sealed = BoolOr(body, "sealed", false);
  h.standby = BoolOr(body, "standby", false);
  h.version = StringOr(body, "version", "");
  if (resp->status == 503) h.sealed = true;
  h.detail = std::string(h.sealed ? "sealed" : h.standby ? "standby" : "active") + " " + h.version + " at " + h.endpoint;
  return h;
}

}  // namespace keyring_locker
