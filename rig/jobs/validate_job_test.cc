// validate's default scenarios: what the base variant lists, else every one;
// and the shipped variants name only shipped scenarios.
#include "rig/jobs/validate_job.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <google/protobuf/text_format.h>

#include "rig/scenario/scenario.h"

namespace racerig::jobs {
namespace {

pb::Variant variant(const std::string& name, std::vector<std::string> scenarios) {
  pb::Variant v;
  v.set_name(name);
  for (auto& s : scenarios) v.add_scenarios(s);
  return v;
}

TEST(DefaultScenarios, TheBaseVariantsOwnScenariosElseEveryOne) {
  const std::vector<std::string> all = {"dirty-cow", "keys-read-vs-revoke", "xfs-dax-flip-vs-write-fault"};
  const std::vector<pb::Variant> variants = {variant("buggy", {"xfs-dax-flip-vs-write-fault"}),
                                             variant("keys-buggy", {"keys-read-vs-revoke"}),
                                             variant("naive-lock", {})};
  EXPECT_EQ(default_scenarios(variants, "buggy", all), std::vector<std::string>{"xfs-dax-flip-vs-write-fault"});
  EXPECT_EQ(default_scenarios(variants, "keys-buggy", all), std::vector<std::string>{"keys-read-vs-revoke"});
  EXPECT_EQ(default_scenarios(variants, "naive-lock", all), all) << "a variant that lists none: every scenario";
  EXPECT_EQ(default_scenarios(variants, "unknown", all), all) << "an unknown base fails later, naming itself";
}

// Every scenario a shipped variant lists is a shipped scenario, and every
// shipped scenario with a schedule is some variant's (so a plain `validate
// --base V` judges it).
TEST(DefaultScenarios, ShippedVariantsNameShippedScenarios) {
  std::ifstream in(std::string(RACERIG_SOURCE_DIR) + "/kernels/variants.textproto");
  std::stringstream text;
  text << in.rdbuf();
  pb::VariantSet set;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &set));
  const auto shipped = scenario::list_scenarios(std::string(RACERIG_SOURCE_DIR) + "/scenarios");
  ASSERT_FALSE(shipped.empty());
  std::vector<std::string> listed;
  for (const auto& v : set.variant())
    for (const auto& s : v.scenarios()) {
      EXPECT_NE(std::find(shipped.begin(), shipped.end(), s), shipped.end())
          << "variant " << v.name() << " lists scenario " << s << ", which scenarios/ does not ship";
      listed.push_back(s);
    }
  for (const auto& s : shipped)
    EXPECT_NE(std::find(listed.begin(), listed.end(), s), listed.end()) << "no variant lists scenario " << s;
}

}  // namespace
}  // namespace racerig::jobs
