// Vault's error texts as the client reports them: go-multierror's layout
// (what Vault 1.14.8 sends when a policy refuses a valid token) is reduced
// to its items, so "permission denied" reads the same from every locker;
// other texts pass through, made printable.
#include "keyring_backend/vault/vault_errors.h"

#include <gtest/gtest.h>

namespace keyring_locker {
namespace {

using nlohmann::json;

TEST(VaultErrorText, UnwrapsOneMultiErrorItem) {
  EXPECT_EQ(VaultErrorText(json{{"errors", {"1 error occurred:\n\t* permission denied\n\n"}}}), "permission denied");
}

TEST(VaultErrorText, JoinsSeveralMultiErrorItems) {
  EXPECT_EQ(VaultErrorText(json{{"errors", {"2 errors occurred:\n\t* first\n\t* second\n\n"}}}), "first; second");
}

TEST(VaultErrorText, LeavesOtherTextsAloneButPrintable) {
  EXPECT_EQ(VaultErrorText(json{{"errors", {"permission denied"}}}), "permission denied");
  EXPECT_EQ(VaultErrorText(json{{"errors", {"check-and-set parameter did not match the current version"}}}),
            "check-and-set parameter did not match the current version");
  // Looks like the header but is not one: kept, control bytes replaced.
  EXPECT_EQ(VaultErrorText(json{{"errors", {"some error occurred:\nx"}}}), "some error occurred:?x");
  EXPECT_EQ(VaultErrorText(json{{"errors", {"a", 7, "b"}}}), "a; b");
  EXPECT_EQ(VaultErrorText(json::array()), "");
}

TEST(RefusedByPolicy, TellsAPolicyRefusalFromAnUnknownToken) {
  EXPECT_TRUE(RefusedByPolicy(json{{"errors", {"1 error occurred:\n\t* permission denied\n\n"}}}));
  EXPECT_FALSE(RefusedByPolicy(json{{"errors", {"permission denied"}}}));  // missing, expired or revoked
  EXPECT_FALSE(RefusedByPolicy(json{{"errors", {"1 error occurred:\n\t* invalid role ID\n\n"}}}));
  EXPECT_FALSE(RefusedByPolicy(json::object()));
}

}  // namespace
}  // namespace keyring_locker
