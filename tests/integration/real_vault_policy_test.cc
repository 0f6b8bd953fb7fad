// docs/locker-setup.md's least-privilege policy, read out of the document
// itself (the ```hcl id=policy block), against both the dev locker and the
// real Vault 1.14.8 (issue #13):
// - with exactly that policy the product's client starts, creates, fetches,
//   rotates, lists, wraps and unwraps, a lost create race reads as "already
//   exists", `keyring-locker check` reports no FAIL, and an AppRole login
//   (the role as the page's step 3 writes it) works as well as a token;
// - with any one capability removed, the first operation that needs it fails
//   with the text the page's table "One capability less" promises (parsed
//   from the page too), and `keyring-locker check` FAILs naming it;
// - "update" on key documents is not needed, and check WARNs when a token has it.
// One locker start per test case: the capabilities are looped inside.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keyring_backend/backend.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/real_vault_fixture.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker::testing {
namespace {

using nlohmann::json;

// --- docs/locker-setup.md, parsed ----------------------------------------

std::string ReadDoc() {
  std::ifstream in(std::string(KLK_SOURCE_DIR) + "/docs/locker-setup.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Rule {
  std::string path;
  std::vector<std::string> caps;
};

// The rules of the fenced block opened by "```hcl id=policy".
std::vector<Rule> ParsePolicy() {
  const std::string doc = ReadDoc();
  const std::string open = "```hcl id=policy\n";
  const size_t start = doc.find(open);
  if (start == std::string::npos) return {};
  const size_t end = doc.find("\n```", start + open.size());
  const std::string block = doc.substr(start + open.size(), end - start - open.size());
  static const std::regex rule(R"re(path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\})re");
  static const std::regex quoted(R"re("([^"]*)")re");
  std::vector<Rule> rules;
  for (std::sregex_iterator it(block.begin(), block.end(), rule), e; it != e; ++it) {
    Rule r{(*it)[1].str(), {}};
    const std::string caps = (*it)[2].str();
    for (std::sregex_iterator c(caps.begin(), caps.end(), quoted); c != e; ++c) r.caps.push_back((*c)[1].str());
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string Hcl(const std::vector<Rule>& rules) {
  std::string out;
  for (const auto& r : rules) {
    if (r.caps.empty()) continue;  // a rule with nothing left is dropped
    std::string caps;
    for (const auto& c : r.caps) caps += (caps.empty() ? "\"" : ", \"") + c + "\"";
    out += "path \"" + r.path + "\" { capabilities = [" + caps + "] }\n";
  }
  return out;
}

// One row of the table after "<!-- policy-capability-removed -->":
// | `path` | `capability` | what fails | what you see |
// "What you see" holds `quoted` fragments the client's error must contain,
// or says "nothing" for a capability the plugin does not need.
struct Removal {
  std::string path, cap;
  std::vector<std::string> fragments;
};

std::vector<Removal> DocumentedRemovals() {
  const std::string doc = ReadDoc();
  const size_t start = doc.find("<!-- policy-capability-removed -->");
  if (start == std::string::npos) return {};
  std::istringstream lines(doc.substr(start));
  std::string line;
  std::getline(lines, line);  // the marker
  std::vector<Removal> out;
  static const std::regex code("`([^`]*)`");
  while (std::getline(lines, line)) {
    if (line.empty()) {
      if (out.empty()) continue;
      break;
    }
    if (line.rfind("|", 0) != 0 || line.find("---") != std::string::npos) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream row(line.substr(1));
    while (std::getline(row, cell, '|')) cells.push_back(cell);
    if (cells.size() < 4) continue;
    std::smatch m;
    if (!std::regex_search(cells[0], m, code)) continue;  // the header
    Removal r;
    r.path = m[1];
    if (std::regex_search(cells[1], m, code)) r.cap = m[1];
    for (std::sregex_iterator it(cells[3].begin(), cells[3].end(), code), e; it != e; ++it)
      r.fragments.push_back((*it)[1].str());
    out.push_back(std::move(r));
  }
  return out;
}

uint32_t VersionOr0(const StatusOr<uint32_t>& v) {
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : 0;
}

// --- either locker ------------------------------------------------------------

enum class Kind { kDevLocker, kRealVault };

class AnyLocker {
 public:
  virtual ~AnyLocker() = default;
  virtual std::string url() const = 0;
  virtual std::string ca_file() const = 0;
  virtual DevLocker::Reply Call(const std::string& method, const std::string& path, const json& body = nullptr,
                                const std::string& token = "") = 0;
};

template <class L>
class LockerOf : public AnyLocker {
 public:
  explicit LockerOf(std::unique_ptr<L> l) : l_(std::move(l)) {}
  std::string url() const override { return l_->url(); }
  std::string ca_file() const override { return l_->ca_file(); }
  DevLocker::Reply Call(const std::string& method, const std::string& path, const json& body,
                        const std::string& token) override {
    return l_->Call(method, path, body, token);
  }

 private:
  std::unique_ptr<L> l_;
};

std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kDevLocker ? "DevLocker" : "RealVault";
}

class DocumentedPolicy : public TempDirTest, public ::testing::WithParamInterface<Kind> {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    rules_ = ParsePolicy();
    ASSERT_FALSE(rules_.empty()) << "no ```hcl id=policy block in docs/locker-setup.md";
    if (GetParam() == Kind::kRealVault) {
      if (!RealVault::Installed()) {
        if (std::getenv("KLK_REQUIRE_REAL_VAULT")) GTEST_FAIL() << "no Vault binary: run scripts/real_vault.sh";
        GTEST_SKIP() << "no Vault binary: scripts/real_vault.sh builds it";
      }
      auto v = RealVault::Start();
      ASSERT_NE(v, nullptr);
      locker_ = std::make_unique<LockerOf<RealVault>>(std::move(v));
    } else {
      auto d = DevLocker::Start();
      ASSERT_NE(d, nullptr);
      locker_ = std::make_unique<LockerOf<DevLocker>>(std::move(d));
      // docs/locker-setup.md step 1 (the real Vault's launcher does the same).
      ASSERT_EQ(locker_->Call("POST", "transit/keys/keyring_locker", {{"type", "aes256-gcm96"}}).status / 100, 2);
    }
  }

  // A periodic token (step 5) holding only `hcl`.
  std::string TokenFor(const std::string& hcl) {
    const std::string name = "p" + std::to_string(++policies_);
    auto w = locker_->Call("PUT", "sys/policies/acl/" + name, {{"policy", hcl}});
    EXPECT_EQ(w.status / 100, 2) << w.body.dump() << "\n" << hcl;
    auto t = locker_->Call("POST", "auth/token/create", {{"policies", {name}}, {"period", "24h"}});
    EXPECT_EQ(t.status, 200) << t.body.dump();
    return t.body["auth"].value("client_token", "");
  }

  Config ConfigWith(const std::string& token) {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = std::chrono::milliseconds(2000);
    c.http.total_timeout = std::chrono::milliseconds(8000);
    c.http.backoff_initial = std::chrono::milliseconds(20);
    c.http.backoff_max = std::chrono::milliseconds(100);
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = Write("token" + std::to_string(++files_), token, 0600);
    c.keys.scope = "prod/db1";
    c.cache.version_refresh = std::chrono::seconds(60);
    return c;
  }

  // keyring-locker check --json with `token`: the rows; *rc its exit code.
  json Check(const std::string& token, int* rc) {
    json config = {{"locker", {{"urls", {locker_->url()}}}},
                   {"keys", {{"scope", "prod/db1"}}},
                   {"auth", {{"method", "token"}, {"token_file", Write("ctoken" + std::to_string(++files_), token, 0600)}}},
                   {"tls", {{"ca_file", locker_->ca_file()}}},
                   {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}}};
    const std::string file = Write("config" + std::to_string(++files_) + ".json", config.dump(), 0600);
    std::string out;
    *rc = RunCommand(std::string(KLK_CLI_BIN) + " --config " + file + " check --json", &out, StderrTo::kNowhere);
    json rows = json::parse(out, nullptr, false);
    EXPECT_TRUE(rows.is_array()) << out;
    return rows.is_array() ? rows : json::array();
  }

  // What a database server does with the locker, in the order it does it;
  // the first failure, named by its step ("" when every step worked).
  // `key` is a fresh name, `old_key` one made earlier with the full policy
  // (so fetch and unwrap are exercised even when creating cannot be).
  std::string Exercise(const std::string& token, const std::string& key, const std::string& old_key,
                       Status* failure) {
    auto fail = [&](const char* step, const Status& s) {
      *failure = s;
      return std::string(step);
    };
    auto opened = Backend::Open(ConfigWith(token));  // mount lookup, Transit key, scope listing
    if (!opened.ok()) return fail("start-up", opened.status());
    Backend& b = **opened;
    auto got = b.keys().Get(old_key, 1);  // fetch + unwrap of a key this server has not seen
    if (!got.ok()) return fail("fetch", got.status());
    auto made = b.keys().EnsureKey(key);  // datakey, encrypt, create-only write
    if (!made.ok()) return fail("create", made.status());
    auto rotated = b.keys().Rotate(key);
    if (!rotated.ok()) return fail("rotate", rotated.status());
    if (*rotated != 2) return fail("rotate", Internal("rotation made version " + std::to_string(*rotated)));
    auto names = b.keys().ListNames();
    if (!names.ok()) return fail("list", names.status());
    auto wrapped = b.wrapper().Wrap(crypto::SecureBuffer::CopyOf(std::string(32, 'k')), "policy-test");
    if (!wrapped.ok()) return fail("wrap", wrapped.status());
    auto unwrapped = b.wrapper().Unwrap(*wrapped, "policy-test");
    if (!unwrapped.ok()) return fail("unwrap", unwrapped.status());
    return "";
  }

  std::unique_ptr<AnyLocker> locker_;
  std::vector<Rule> rules_;
  int policies_ = 0, files_ = 0;
};

TEST_P(DocumentedPolicy, RunsThePluginAndPassesCheck) {
  const std::string hcl = Hcl(rules_);
  const std::string token = TokenFor(hcl);
  {
    auto b = Backend::Open(ConfigWith(token));
    ASSERT_TRUE(b.ok()) << b.status().ToString() << "\n" << hcl;
    KeyService& keys = (*b)->keys();
    ASSERT_EQ(VersionOr0(keys.EnsureKey("1")), 1u);
    auto rotated = keys.Rotate("1");
    ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
    EXPECT_EQ(*rotated, 2u);
    auto names = keys.ListNames();
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    EXPECT_EQ(*names, std::vector<std::string>{"1"});
    auto wrapped = (*b)->wrapper().Wrap(crypto::SecureBuffer::CopyOf(std::string(32, 'w')), "ctx");
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    auto back = (*b)->wrapper().Unwrap(*wrapped, "ctx");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(back->Equals(std::string(32, 'w').data(), 32));
  }
  // A server started later (nothing cached) reads both versions back, and
  // its create of a version that exists reads as a lost race: the policy
  // has no "update", so the locker answers 403 where it would say "cas".
  auto again = Backend::Open(ConfigWith(token));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto v1 = (*again)->keys().Get("1", 1);
  auto v2 = (*again)->keys().Get("1", 2);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_FALSE((*v1)->bytes.Equals((*v2)->bytes));
  Status lost = (*again)->keys().Create("1", 2, "AES", 32, nullptr);
  EXPECT_EQ(lost.code(), Code::kAlreadyExists) << lost.ToString();
  auto latest = (*again)->keys().Rotate("1");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(*latest, 3u);

  int rc = -1;
  json rows = Check(token, &rc);
  for (const auto& r : rows) EXPECT_NE(r.value("result", ""), "FAIL") << r.dump();
  EXPECT_EQ(rc, 0) << rows.dump(2);

  // The page's recommended login: AppRole, the role as step 3 writes it.
  auto enabled = locker_->Call("POST", "sys/auth/approle", {{"type", "approle"}});
  ASSERT_TRUE(enabled.status / 100 == 2 || enabled.status == 400) << enabled.body.dump();  // 400: already there
  ASSERT_EQ(locker_->Call("PUT", "sys/policies/acl/keyring-db1", {{"policy", Hcl(rules_)}}).status / 100, 2);
  ASSERT_EQ(locker_->Call("POST", "auth/approle/role/keyring-db1",
                          {{"token_policies", {"keyring-db1"}}, {"token_ttl", "1h"}, {"token_max_ttl", "24h"},
                           {"secret_id_ttl", 0}, {"secret_id_num_uses", 0}})
                .status / 100,
            2);
  auto role_id = locker_->Call("GET", "auth/approle/role/keyring-db1/role-id");
  auto secret_id = locker_->Call("POST", "auth/approle/role/keyring-db1/secret-id", json::object());
  ASSERT_EQ(role_id.status, 200) << role_id.body.dump();
  ASSERT_EQ(secret_id.status, 200) << secret_id.body.dump();
  Config approle = ConfigWith("unused");
  approle.auth.method = AuthOptions::Method::kAppRole;
  approle.auth.token_file.clear();
  approle.auth.role_id = role_id.body["data"]["role_id"];
  approle.auth.secret_id_file = Write("secret-id", secret_id.body["data"]["secret_id"].get<std::string>(), 0600);
  auto by_role = Backend::Open(approle);
  ASSERT_TRUE(by_role.ok()) << by_role.status().ToString();
  auto v3 = (*by_role)->keys().Get("1", 3);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  auto v4 = (*by_role)->keys().Rotate("1");
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(*v4, 4u);
}

TEST_P(DocumentedPolicy, UpdateOnKeyDocumentsIsNotNeededAndCheckWarnsAboutIt) {
  ASSERT_EQ(rules_[0].caps, (std::vector<std::string>{"create", "read"})) << "the key documents' rule comes first";
  std::vector<Rule> with_update = rules_;
  with_update[0].caps.push_back("update");
  const std::string token = TokenFor(Hcl(with_update));
  int rc = -1;
  json rows = Check(token, &rc);
  EXPECT_EQ(rc, 0) << rows.dump(2);
  bool warned = false;
  for (const auto& r : rows) {
    if (r.value("check", "") == "vault.kv.create.extra") {
      warned = r.value("result", "") == "WARN" && r.value("detail", "").find("update") != std::string::npos;
    }
  }
  EXPECT_TRUE(warned) << rows.dump(2);
  // With "update" a second create-only write is refused by check-and-set
  // instead of by the policy: the same "already exists" to the server.
  auto b = Backend::Open(ConfigWith(token));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(VersionOr0((*b)->keys().EnsureKey("u")), 1u);
  EXPECT_EQ((*b)->keys().Create("u", 1, "AES", 32, nullptr).code(), Code::kAlreadyExists);
}

TEST_P(DocumentedPolicy, EachCapabilityRemovedFailsAsTheTableSays) {
  const std::vector<Removal> table = DocumentedRemovals();
  ASSERT_FALSE(table.empty()) << "no <!-- policy-capability-removed --> table in docs/locker-setup.md";
  // The table has one row per capability of the policy, and no other.
  size_t capabilities = 0;
  for (const auto& r : rules_) capabilities += r.caps.size();
  EXPECT_EQ(table.size(), capabilities);

  // A key made with the full policy, for the fetch step.
  {
    auto b = Backend::Open(ConfigWith(TokenFor(Hcl(rules_))));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_EQ(VersionOr0((*b)->keys().EnsureKey("old")), 1u);
  }
  int n = 0;
  for (const auto& row : table) {
    SCOPED_TRACE(row.path + " without " + row.cap);
    std::vector<Rule> less = rules_;
    bool found = false;
    for (auto& r : less) {
      if (r.path != row.path) continue;
      for (auto it = r.caps.begin(); it != r.caps.end(); ++it) {
        if (*it == row.cap) {
          r.caps.erase(it);
          found = true;
          break;
        }
      }
    }
    ASSERT_TRUE(found) << "the table names a capability the policy does not have";
    Status failure;
    const std::string token = TokenFor(Hcl(less));
    const std::string step = Exercise(token, "k" + std::to_string(++n), "old", &failure);
    // check, reading sys/capabilities-self, FAILs naming the same capability.
    int rc = -1;
    json rows = Check(token, &rc);
    bool named = false;
    for (const auto& r : rows) {
      named = named || (r.value("result", "") == "FAIL" &&
                        r.value("detail", "").find("lacks \"" + row.cap + "\"") != std::string::npos &&
                        r.value("fix", "").find(row.path) != std::string::npos);
    }
    EXPECT_EQ(rc, row.fragments.empty() ? 0 : 1) << rows.dump(2);
    EXPECT_EQ(named, !row.fragments.empty()) << rows.dump(2);
    if (row.fragments.empty()) {
      EXPECT_EQ(step, "") << "the table says nothing fails, but " << step << " did: " << failure.ToString();
      continue;
    }
    ASSERT_NE(step, "") << "the table promises an error, yet every step worked";
    const std::string text = failure.ToString();
    std::cout << "[" << (GetParam() == Kind::kRealVault ? "vault" : "devlocker") << "] " << row.path << " -"
              << row.cap << ": " << step << ": " << text << "\n";
    for (const auto& f : row.fragments) EXPECT_NE(text.find(f), std::string::npos) << "\"" << f << "\" not in: " << text;
  }

  // The token's own paths come from Vault's default policy (the page: keep
  // it, or add the two paths). Without it the first login fails; with the
  // two paths added every step works again.
  const std::string hcl = Hcl(rules_);
  auto no_default = [&](const std::string& policy) {
    const std::string name = "nd" + std::to_string(++policies_);
    EXPECT_EQ(locker_->Call("PUT", "sys/policies/acl/" + name, {{"policy", policy}}).status / 100, 2);
    auto t = locker_->Call("POST", "auth/token/create",
                           {{"policies", {name}}, {"no_default_policy", true}, {"period", "24h"}});
    EXPECT_EQ(t.status, 200) << t.body.dump();
    return t.body["auth"].value("client_token", "");
  };
  Status failure;
  const std::string step = Exercise(no_default(hcl), "nd1", "old", &failure);
  EXPECT_EQ(step, "start-up");
  EXPECT_NE(failure.ToString().find("is valid, but its policies refuse auth/token/lookup-self"), std::string::npos)
      << failure.ToString();
  const std::string with_self = hcl + "path \"auth/token/lookup-self\" { capabilities = [\"read\"] }\n" +
                                "path \"auth/token/renew-self\" { capabilities = [\"update\"] }\n";
  EXPECT_EQ(Exercise(no_default(with_self), "nd2", "old", &failure), "") << failure.ToString();
}

INSTANTIATE_TEST_SUITE_P(BothLockers, DocumentedPolicy, ::testing::Values(Kind::kDevLocker, Kind::kRealVault),
                         KindName);

}  // namespace
}  // namespace keyring_locker::testing
