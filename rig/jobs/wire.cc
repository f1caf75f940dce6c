// A submit request's shared pieces (see wire.h).
#include "rig/jobs/wire.h"

#include "rig/base/file.h"

namespace racerig::jobs {

Result<pb::ScenarioRef> scenario_ref(const std::string& arg) {
  pb::ScenarioRef ref;
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    RACERIG_ASSIGN(std::string text, read_file(arg, "scenario"));
    ref.set_textproto(std::move(text));
  } else {
    ref.set_name(arg);
  }
  return ref;
}

Result<std::string> scenario_arg(const pb::ScenarioRef& ref, const std::filesystem::path& dir, int index) {
  if (ref.has_name()) return ref.name();
  std::filesystem::path file = dir / ("inline-" + std::to_string(index) + ".textproto");
  RACERIG_TRY(write_file(file, ref.textproto()));
  return file.string();
}

Result<pb::PatchFile> patch_file(const std::string& path) {
  RACERIG_ASSIGN(std::string content, read_file(path, "patch"));
  pb::PatchFile p;
  p.set_name(std::filesystem::path(path).filename().string());
  p.set_content(std::move(content));
  return p;
}

Result<std::filesystem::path> write_patch(const pb::PatchFile& patch, const std::filesystem::path& dir, int index) {
  std::filesystem::path file = dir / std::to_string(index) / patch.name();
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  RACERIG_TRY(write_file(file, patch.content()));
  return file;
}

}  // namespace racerig::jobs
