// Job progress as stored events (see event_recorder.h).
#include "rig/service/event_recorder.h"

#include <cstdio>

namespace racerig::service {

void EventRecorder::append(pb::JobEvent event) {
  auto r = store_.append_event(job_id_, lease_, std::move(event));
  // Progress that cannot be stored is lost, the job goes on; its end is
  // stored by the pool (and fails loudly there if the store is broken).
  if (!r.ok()) std::fprintf(stderr, "racerigd: job %s: %s\n", job_id_.c_str(), r.error().message.c_str());
}

void EventRecorder::stage(const std::string& variant, const std::string& what) {
  pb::JobEvent ev;
  ev.mutable_kernel_stage()->set_variant(variant);
  ev.mutable_kernel_stage()->set_what(what);
  append(std::move(ev));
}

void EventRecorder::compile(const std::string& variant, const std::string& line,
                            const kbuild::BuildProgress& progress) {
  steps_ = progress.done;
  const auto now = std::chrono::steady_clock::now();
  if (steps_ % kCompileEvery != 0 && now - last_compile_ < std::chrono::seconds(2)) return;
  last_compile_ = now;
  pb::JobEvent ev;
  ev.mutable_kernel_compile()->set_variant(variant);
  ev.mutable_kernel_compile()->set_steps(steps_);
  ev.mutable_kernel_compile()->set_line(line);
  ev.mutable_kernel_compile()->set_estimated_steps(progress.estimated);
  ev.mutable_kernel_compile()->set_elapsed_s(progress.elapsed_s);
  append(std::move(ev));
}

void EventRecorder::note(const std::string& line) {
  pb::JobEvent ev;
  ev.mutable_note()->set_text(line);
  append(std::move(ev));
}

void EventRecorder::run_done(const std::string& label, const pb::RunReport& report) {
  pb::JobEvent ev;
  ev.mutable_run_finished()->set_label(label);
  *ev.mutable_run_finished()->mutable_report() = report;
  ev.mutable_run_finished()->mutable_report()->clear_console();
  append(std::move(ev));
}

}  // namespace racerig::service
