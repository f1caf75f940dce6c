#!/usr/bin/python3
"""A racerigd client that racerig did not write: Debian's python3-grpcio with
stubs generated from proto/ by grpc_tools at test time.

usage: racerigd_client.py SOURCE_DIR SOCKET TOKEN_FILE MODE [ARGS...]
modes:
  validate PATCH EXPECTED   submit a validate of PATCH (1 run, snapshot), watch
                            its events to the end, check the scenario result
  malformed                 each bad request gets INVALID_ARGUMENT naming its field,
                            in its message and in a google.rpc.BadRequest detail
  unauthenticated           no token and a wrong one get UNAUTHENTICATED
  queue N                   submit N reproduce jobs at once; some must get
                            RESOURCE_EXHAUSTED; every accepted one must finish
  health                    grpc.health.v1 says SERVING; reflection lists RaceRig
  chaos-submit N            submit N jobs (request ids chaos-0..N-1) a second or so
                            apart while the daemon may die under it: a submit that
                            fails for want of a daemon is sent again, same request id
  chaos-audit N             wait (at most 20 min) until every job is finished, then
                            check each of the N request ids has exactly one job,
                            that it finished exactly once (one Finished event) with
                            its kind's outcome, or is INTERRUPTED with a reason
Prints what it checked; exits 0 when every check held, 1 otherwise.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def make_stubs(source_dir):
    out = tempfile.mkdtemp(prefix="racerigd-py-")
    protos = os.path.join(out, "protos")
    os.mkdir(protos)
    # Copied under plain names: a module path grpc/health/... would shadow
    # the grpc package itself.
    shutil.copy("/usr/share/grpc-proto/grpc/health/v1/health.proto", protos)
    shutil.copy("/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto", protos)
    # google.rpc's messages (package google.rpc) under plain names too: a
    # module path google/rpc/... would shadow the google.protobuf package.
    shutil.copy(os.path.join(source_dir, "proto/google/rpc/status.proto"), os.path.join(protos, "rpc_status.proto"))
    shutil.copy(os.path.join(source_dir, "proto/google/rpc/error_details.proto"),
                os.path.join(protos, "rpc_error_details.proto"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", source_dir, "-I", protos,
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "proto/racerig.proto", "proto/racerig_service.proto", "health.proto", "reflection.proto",
                    "rpc_status.proto", "rpc_error_details.proto"],
                   check=True)
    sys.path.insert(0, out)
    return out


def main():
    source_dir, socket, token_file, mode = sys.argv[1:5]
    args = sys.argv[5:]
    stubs = make_stubs(source_dir)
    try:
        import grpc
        from proto import racerig_pb2, racerig_service_pb2 as svc, racerig_service_pb2_grpc as svc_grpc
        import health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc
        import rpc_status_pb2, rpc_error_details_pb2

        token = open(token_file).read().strip()
        channel = grpc.insecure_channel("unix:" + socket)
        stub = svc_grpc.RaceRigStub(channel)
        auth = [("authorization", "Bearer " + token)]

        def validate_request(patch_name, content, **kw):
            # The scenario's own schedule: exploring is tested in explore_test.
            r = svc.SubmitValidateRequest(runs=kw.get("runs", 1), no_explore=True)
            r.patches.add(name=patch_name, content=content)
            r.scenarios.add(name=kw.get("scenario", "xfs-dax-flip-vs-write-fault"))
            return r

        def code_of(call):
            try:
                call()
                return None, ""
            except grpc.RpcError as e:
                return e.code(), e.details()

        def bad_request_fields(call):
            """The fields of the google.rpc.BadRequest the call failed with."""
            try:
                call()
                return []
            except grpc.RpcError as e:
                for key, value in e.trailing_metadata() or ():
                    if key != "grpc-status-details-bin":
                        continue
                    status = rpc_status_pb2.Status.FromString(value)
                    fields = []
                    for any_detail in status.details:
                        bad = rpc_error_details_pb2.BadRequest()
                        if any_detail.Unpack(bad):
                            fields += [v.field for v in bad.field_violations]
                    return fields
                return []

        def follow(job_id):
            last = None
            for ev in stub.WatchJob(svc.WatchJobRequest(id=job_id), metadata=auth, timeout=1800):
                kind = ev.WhichOneof("event")
                if kind == "run_finished":
                    r = ev.run_finished.report
                    print("  #%d %s run %d: %s" % (ev.seq, ev.run_finished.label, r.run,
                                                    racerig_pb2.Verdict.Name(r.verdict)), flush=True)
                elif kind != "kernel_compile":
                    print("  #%d %s" % (ev.seq, kind), flush=True)
                last = ev
            return last

        if mode == "validate":
            patch, expected = args
            content = open(patch, "rb").read()
            job = stub.SubmitValidate(validate_request(os.path.basename(patch), content), metadata=auth, timeout=60)
            check(job.state == svc.QUEUED, "job %s queued" % job.id)
            last = follow(job.id)
            check(last is not None and last.WhichOneof("event") == "finished", "the stream ends with finished")
            final = last.finished.job
            check(final.state == svc.SUCCEEDED, "state %s" % svc.JobState.Name(final.state))
            results = [racerig_pb2.ValidationResult.Name(s.result) for s in final.validate_report.scenarios]
            check(results == [expected], "results %s == [%s]" % (results, expected))
            art = stub.GetJobArtifacts(svc.GetJobArtifactsRequest(id=job.id), metadata=auth, timeout=60)
            check(expected in art.json and "<testsuite" in art.junit_xml, "artifacts: JSON and JUnit")
        elif mode == "malformed":
            patch = b"--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n"
            cases = [
                ("empty patch", validate_request("p.patch", b""), "patches[0].content"),
                ("binary patch", validate_request("p.patch", b"\x7fELF\x00\x01\x02"), "patches[0].content"),
                ("oversized patch", validate_request("p.patch", patch + b"x" * (2 << 20)), "patches[0].content"),
                ("unknown scenario", validate_request("p.patch", patch, scenario="no-such-race"), "scenarios[0].name"),
                ("runs=0", validate_request("p.patch", patch, runs=0), "runs"),
            ]
            bad_text = validate_request("p.patch", patch)
            del bad_text.scenarios[:]
            bad_text.scenarios.add(textproto="name: \"x\"\nschedule { nonsense: 1 }\n")
            cases.append(("bad textproto", bad_text, "scenarios[0].textproto"))
            for what, req, field in cases:
                code, details = code_of(lambda: stub.SubmitValidate(req, metadata=auth, timeout=60))
                check(code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(field + ":"),
                      "%s: %s %r" % (what, code, details[:120]))
                fields = bad_request_fields(lambda: stub.SubmitValidate(req, metadata=auth, timeout=60))
                check(fields == [field], "%s: BadRequest field violations %s" % (what, fields))
        elif mode == "unauthenticated":
            req = svc.ListJobsRequest()
            code, _ = code_of(lambda: stub.ListJobs(req, timeout=30))
            check(code == grpc.StatusCode.UNAUTHENTICATED, "no token: %s" % code)
            code, _ = code_of(lambda: stub.ListJobs(req, metadata=[("authorization", "Bearer wrong-token-000000")], timeout=30))
            check(code == grpc.StatusCode.UNAUTHENTICATED, "wrong token: %s" % code)
        elif mode == "queue":
            n = int(args[0])
            accepted, refused = [], 0
            for i in range(n):
                req = svc.SubmitReproduceRequest(request_id="queue-%d" % i, kernel="buggy", runs=1)
                req.scenario.name = "xfs-dax-flip-vs-write-fault"
                try:
                    accepted.append(stub.SubmitReproduce(req, metadata=auth, timeout=60).id)
                except grpc.RpcError as e:
                    check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, "refused with %s: %s" % (e.code(), e.details()))
                    refused += 1
            check(refused > 0, "%d of %d submits refused" % (refused, n))
            for job_id in accepted:
                last = follow(job_id)
                final = last.finished.job if last and last.WhichOneof("event") == "finished" else None
                check(final is not None and final.state == svc.SUCCEEDED and final.reproduce_report.reproduced == 1,
                      "accepted job %s finished and reproduced" % job_id)
        elif mode == "health":
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "racerig.pb.RaceRig"):
                resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=30)
                check(resp.status == health_pb2.HealthCheckResponse.SERVING, "health %r: SERVING" % service)
            refl = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                  timeout=30)
            names = [s.name for r in responses for s in r.list_services_response.service]
            check("racerig.pb.RaceRig" in names, "reflection lists %s" % names)
        elif mode in ("chaos-submit", "chaos-audit"):
            n = int(args[0])
            scenario = open(os.path.join(source_dir, "scenarios/xfs-dax-flip-vs-write-fault.textproto")).read()
            no_explore = scenario[:scenario.index("\nexplore {")] + scenario[scenario.index("\nexpect {"):]
            missing_point = scenario.replace('"xfs_fileattr_set"', '"racerig_chaos_no_such_symbol"')

            def chaos_request(i):
                # One job in three runs a VM (a reproduce from the ready-state
                # snapshot, seconds long: where a kill lands mid-run); the
                # others fail inside the worker (an explore of a scenario with
                # no explore {}, a reproduce whose point is no symbol), which
                # still takes the whole claim / events / finish path.
                rid = "chaos-%d" % i
                if i % 3 == 0:
                    r = svc.SubmitReproduceRequest(request_id=rid, kernel="buggy", runs=1)
                    r.scenario.name = "xfs-dax-flip-vs-write-fault"
                    return "reproduce", r
                if i % 3 == 1:
                    r = svc.SubmitExploreRequest(request_id=rid, kernel="buggy")
                    r.scenario.textproto = no_explore
                    return "explore", r
                r = svc.SubmitReproduceRequest(request_id=rid, kernel="buggy", runs=1)
                r.scenario.textproto = missing_point
                return "reproduce", r

            def fresh_stub():
                # A channel per attempt: a daemon restarted on the socket is
                # reached at once, not after gRPC's reconnect backoff.
                return svc_grpc.RaceRigStub(grpc.insecure_channel("unix:" + socket))

            if mode == "chaos-submit":
                deadline = time.time() + 600
                for i in range(n):
                    kind, req = chaos_request(i)
                    while True:
                        try:
                            job = fresh_stub().Submit(svc.SubmitRequest(**{kind: req}), metadata=auth, timeout=20)
                            print("submitted %s as job %s" % (req.request_id, job.id), flush=True)
                            break
                        except grpc.RpcError as e:
                            transient = e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                                     grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN)
                            if not transient or time.time() > deadline:
                                check(False, "submit %s: %s %s" % (req.request_id, e.code(), e.details()))
                                return 1
                            time.sleep(0.3)
                    time.sleep(random.uniform(0.2, 1.5))
                check(True, "%d submitted" % n)
            else:
                def all_jobs():
                    jobs, token = [], ""
                    while True:
                        page = fresh_stub().ListJobs(svc.ListJobsRequest(page_size=500, page_token=token),
                                                     metadata=auth, timeout=60)
                        jobs += list(page.jobs)
                        token = page.next_page_token
                        if not token:
                            return jobs

                terminal = (svc.SUCCEEDED, svc.FAILED, svc.CANCELLED, svc.INTERRUPTED)
                deadline = time.time() + 1200
                while True:
                    jobs = all_jobs()
                    waiting = [j.id for j in jobs if j.state not in terminal]
                    if not waiting or time.time() > deadline:
                        break
                    time.sleep(2)
                check(not waiting, "every job finished (still waiting: %s)" % waiting)
                check(len(jobs) == n, "%d jobs stored for %d submissions" % (len(jobs), n))
                by_rid = {}
                for j in jobs:
                    by_rid.setdefault(j.request_id, []).append(j)
                outcomes = {}
                for i in range(n):
                    rid = "chaos-%d" % i
                    found = by_rid.get(rid, [])
                    check(len(found) == 1, "%s: one job (%s)" % (rid, [j.id for j in found]))
                    if len(found) != 1:
                        continue
                    job = fresh_stub().GetJob(svc.GetJobRequest(id=found[0].id), metadata=auth, timeout=60)
                    state = svc.JobState.Name(job.state)
                    outcomes[state] = outcomes.get(state, 0) + 1
                    events = list(fresh_stub().WatchJob(svc.WatchJobRequest(id=job.id), metadata=auth, timeout=120))
                    finished = sum(1 for ev in events if ev.WhichOneof("event") == "finished")
                    check(finished == 1, "%s (job %s, %s): %d Finished events" % (rid, job.id, state, finished))
                    if job.state == svc.INTERRUPTED:
                        check(job.error != "", "%s: INTERRUPTED with a reason: %r" % (rid, job.error))
                    elif i % 3 == 0:
                        check(job.state == svc.SUCCEEDED and job.reproduce_report.reproduced == 1,
                              "%s: %s, reproduced %d" % (rid, state, job.reproduce_report.reproduced))
                    else:
                        check(job.state == svc.FAILED and job.error != "",
                              "%s: %s: %s" % (rid, state, job.error[:100]))
                print("outcomes: %s" % outcomes, flush=True)
        else:
            print("unknown mode " + mode)
            return 2
    finally:
        shutil.rmtree(stubs, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
