// Transit secrets engine: named AES-256-GCM keys with versions; encrypt,
// decrypt, rewrap, data keys, batches. Key material never leaves except as
// data keys the caller asked for.
#include "devlocker/locker.h"
#include "devlocker/transit_crypto.h"

namespace devlocker {

namespace crypto = keyring_locker::crypto;

namespace {

struct Item {
  std::string error;  // empty = ok
  json data;
};

json NewKeyVersion() {
  auto key = crypto::RandomKey(crypto::kAes256KeySize);
  if (!key.ok()) std::abort();  // no randomness: nothing this server does is safe
  SecureBuffer b64 = crypto::Base64EncodeSecret(*key);
  return json{{"key", std::string(reinterpret_cast<const char*>(b64.data()), b64.size())},
              {"time", NowUnix()}};
}

json NewKey(bool derived, bool exportable) {
  return json{{"type", "aes256-gcm96"}, {"derived", derived}, {"exportable", exportable},
              {"deletion_allowed", false}, {"latest_version", 1}, {"min_decryption_version", 1},
              {"min_encryption_version", 0}, {"versions", {{"1", NewKeyVersion()}}}};
}

json KeyInfo(const std::string& name, const json& k) {
  json versions = json::object();
  for (auto it = k["versions"].begin(); it != k["versions"].end(); ++it) versions[it.key()] = it.value()["time"];
  json info = {{"name", name}, {"type", k["type"]}, {"derived", k["derived"]}, {"exportable", k["exportable"]},
               {"deletion_allowed", k["deletion_allowed"]}, {"latest_version", k["latest_version"]},
               {"min_decryption_version", k["min_decryption_version"]},
               {"min_encryption_version", k["min_encryption_version"]}, {"keys", versions},
               {"supports_encryption", true}, {"supports_decryption", true}, {"supports_derivation", true},
               {"supports_signing", false}, {"allow_plaintext_backup", false}, {"auto_rotate_period", 0}};
  if (k["derived"].get<bool>()) info["kdf"] = "hkdf_sha256";
  return info;
}

Item Encrypt(const std::string& name, const json& k, const json& in) {
  const int64_t latest = k["latest_version"].get<int64_t>();
  int64_t version = IntField(in, "key_version", 0);
  if (version == 0) version = latest;
  if (version > latest || version < k["min_encryption_version"].get<int64_t>() || version < 1)
    return {"requested version for encryption is not within the key's allowed range", nullptr};
  if (!in.contains("plaintext") || !in["plaintext"].is_string()) return {"missing plaintext to encrypt", nullptr};
  auto plain = crypto::Base64Decode(in["plaintext"].get<std::string>());
  if (!plain.ok()) return {GoBase64Error(in["plaintext"].get<std::string>()), nullptr};
  auto key = VersionKey(k["versions"][std::to_string(version)]["key"].get<std::string>(),
                        k["derived"].get<bool>(), StringField(in, "context"));
  if (!key.ok()) return {key.status().message(), nullptr};
  auto sealed = SealTransit(*key, name, version, plain->data(), plain->size());
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!sealed.ok()) return {"encryption failed inside devlocker", nullptr};
  return {"", json{{"ciphertext", *sealed}, {"key_version", version}}};
}

// Opens a ciphertext; `plain_out` receives the plaintext bytes.
std::string Open(const std::string& name, const json& k, const json& in, SecureBuffer* plain_out,
                 int64_t* version_out) {
  const std::string ciphertext = StringField(in, "ciphertext");
  std::string payload;
  const int64_t version = ParseCiphertextVersion(ciphertext, &payload);
  if (version == 0) return "invalid ciphertext: no prefix";
  if (version < k["min_decryption_version"].get<int64_t>())
    return "ciphertext or signature version is disallowed by policy (too old)";
  if (version > k["latest_version"].get<int64_t>() || !k["versions"].contains(std::to_string(version)))
    return "invalid ciphertext: key version not found";
  auto key = VersionKey(k["versions"][std::to_string(version)]["key"].get<std::string>(),
                        k["derived"].get<bool>(), StringField(in, "context"));
  if (!key.ok()) return key.status().message();
  auto opened = OpenTransit(*key, name, version, ciphertext);
  if (!opened.ok()) return opened.status().message();
  *plain_out = std::move(opened).value();
  *version_out = version;
  return "";
}

Item Decrypt(const std::string& name, const json& k, const json& in) {
  SecureBuffer plain;
  int64_t version = 0;
  std::string error = Open(name, k, in, &plain, &version);
  if (!error.empty()) return {error, nullptr};
  return {"", json{{"plaintext", crypto::Base64Encode(plain.data(), plain.size())}}};
}

Item Rewrap(const std::string& name, const json& k, const json& in) {
  SecureBuffer plain;
  int64_t version = 0;
  std::string error = Open(name, k, in, &plain, &version);
  if (!error.empty()) return {error, nullptr};
  json enc = in;
  enc["plaintext"] = crypto::Base64Encode(plain.data(), plain.size());
  enc.erase("key_version");
  return Encrypt(name, k, enc);
}

// Runs `op` on the single request or on every batch_input item.
template <typename Op>
Reply RunItems(const json& body, Op op) {
  if (body.contains("batch_input")) {
    if (!body["batch_input"].is_array()) return Error(400, "batch_input must be an array");
    json results = json::array();
    for (const auto& in : body["batch_input"]) {
      Item item = in.is_object() ? op(in) : Item{"batch_input items must be JSON objects", nullptr};
      results.push_back(item.error.empty() ? item.data : json{{"error", item.error}});
    }
    return Ok(json{{"batch_results", results}});
  }
  Item item = op(body);
  if (!item.error.empty()) return Error(400, item.error);
  return Ok(item.data);
}

Reply Keys(Ctx& ctx, json& keys, const std::string& name, const std::string& action) {
  if (!keys.contains(name)) {
    if (ctx.method != "POST" || !action.empty()) return NotFoundEmpty();
    const std::string type = StringField(ctx.body, "type", "aes256-gcm96");
    if (type != "aes256-gcm96")
      return Error(400, "unsupported key type \"" + type + "\": devlocker implements aes256-gcm96 only");
    keys[name] = NewKey(BoolField(ctx.body, "derived", false), BoolField(ctx.body, "exportable", false));
    return Ok(KeyInfo(name, keys[name]));
  }
  json& k = keys[name];
  if (action.empty()) {
    if (ctx.method == "GET" || ctx.method == "POST") return Ok(KeyInfo(name, k));
    if (!k["deletion_allowed"].get<bool>()) return Error(400, "deletion is not allowed for this key");
    keys.erase(name);
    return NoContent();
  }
  if (action == "rotate" && ctx.method == "POST") {
    int64_t v = k["latest_version"].get<int64_t>() + 1;
    k["versions"][std::to_string(v)] = NewKeyVersion();
    k["latest_version"] = v;
    return Ok(KeyInfo(name, k));
  }
  if (action == "config" && ctx.method == "POST") {
    const int64_t latest = k["latest_version"].get<int64_t>();
    int64_t min_dec = IntField(ctx.body, "min_decryption_version", k["min_decryption_version"].get<int64_t>());
    int64_t min_enc = IntField(ctx.body, "min_encryption_version", k["min_encryption_version"].get<int64_t>());
    if (min_dec < 1 || min_dec > latest)
      return Error(400, "cannot set min_decryption_version outside 1.." + std::to_string(latest));
    if (min_enc < 0 || min_enc > latest || (min_enc != 0 && min_enc < min_dec))
      return Error(400, "min_encryption_version must be 0 or between min_decryption_version and the latest version");
    k["min_decryption_version"] = min_dec;
    k["min_encryption_version"] = min_enc;
    k["deletion_allowed"] = BoolField(ctx.body, "deletion_allowed", k["deletion_allowed"].get<bool>());
    k["exportable"] = BoolField(ctx.body, "exportable", k["exportable"].get<bool>());
    return Ok(KeyInfo(name, k));
  }
  return Error(404, "unsupported path transit/keys/" + name + "/" + action);
}

}  // namespace

Reply HandleTransit(Ctx& ctx, json& mount, const std::string& rest) {
  json& data = mount["data"];
  json& keys = data["keys"];
  if (rest == "keys" || rest == "keys/") {
    std::vector<std::string> names;
    for (auto it = keys.begin(); it != keys.end(); ++it) names.push_back(it.key());
    return ListReply(names);
  }
  if (rest == "config/keys") {
    if (ctx.method == "POST") data["config"]["disable_upsert"] = BoolField(ctx.body, "disable_upsert", false);
    return Ok(data["config"]);
  }
  const size_t slash = rest.find('/');
  const std::string op = rest.substr(0, slash);
  std::string name = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (op == "keys") {
    const size_t s = name.find('/');
    return Keys(ctx, keys, name.substr(0, s), s == std::string::npos ? "" : name.substr(s + 1));
  }
  if (ctx.method != "POST") return Error(405, "transit " + op + " needs POST");
  std::string datakey_kind;
  if (op == "datakey") {
    const size_t s = name.find('/');
    datakey_kind = name.substr(0, s);
    name = s == std::string::npos ? "" : name.substr(s + 1);
    if (datakey_kind != "plaintext" && datakey_kind != "wrapped")
      return Error(400, "datakey type must be \"plaintext\" or \"wrapped\"");
  }
  if (name.empty() || name.find('/') != std::string::npos) return Error(400, "a single key name is required");
  if (!keys.contains(name)) {
    // Vault upserts on encrypt only; everything else needs an existing key.
    if (op != "encrypt" || data["config"].value("disable_upsert", false)) return Error(400, "encryption key not found");
    bool derived = ctx.body.contains("context") ||
                   (ctx.body.contains("batch_input") && ctx.body["batch_input"].is_array() &&
                    !ctx.body["batch_input"].empty() && ctx.body["batch_input"][0].contains("context"));
    keys[name] = NewKey(derived, false);
  }
  const json& k = keys[name];
  if (op == "encrypt") return RunItems(ctx.body, [&](const json& in) { return Encrypt(name, k, in); });
  if (op == "decrypt") return RunItems(ctx.body, [&](const json& in) { return Decrypt(name, k, in); });
  if (op == "rewrap") return RunItems(ctx.body, [&](const json& in) { return Rewrap(name, k, in); });
  if (op == "datakey") {
    const int64_t bits = IntField(ctx.body, "bits", 256);
    if (bits != 128 && bits != 256 && bits != 512) return Error(400, "invalid bits value: use 128, 256 or 512");
    auto dk = crypto::RandomKey(static_cast<size_t>(bits / 8));
    if (!dk.ok()) return Error(500, "devlocker could not generate random bytes");
    json in = ctx.body;
    in["plaintext"] = crypto::Base64Encode(dk->data(), dk->size());
    in.erase("key_version");
    Item item = Encrypt(name, k, in);
    if (!item.error.empty()) return Error(400, item.error);
    if (datakey_kind == "plaintext") item.data["plaintext"] = in["plaintext"];
    return Ok(item.data);
  }
  return Error(404, "unsupported transit path " + rest);
}

}  // namespace devlocker
