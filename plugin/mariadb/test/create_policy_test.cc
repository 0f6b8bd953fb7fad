#include "plugin/mariadb/create_policy.h"

#include <gtest/gtest.h>

namespace keyring_locker::mariadb {
namespace {

TEST(CreatePolicyTest, OffOnAndRanges) {
  auto off = CreatePolicy::Parse(" OFF ");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->Allows(1));
  EXPECT_EQ(off->Describe(), "off");
  auto on = CreatePolicy::Parse("on");
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->Allows(4294967295u));
  auto ranges = CreatePolicy::Parse("1-2, 100-199,7");
  ASSERT_TRUE(ranges.ok()) << ranges.status().ToString();
  EXPECT_TRUE(ranges->Allows(1));
  EXPECT_TRUE(ranges->Allows(2));
  EXPECT_FALSE(ranges->Allows(3));
  EXPECT_TRUE(ranges->Allows(7));
  EXPECT_TRUE(ranges->Allows(100));
  EXPECT_TRUE(ranges->Allows(199));
  EXPECT_FALSE(ranges->Allows(200));
  EXPECT_EQ(ranges->Describe(), "1-2,100-199,7");
}

TEST(CreatePolicyTest, BadTextIsRefusedWithTheVariableAndTheFix) {
  for (const char* bad : {"", "yes", "1-", "-5", "0", "0-3", "5-3", "1,,2", "4294967296", "1-2-3", "1;2", "1 2"}) {
    auto p = CreatePolicy::Parse(bad);
    ASSERT_FALSE(p.ok()) << "accepted: '" << bad << "'";
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find("keyring_locker_create_keys"), std::string::npos) << p.status().message();
    EXPECT_NE(p.status().message().find("1-2,100-199"), std::string::npos) << p.status().message();
  }
  std::string many;
  for (int i = 1; i <= 65; ++i) many += (i > 1 ? "," : "") + std::to_string(i);
  EXPECT_FALSE(CreatePolicy::Parse(many).ok());
}

TEST(CreatePolicyTest, ConfiguredValueWins) {
  CreatePolicyInputs in;
  in.configured = "off";
  in.marker_default = "1-2";
  auto c = ChooseCreatePolicy(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->source, CreatePolicySource::kConfigured);
  EXPECT_EQ(c->policy.Describe(), "off");
  EXPECT_TRUE(c->warning.empty());
  in.configured = "nonsense";
  EXPECT_FALSE(ChooseCreatePolicy(in).ok());
}

TEST(CreatePolicyTest, NewInstallationGetsTheServerKeysOnly) {
  CreatePolicyInputs in;
  in.first_start_of_datadir = true;
  in.scope_had_keys = false;
  auto c = ChooseCreatePolicy(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->source, CreatePolicySource::kNewInstallation);
  EXPECT_EQ(c->policy.Describe(), "1-2");
  EXPECT_TRUE(c->warning.empty());
  // Later starts read it back from the marker.
  CreatePolicyInputs later;
  later.marker_default = kServerKeyIds;
  later.scope_had_keys = true;
  auto again = ChooseCreatePolicy(later);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->policy.Describe(), "1-2");
  EXPECT_FALSE(again->policy.Allows(7));
}

TEST(CreatePolicyTest, ExistingInstallationKeepsCreatingWithAWarning) {
  for (bool first_start : {false, true}) {
    CreatePolicyInputs in;
    in.first_start_of_datadir = first_start;  // a new datadir on a scope in use is an existing installation
    in.scope_had_keys = true;
    auto c = ChooseCreatePolicy(in);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->source, CreatePolicySource::kExisting);
    EXPECT_TRUE(c->policy.Allows(12345));
    EXPECT_NE(c->warning.find("keyring_locker_create_keys"), std::string::npos);
  }
  CreatePolicyInputs marker_without_field;  // written by an older plugin
  marker_without_field.scope_had_keys = false;
  EXPECT_EQ(ChooseCreatePolicy(marker_without_field)->source, CreatePolicySource::kExisting);
}

TEST(CreatePolicyTest, DamagedRecordedDefaultAsksForAnExplicitSetting) {
  CreatePolicyInputs in;
  in.marker_default = "1-x";
  auto c = ChooseCreatePolicy(in);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("set keyring_locker_create_keys"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker::mariadb
