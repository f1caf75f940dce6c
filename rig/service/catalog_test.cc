// racerigd serves its catalogue only: a scenario name is looked up under
// scenarios/, never as a file in the daemon's working directory (where a
// file named like a scenario would otherwise be taken first, as the CLI
// still does).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "rig/jobs/job_env.h"
#include "rig/service/catalog.h"

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

constexpr const char* kScenario = "xfs-dax-flip-vs-write-fault";

// Runs the test in a fresh working directory holding files named like
// scenarios, and goes back after.
class InAWorkingDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = fs::current_path();
    dir_ = fs::temp_directory_path() / ("racerig-catalog-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::current_path(dir_);
    std::ofstream(kScenario) << "name: \"from the working directory\"\n";
    std::ofstream("cwd-only") << "name: \"cwd-only\"\n";
    env_.repo_root = RACERIG_SOURCE_DIR;
    env_.cache_root = dir_ / "cache";
  }
  void TearDown() override {
    fs::current_path(old_);
    fs::remove_all(dir_);
  }
  fs::path old_, dir_;
  jobs::JobEnv env_;
};

TEST_F(InAWorkingDirectory, TheCatalogueRefusesANameThatIsOnlyAFileInTheWorkingDirectory) {
  Catalog catalog(env_);
  auto why = catalog.check_scenario_name("cwd-only");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("no scenario named \"cwd-only\""), std::string::npos) << *why;
  EXPECT_FALSE(catalog.check_scenario_name(kScenario).has_value());
  EXPECT_TRUE(catalog.check_scenario_name("../" + std::string(kScenario)).has_value());
  EXPECT_TRUE(catalog.check_scenario_name(".hidden").has_value());
}

TEST_F(InAWorkingDirectory, TheDaemonsJobsTakeTheCataloguesFileAndTheCliTheWorkingDirectorysFile) {
  jobs::JobEnv daemon = env_;
  daemon.catalogue_only = true;
  auto path = jobs::find_job_scenario(daemon, kScenario, env_.scenarios_dir());
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, env_.scenarios_dir() / (std::string(kScenario) + ".textproto"));
  auto cwd_only = jobs::find_job_scenario(daemon, "cwd-only", env_.scenarios_dir());
  ASSERT_FALSE(cwd_only.ok());
  EXPECT_NE(cwd_only.error().message.find("no scenario named \"cwd-only\""), std::string::npos)
      << cwd_only.error().message;
  // The daemon's own inline files are paths (in its job directory).
  auto inline_file = jobs::find_job_scenario(daemon, (dir_ / "cwd-only").string(), env_.scenarios_dir());
  ASSERT_TRUE(inline_file.ok()) << inline_file.error().message;

  // The CLI keeps its behaviour: a file given by name comes first.
  auto cli = jobs::find_job_scenario(env_, kScenario, env_.scenarios_dir());
  ASSERT_TRUE(cli.ok()) << cli.error().message;
  EXPECT_EQ(*cli, fs::path(kScenario));
}

}  // namespace
}  // namespace racerig::service
