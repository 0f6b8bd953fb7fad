#include "tools/import/hashicorp_kv.h"

#include <algorithm>

#include "keyring_backend/http/http_client.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker::import {
namespace {

using nlohmann::json;

bool IsKeyId(const std::string& s) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return std::stoull(s) <= 0xFFFFFFFFull;
}

struct Reply {
  long status = 0;
  json body;
};

class KvReader {
 public:
  KvReader(std::unique_ptr<HttpClient> http, const HashicorpOptions& o, VaultAddress a)
      : http_(std::move(http)), options_(o), address_(std::move(a)) {}

  StatusOr<Reply> Call(const std::string& method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    r.path = "/v1/" + address_.mount + "/" + path;
    r.headers.push_back({"X-Vault-Token", options_.token});
    if (!options_.ns.empty()) r.headers.push_back({"X-Vault-Namespace", options_.ns});
    auto got = http_->Send(r);
    WipeString(r.headers[0].second);
    if (!got.ok()) return got.status().Annotate(method + " " + r.path);
    Reply reply;
    reply.status = got->status;
    if (!got->body.empty()) {
      StrictJson parsed = ParseStrictJson(got->body);
      WipeString(got->body);
      if (!parsed.ok()) {
        WipeJsonStrings(&parsed.value);
        return DataLoss(method + " " + r.path + ": the reply is not JSON (is --vault-url a Vault server?)");
      }
      reply.body = std::move(parsed.value);
    }
    if (reply.status == 403) {
      return PermissionDenied(method + " " + r.path +
                              ": permission denied; the token needs list and read on " + address_.mount +
                              "/metadata/* and read on " + address_.mount + "/data/*");
    }
    return reply;
  }

  const VaultAddress& address() const { return address_; }

 private:
  std::unique_ptr<HttpClient> http_;
  HashicorpOptions options_;
  VaultAddress address_;
};

}  // namespace

StatusOr<VaultAddress> ParseVaultAddress(const HashicorpOptions& options) {
  const std::string& url = options.vault_url;
  const size_t scheme = url.find("://");
  if (url.empty() || scheme == std::string::npos) {
    return InvalidArgument("--vault-url must be the plugin's hashicorp-key-management-vault-url, e.g. "
                           "https://vault.example.com:8200/v1/secret");
  }
  VaultAddress a;
  const size_t path = url.find('/', scheme + 3);
  a.base = url.substr(0, path);
  std::string rest = path == std::string::npos ? "" : url.substr(path);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (!rest.empty()) {
    if (rest.compare(0, 4, "/v1/") != 0 && rest != "/v1") {
      return InvalidArgument("--vault-url's path must start with /v1/ (the Vault API), as the plugin's vault_url does");
    }
    a.mount = rest.size() > 4 ? rest.substr(4) : "";
  }
  if (!options.mount.empty()) a.mount = options.mount;
  while (!a.mount.empty() && a.mount.front() == '/') a.mount.erase(0, 1);
  if (a.mount.empty()) {
    return InvalidArgument("no KV mount: give --vault-url https://HOST:PORT/v1/MOUNT (the plugin's vault_url) or "
                           "--mount MOUNT");
  }
  return a;
}

StatusOr<std::vector<std::string>> ParseKvList(const json& reply) {
  auto data = reply.find("data");
  if (data == reply.end() || !data->is_object()) return DataLoss("the listing has no \"data\" object");
  auto keys = data->find("keys");
  if (keys == data->end() || !keys->is_array()) return DataLoss("the listing has no \"data.keys\" array");
  std::vector<std::string> out;
  for (const json& k : *keys) {
    if (!k.is_string()) return DataLoss("the listing has a key name that is not a string");
    out.push_back(k.get<std::string>());
  }
  return out;
}

StatusOr<std::vector<uint32_t>> ParseKvVersions(const json& reply, std::vector<std::string>* skipped) {
  auto data = reply.find("data");
  if (data == reply.end() || !data->is_object()) return DataLoss("the metadata has no \"data\" object");
  auto versions = data->find("versions");
  if (versions == data->end() || !versions->is_object()) {
    return DataLoss("the metadata has no \"data.versions\" object (is the mount KV version 2? the plugin needs it)");
  }
  std::vector<uint32_t> out;
  for (auto it = versions->begin(); it != versions->end(); ++it) {
    if (!IsKeyId(it.key()) || !it.value().is_object()) {
      return DataLoss("the metadata lists a version that is not a number");
    }
    const auto v = static_cast<uint32_t>(std::stoul(it.key()));
    const json& meta = it.value();
    const bool destroyed = meta.value("destroyed", false);
    auto del = meta.find("deletion_time");
    const bool deleted = del != meta.end() && del->is_string() && !del->get<std::string>().empty();
    if (destroyed || deleted) {
      if (skipped) skipped->push_back("KV version " + it.key() + (destroyed ? " is destroyed" : " is deleted"));
      continue;
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::string> ParseKvKeyHex(const json& reply) {
  auto outer = reply.find("data");
  if (outer == reply.end() || !outer->is_object()) return DataLoss("the reply has no \"data\" object");
  auto inner = outer->find("data");
  if (inner == outer->end() || !inner->is_object()) return DataLoss("the secret has no data (deleted?)");
  auto hex = inner->find("data");
  if (hex == inner->end() || !hex->is_string()) {
    return DataLoss("the secret has no string field \"data\", where hashicorp_key_management keeps the key in hex");
  }
  return hex->get<std::string>();
}

StatusOr<ImportSource> ReadHashicorpKv(const HashicorpOptions& options, const std::function<void()>& on_key) {
  ASSIGN_OR_RETURN(VaultAddress address, ParseVaultAddress(options));
  if (options.token.empty()) return InvalidArgument("hashicorp needs a Vault token: --token-file FILE");
  HttpOptions http;
  http.endpoints = {address.base};
  http.tls.ca_file = options.ca_file;
  http.total_timeout = options.timeout;
  http.allow_plain_http = options.allow_plain_http;
  http.naming.service = "the source Vault";
  http.naming.urls = "--vault-url";
  http.naming.tls = "--ca-file";
  ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create(http));
  KvReader kv(std::move(client), options, address);

  ImportSource source;
  source.server = KeyServer::kMariaDb;
  source.model = KeyModel::kVersioned;
  ASSIGN_OR_RETURN(Reply list, kv.Call("LIST", "metadata/"));
  if (list.status == 404) {
    source.warnings.push_back("the mount " + address.mount + " holds no secrets");
    return source;
  }
  if (list.status != 200) {
    return Unavailable("LIST /v1/" + address.mount + "/metadata/: HTTP " + std::to_string(list.status) +
                       " (is " + address.mount + " a KV version 2 mount?)");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, ParseKvList(list.body));
  std::vector<std::string> ids;
  for (const auto& n : names) {
    if (IsKeyId(n)) {
      ids.push_back(n);
    } else {
      source.warnings.push_back("skipped '" + n.substr(0, 64) + "': not a key id of hashicorp_key_management");
    }
  }
  std::sort(ids.begin(), ids.end(),
            [](const std::string& a, const std::string& b) { return std::stoul(a) < std::stoul(b); });
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(Reply meta, kv.Call("GET", "metadata/" + id));
    std::vector<std::string> skipped;
    auto versions = meta.status == 200 ? ParseKvVersions(meta.body, &skipped)
                                       : StatusOr<std::vector<uint32_t>>(DataLoss(
                                             "reading metadata/" + id + ": HTTP " + std::to_string(meta.status)));
    for (const auto& s : skipped) source.warnings.push_back("key " + id + ": " + s + ", not imported");
    if (!versions.ok()) {
      ImportItem bad;
      bad.name = id;
      bad.origin = "metadata/" + id;
      bad.error = versions.status().message();
      source.items.push_back(std::move(bad));
      if (on_key) on_key();
      continue;
    }
    for (uint32_t v : *versions) {
      ImportItem item;
      item.name = id;
      item.version = v;
      item.origin = "KV version " + std::to_string(v) + " of " + address.mount + "/data/" + id;
      ASSIGN_OR_RETURN(Reply data, kv.Call("GET", "data/" + id + "?version=" + std::to_string(v)));
      if (data.status != 200) {
        item.error = "reading it: HTTP " + std::to_string(data.status);
      } else {
        auto hex = ParseKvKeyHex(data.body);
        if (!hex.ok()) {
          item.error = hex.status().message();
        } else {
          auto bytes = DecodeHexKey(*hex);
          WipeString(*hex);
          if (bytes.ok()) {
            item.bytes = std::move(bytes).value();
          } else {
            item.error = bytes.status().message();
          }
        }
      }
      WipeJsonStrings(&data.body);
      source.items.push_back(std::move(item));
    }
    if (on_key) on_key();
  }
  if (source.items.empty()) source.warnings.push_back("the mount " + address.mount + " holds no keys of the plugin");
  CheckItems(source);
  return source;
}

}  // namespace keyring_locker::import
