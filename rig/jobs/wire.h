// The pieces of a submit request (racerig_service.proto) that every job kind
// shares, each way: a client puts its local scenario and patch files into the
// request, and racerigd's runner writes them back as files under the job's
// directory for the job to read. The kinds' from_wire/to_wire use these.
#pragma once

#include <filesystem>
#include <string>

#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"

namespace racerig::jobs {

// A scenario argument as a client sends it: an existing file goes inline
// (its text), anything else is a name the server looks up. An unreadable
// file is an error naming it.
Result<pb::ScenarioRef> scenario_ref(const std::string& arg);
// A scenario reference as a job takes it: the name, or the inline text
// written to `dir`/inline-INDEX.textproto and that file's path.
Result<std::string> scenario_arg(const pb::ScenarioRef& ref, const std::filesystem::path& dir, int index);

// A patch file as a client sends it: named by the file's name, with its
// bytes. An unreadable file is an error naming it.
Result<pb::PatchFile> patch_file(const std::string& path);
// Writes patch number `index` to `dir`/INDEX/NAME (the numbered directory
// keeps two patches of one name apart, and the name, whose stem names the
// patched variant, as the client sent it) and returns that path.
Result<std::filesystem::path> write_patch(const pb::PatchFile& patch, const std::filesystem::path& dir, int index);

}  // namespace racerig::jobs
