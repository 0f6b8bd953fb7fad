// Shared helpers for the config parser's tests: a minimal valid document and
// an assertion that a document is refused with a message naming the field
// and the fix.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "keyring_backend/config/config.h"

namespace keyring_locker::testing {

inline nlohmann::json MinimalConfig() {
  return nlohmann::json::parse(R"({
    "locker": {"urls": ["https://vault1:8200"]},
    "keys": {"scope": "prod/db1"},
    "auth": {"method": "token", "token_file": "/etc/keyring_locker/token"}
  })");
}

inline StatusOr<Config> ParseTestConfig(const nlohmann::json& j) { return ParseConfig(j.dump(), "test.json"); }

inline void ExpectConfigError(const nlohmann::json& j, const std::string& field, const std::string& fix) {
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_FALSE(c.ok()) << "accepted: " << j.dump();
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), ::testing::StartsWith("test.json: "));
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr(field));
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr(fix));
}

}  // namespace keyring_locker::testing
