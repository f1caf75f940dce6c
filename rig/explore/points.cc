// Explore's points and schedules (see points.h).
#include "rig/explore/points.h"

#include <algorithm>

namespace racerig::explore {

PointKey key_of(const dwarf::WindowAddress& a) { return PointKey{a.function, a.file, a.line}; }
PointKey key_of(const pb::ExplorePoint& p) { return PointKey{p.function(), p.file(), p.line()}; }

Window::Window(std::vector<dwarf::WindowAddress> addrs) : addrs_(std::move(addrs)) {
  for (size_t i = 0; i < addrs_.size(); ++i) {
    by_pc_[addrs_[i].addr.value()] = i;
    by_key_[key_of(addrs_[i])].push_back(i);
  }
}

std::vector<GuestAddr> Window::addresses() const {
  std::vector<GuestAddr> out;
  for (const auto& a : addrs_) out.push_back(a.addr);
  return out;
}

const dwarf::WindowAddress* Window::at(uint64_t pc) const {
  auto it = by_pc_.find(pc);
  return it == by_pc_.end() ? nullptr : &addrs_[it->second];
}

std::vector<GuestAddr> Window::addresses_of(const PointKey& key) const {
  std::vector<GuestAddr> out;
  auto it = by_key_.find(key);
  if (it != by_key_.end())
    for (size_t i : it->second) out.push_back(addrs_[i].addr);
  return out;
}

std::vector<dwarf::SourceLine> Window::statements_of(const PointKey& key) const {
  std::vector<dwarf::SourceLine> out;
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return out;
  for (size_t i : it->second)
    for (const auto& s : addrs_[i].statements)
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  return out;
}

std::map<std::string, std::vector<pb::ExplorePoint>> points_of(
    const Window& window, const google::protobuf::RepeatedPtrField<pb::TraceEvent>& events) {
  std::map<std::string, std::vector<pb::ExplorePoint>> out;
  std::map<std::pair<std::string, PointKey>, uint32_t> visits;
  for (const auto& e : events) {
    if (e.what() != "trace") continue;
    const dwarf::WindowAddress* a = window.at(e.pc());
    if (a == nullptr) continue;
    const PointKey key = key_of(*a);
    pb::ExplorePoint p;
    p.set_actor(e.actor());
    p.set_function(key.function);
    p.set_file(key.file);
    p.set_line(key.line);
    p.set_visit(++visits[{e.actor(), key}]);
    for (const auto& s : window.statements_of(key)) p.add_statements(s.file + ":" + std::to_string(s.line));
    out[e.actor()].push_back(std::move(p));
  }
  return out;
}

std::string trace_standing(const google::protobuf::RepeatedPtrField<pb::TraceEvent>& events) {
  std::vector<std::pair<std::string, std::string>> last;  // actor, symbol; in order of first arrival
  std::string released;
  for (const auto& e : events) {
    if (e.what() == "trace_released") released = e.detail();
    if (e.what() != "trace") continue;
    auto it = std::find_if(last.begin(), last.end(), [&](const auto& a) { return a.first == e.actor(); });
    const std::string where = e.symbol().empty() ? GuestAddr(e.pc()).hex() : e.symbol();
    if (it == last.end())
      last.emplace_back(e.actor(), where);
    else
      it->second = where;
  }
  std::string out;
  for (const auto& [actor, where] : last) out += (out.empty() ? "" : "; ") + actor + " last at " + where;
  if (out.empty()) out = "no actor arrived at the window";
  out += released.empty() ? "; the parked actors were never let go" : "; the parked actors were let go: " + released;
  return out;
}

std::string point_label(const pb::ExplorePoint& p) {
  return p.function() + " " + p.file() + ":" + std::to_string(p.line()) + " #" + std::to_string(p.visit());
}

namespace {

schedule::Step hold_step(const Window& window, const std::string& actor, const pb::ExplorePoint& p) {
  schedule::Step s;
  s.kind = schedule::Step::Kind::kHold;
  s.actor = actor;
  s.addrs = window.addresses_of(key_of(p));
  s.addr = s.addrs.empty() ? GuestAddr(0) : s.addrs.front();
  s.point = point_label(p);
  s.visit = static_cast<int>(std::max<uint32_t>(1, p.visit()));
  s.text = "hold " + actor + " at " + s.point;
  return s;
}

pb::Step hold_data(const std::string& actor, const pb::ExplorePoint& p) {
  pb::Step s;
  pb::Hold* h = s.mutable_hold();
  h->set_actor(actor);
  h->mutable_at()->set_line(p.file() + ":" + std::to_string(p.line()));
  h->mutable_at()->set_function(p.function());
  if (p.visit() > 1) h->set_visit(p.visit());
  return s;
}

}  // namespace

namespace {

void add_run_to_end(Schedule& out, const std::string& actor) {
  schedule::Step end;
  end.kind = schedule::Step::Kind::kRunToEnd;
  end.actor = actor;
  end.text = "run " + actor + " until it finished its operations";
  out.steps.push_back(std::move(end));
  pb::Step data;
  data.mutable_run()->set_actor(actor);
  data.mutable_run()->set_until_done(true);
  out.scenario.push_back(std::move(data));
}

void add_release(Schedule& out, const std::string& actor) {
  schedule::Step release;
  release.kind = schedule::Step::Kind::kRelease;
  release.actor = actor;
  release.text = "release " + actor;
  out.steps.push_back(std::move(release));
  pb::Step data;
  data.mutable_release()->set_actor(actor);
  out.scenario.push_back(std::move(data));
}

// Hold `held` at `point`, and park `runner` at `runner_first` until then.
Schedule hold_and_park(const Window& window, const std::string& held, const pb::ExplorePoint& point,
                       const std::string& runner, const pb::ExplorePoint* runner_first) {
  Schedule out;
  out.steps.push_back(hold_step(window, held, point));
  out.scenario.push_back(hold_data(held, point));
  if (runner_first != nullptr) {
    schedule::Step park = hold_step(window, runner, *runner_first);
    park.text = "park " + runner + " at " + park.point + " until " + held + " is held";
    out.steps.push_back(std::move(park));
    out.scenario.push_back(hold_data(runner, *runner_first));
  }
  return out;
}

}  // namespace

Schedule schedule_for(const Window& window, const std::string& held, const pb::ExplorePoint& point,
                      const std::string& runner, const pb::ExplorePoint* runner_first) {
  Schedule out = hold_and_park(window, held, point, runner, runner_first);
  add_run_to_end(out, runner);
  add_release(out, held);
  return out;
}

Schedule schedule_depth2(const Window& window, const std::string& held, const pb::ExplorePoint& point,
                         const std::string& runner, const pb::ExplorePoint* runner_first,
                         const pb::ExplorePoint& runner_point) {
  Schedule out = hold_and_park(window, held, point, runner, runner_first);
  // The park counts as the runner's first arrival at its first point: a
  // later visit of that same point is one arrival fewer away, and its
  // first visit is the park itself.
  uint32_t visit = std::max<uint32_t>(1, runner_point.visit());
  if (runner_first != nullptr && key_of(*runner_first) == key_of(runner_point)) --visit;
  if (visit > 0) {
    schedule::Step to = hold_step(window, runner, runner_point);
    to.kind = schedule::Step::Kind::kRun;
    to.visit = static_cast<int>(visit);
    to.text = "run " + runner + " until " + to.point + " and hold it there";
    out.steps.push_back(std::move(to));
    pb::Step data;
    pb::Run* r = data.mutable_run();
    r->set_actor(runner);
    r->mutable_until()->set_line(runner_point.file() + ":" + std::to_string(runner_point.line()));
    r->mutable_until()->set_function(runner_point.function());
    if (visit > 1) r->set_visit(visit);
    out.scenario.push_back(std::move(data));
  }
  add_run_to_end(out, held);
  add_release(out, runner);
  return out;
}

}  // namespace racerig::explore
