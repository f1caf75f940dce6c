// Plan decoding and validation.
#include "guest/agent/plan.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"

namespace racerig::agent {

Result<pb::GuestPlan> decode_plan(std::string_view bytes) {
  pb::GuestPlan plan;
  if (!plan.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return make_error(ErrorKind::kInput,
                      "plan: " + std::to_string(bytes.size()) + " bytes that are not a binary racerig.pb.GuestPlan");
  return plan;
}

Result<pb::GuestPlan> read_plan(const std::string& path) {
  RACERIG_ASSIGN(std::string bytes, read_file(path, "plan"));
  auto plan = decode_plan(bytes);
  if (!plan.ok()) return plan.error().wrap(path);
  return plan;
}

std::string op_name(const pb::Op& op) {
  if (op.kind_case() == pb::Op::KIND_NOT_SET) return "(none)";
  const auto* field = pb::Op::descriptor()->FindFieldByNumber(op.kind_case());
  return field != nullptr ? field->name() : "(unknown)";
}

std::string op_path(const pb::Op& op) {
  switch (op.kind_case()) {
    case pb::Op::kCreate: return op.create().path();
    case pb::Op::kPwrite: return op.pwrite().path();
    case pb::Op::kPread: return op.pread().path();
    case pb::Op::kFsync: return op.fsync().path();
    case pb::Op::kMmapWrite: return op.mmap_write().path();
    case pb::Op::kMmapRead: return op.mmap_read().path();
    case pb::Op::kSetDax: return op.set_dax().path();
    case pb::Op::kReportDax: return op.report_dax().path();
    case pb::Op::kTruncate: return op.truncate().path();
    case pb::Op::kOpen: return op.open().path();
    case pb::Op::kClose: return op.close().path();
    case pb::Op::kFsx: return op.fsx().path();
    case pb::Op::kFlipLoop: return op.flip_loop().path();
    case pb::Op::kExec: return op.exec().program().empty() ? "" : std::string(kProgramsDir) + "/" + op.exec().program();
    case pb::Op::kDropCaches:
    case pb::Op::KIND_NOT_SET: return "";
  }
  return "";
}

std::string comm_of(const std::string& actor_name) { return actor_name.substr(0, 15); }

namespace {

Status validate_ops(const google::protobuf::RepeatedPtrField<pb::Op>& ops, const std::string& where) {
  for (int i = 0; i < ops.size(); ++i) {
    const pb::Op& op = ops[i];
    std::string at = where + " op " + std::to_string(i);
    if (op.kind_case() == pb::Op::KIND_NOT_SET)
      return make_error(ErrorKind::kInput, at + ": no operation set (expected one of create, pwrite, ...)");
    if (op.kind_case() != pb::Op::kDropCaches && op_path(op).empty())
      return make_error(ErrorKind::kInput, at + " (" + op_name(op) + "): empty path");
  }
  return Status::Ok();
}

}  // namespace

Status validate_plan(const pb::GuestPlan& plan, int ncpus) {
  const pb::Workload& w = plan.workload();
  RACERIG_TRY(validate_ops(w.prepare(), "prepare"));
  RACERIG_TRY(validate_ops(w.check(), "check"));
  std::set<std::string> comms;
  for (int i = 0; i < w.actors_size(); ++i) {
    const pb::Actor& a = w.actors(i);
    std::string at = "actor " + std::to_string(i);
    if (a.name().empty()) return make_error(ErrorKind::kInput, at + ": empty name");
    at += " \"" + a.name() + "\"";
    if (a.name() == "prepare" || a.name() == "check")
      return make_error(ErrorKind::kInput, at + ": the name is reserved for the agent's own ops");
    if (a.name().find_first_of(std::string("\0/\n", 3)) != std::string::npos)
      return make_error(ErrorKind::kInput, at + ": the name has a NUL, '/' or newline");
    if (!comms.insert(comm_of(a.name())).second)
      return make_error(ErrorKind::kInput, at + ": another actor has the same first 15 bytes \"" +
                                               comm_of(a.name()) + "\" (the comm the schedule matches)");
    if (a.cpu() < 0 || a.cpu() >= ncpus)
      return make_error(ErrorKind::kInput, at + ": cpu " + std::to_string(a.cpu()) + " is not online (this guest has " +
                                               std::to_string(ncpus) + ", 0.." + std::to_string(ncpus - 1) + ")");
    RACERIG_TRY(validate_ops(a.ops(), at));
  }
  return Status::Ok();
}

}  // namespace racerig::agent
