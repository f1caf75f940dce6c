// ARCHITECTURE.md is the map of rooms: its "Rooms" table names each folder,
// and which folders its code may include. This test keeps the map true: every
// source file lives in a room of the map, every project include goes to the
// file's own room or to one the map lets it use, and the rooms the map states
// form no circle. A new folder, or an include against the stated direction,
// fails here with the file and line to look at.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// Folder (relative to the repository root) -> the folders it may include.
using RoomMap = std::map<std::string, std::set<std::string>>;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The rows of the table under "## Rooms": | `folder` | what it owns | `a`, `b` or "nothing" |.
// Errors (a row that is not of that form) go into *errors.
RoomMap parse_rooms(const std::string& markdown, std::vector<std::string>* errors) {
  RoomMap rooms;
  std::istringstream in(markdown);
  std::string line;
  bool in_rooms = false;
  int number = 0;
  const std::regex row(R"(^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|\s*$)");
  const std::regex folder(R"(`([^`]+)`)");
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("## ", 0) == 0) {
      in_rooms = line == "## Rooms";
      continue;
    }
    if (!in_rooms || line.rfind("| `", 0) != 0) continue;
    std::smatch m;
    if (!std::regex_match(line, m, row)) {
      errors->push_back("ARCHITECTURE.md:" + std::to_string(number) + ": a room row is | `folder` | owns | may use |");
      continue;
    }
    std::set<std::string>& uses = rooms[m[1].str()];
    const std::string cell = m[3].str();
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), folder); it != std::sregex_iterator(); ++it)
      uses.insert((*it)[1].str());
  }
  return rooms;
}

// The room of a folder: the longest room that is the folder or holds it; "" when none does.
std::string room_of(const RoomMap& rooms, const std::string& dir) {
  std::string best;
  for (const auto& [room, uses] : rooms) {
    const bool holds = dir == room || (dir.size() > room.size() && dir.compare(0, room.size(), room) == 0 &&
                                       dir[room.size()] == '/');
    if (holds && room.size() > best.size()) best = room;
  }
  return best;
}

bool is_source(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".h" || ext == ".cc" || ext == ".c";
}

// What is not code of racerig's: build trees, git, notes.
bool skipped_dir(const std::string& name) { return name == ".git" || name.rfind("build", 0) == 0 || name == "wip"; }

// Every violation of `rooms` by the source files under `root`, as "file:line: why".
std::vector<std::string> check_tree(const fs::path& root, const RoomMap& rooms) {
  std::vector<std::string> problems;
  for (const auto& [room, uses] : rooms) {
    if (!fs::is_directory(root / room)) problems.push_back("ARCHITECTURE.md names `" + room + "`, which is no folder");
    for (const std::string& used : uses)
      if (!rooms.count(used)) problems.push_back("ARCHITECTURE.md: `" + room + "` may use `" + used + "`, which is no room");
  }
  const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && skipped_dir(it->path().filename().string())) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !is_source(it->path())) continue;
    const std::string rel = fs::relative(it->path(), root).generic_string();
    const std::string dir = fs::path(rel).parent_path().generic_string();
    if (dir.empty()) continue;  // nothing of racerig's lives at the top
    const std::string own = room_of(rooms, dir);
    if (own.empty()) {
      problems.push_back(rel + ": in no room of ARCHITECTURE.md");
      continue;
    }
    std::istringstream in(read_text(it->path()));
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const std::string target_dir = fs::path(m[1].str()).parent_path().generic_string();
      if (target_dir.empty()) continue;  // a file beside this one
      const std::string target = room_of(rooms, target_dir);
      const std::string where = rel + ":" + std::to_string(number) + ": ";
      if (target.empty())
        problems.push_back(where + "includes " + m[1].str() + ", which is in no room");
      else if (target != own && !rooms.at(own).count(target))
        problems.push_back(where + "`" + own + "` includes " + m[1].str() + " but may not use `" + target + "`");
    }
  }
  return problems;
}

// A circle among the stated rooms, as "a -> b -> a"; "" when there is none.
std::string find_circle(const RoomMap& rooms) {
  std::map<std::string, int> state;  // 0 unseen, 1 on the path, 2 done
  std::vector<std::string> path;
  std::string circle;
  std::function<bool(const std::string&)> visit = [&](const std::string& room) {
    state[room] = 1;
    path.push_back(room);
    auto found = rooms.find(room);
    if (found != rooms.end())
      for (const std::string& next : found->second) {
        if (state[next] == 1) {
          auto from = std::find(path.begin(), path.end(), next);
          for (auto p = from; p != path.end(); ++p) circle += *p + " -> ";
          circle += next;
          return true;
        }
        if (state[next] == 0 && visit(next)) return true;
      }
    path.pop_back();
    state[room] = 2;
    return false;
  };
  for (const auto& [room, uses] : rooms)
    if (state[room] == 0 && visit(room)) break;
  return circle;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// A scratch tree with a map, for the checker's own tests.
class ScratchTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("racerig-arch-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
};

const char kMap[] =
    "# map\n## Rooms\n| folder | owns | may use |\n|---|---|---|\n"
    "| `low` | the bottom | nothing |\n| `high` | the top | `low` |\n| `high/sub` | a part | `high`, `low` |\n"
    "## Flow\n| `not` | a | `room` |\n";

TEST_F(ScratchTree, ParsesTheRoomsTableOnly) {
  std::vector<std::string> errors;
  RoomMap rooms = parse_rooms(kMap, &errors);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  ASSERT_EQ(rooms.size(), 3u);
  EXPECT_TRUE(rooms.at("low").empty());
  EXPECT_EQ(rooms.at("high/sub"), (std::set<std::string>{"high", "low"}));
  EXPECT_EQ(room_of(rooms, "high/sub/deeper"), "high/sub");
  EXPECT_EQ(room_of(rooms, "highway"), "");
}

TEST_F(ScratchTree, AnIncludeAgainstTheDirectionIsNamedWithFileAndLine) {
  std::vector<std::string> errors;
  RoomMap rooms = parse_rooms(kMap, &errors);
  write("low/a.h", "#pragma once\n");
  write("high/b.cc", "#include \"low/a.h\"\n#include <vector>\n");
  write("high/sub/c.cc", "#include \"high/b.h\"\n#include \"c.h\"\n");
  EXPECT_TRUE(check_tree(root_, rooms).empty()) << joined(check_tree(root_, rooms));
  write("low/bad.cc", "// upward\n#include \"high/b.h\"\n");
  EXPECT_EQ(check_tree(root_, rooms),
            std::vector<std::string>{"low/bad.cc:2: `low` includes high/b.h but may not use `high`"});
}

TEST_F(ScratchTree, AFolderOutsideEveryRoomAndAMissingRoomAreProblems) {
  std::vector<std::string> errors;
  RoomMap rooms = parse_rooms(kMap, &errors);
  write("low/a.h", "");
  write("stray/x.cc", "");
  std::vector<std::string> problems = check_tree(root_, rooms);
  EXPECT_NE(std::find(problems.begin(), problems.end(), "stray/x.cc: in no room of ARCHITECTURE.md"), problems.end())
      << joined(problems);
  EXPECT_NE(std::find(problems.begin(), problems.end(), "ARCHITECTURE.md names `high`, which is no folder"),
            problems.end())
      << joined(problems);
}

TEST_F(ScratchTree, ACircleAmongRoomsIsFound) {
  RoomMap rooms{{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {}}};
  EXPECT_EQ(find_circle(rooms), "a -> b -> c -> a");
  rooms["c"].clear();
  EXPECT_EQ(find_circle(rooms), "");
}

TEST(Architecture, TheMapHoldsForTheWholeTree) {
  const fs::path root = RACERIG_SOURCE_DIR;
  ASSERT_TRUE(fs::exists(root / "ARCHITECTURE.md")) << root;
  std::vector<std::string> errors;
  RoomMap rooms = parse_rooms(read_text(root / "ARCHITECTURE.md"), &errors);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  ASSERT_GE(rooms.size(), 10u) << "the Rooms table of ARCHITECTURE.md was not found";
  EXPECT_EQ(find_circle(rooms), "") << "ARCHITECTURE.md's rooms use each other in a circle";
  std::vector<std::string> problems = check_tree(root, rooms);
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

}  // namespace
