// The explore map as one self-contained HTML page (`racerig explore
// --html`): the outcome summary, the window's source lines coloured by the
// outcome of the points on them, each line's schedules on click, and the
// reproducing schedules. No network: inline style and script only.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/report/html.h"

namespace racerig::report {

// The most source lines one page shows, over all files (the rest is named
// in a note).
inline constexpr int kMaxHtmlSourceLines = 3000;

// The page. Source lines are read from source_root/<point's file> (a file
// that is missing, unreadable, or not a relative path under the root is
// shown as a note with its points, not an error): for each file, the lines
// around its points (three of context; stretches fewer than 20 lines
// apart merged, farther ones separated by a gap mark), each line
// coloured by the worst outcome of the schedules held on it (REPRODUCED red,
// DEADLOCK/OTHER_OOPS orange, serialized grey-blue, NOT_REPRODUCED green,
// the rest grey) with their labels beside it; a schedule whose run was kept
// (reproducing ones, failures) shows its timeline and oops. An empty
// source_root reads no source. Fails (kInput) only when source_root is
// given but is not a directory. Every text of the report and the source is
// escaped.
Result<std::string> render_explore_page(const pb::ExploreReport& report, const std::filesystem::path& source_root);

// The page's body alone (a job's page, a validate page's maps), with its
// CSS and script for page_begin and page_end (one script serves every map
// of a page). `id_prefix` starts the ids of its elements (several maps on
// one page: "control-", "patched-"; letters, digits and '-' only). Source
// as render_explore_page, an unusable root showing as notes.
std::string explore_body(const pb::ExploreReport& report, const std::filesystem::path& source_root,
                         const std::string& id_prefix = {});
std::string explore_style();
std::string explore_script();

}  // namespace racerig::report
