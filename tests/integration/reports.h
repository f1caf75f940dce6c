// What the integration tests that read racerig's JSON reports share: a
// temporary path for one, and reading it back into its message (the file
// is removed once read).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include "support.h"

namespace racerig::test {

// A JSON report's path in the temporary directory: racerig-<suite>-it-<pid>-<name>.json.
inline std::string temp_json(const std::string& suite, const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("racerig-" + suite + "-it-" + std::to_string(getpid()) + "-" + name + ".json"))
      .string();
}

// The report at `path` as message M (a parse failure fails the test); the
// file is removed.
template <typename M>
M read_report(const std::string& path) {
  M m;
  auto st = google::protobuf::util::JsonStringToMessage(read_text(path), &m);
  EXPECT_TRUE(st.ok()) << st.message() << " in " << path;
  std::filesystem::remove(path);
  return m;
}

}  // namespace racerig::test
