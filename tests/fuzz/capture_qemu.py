#!/usr/bin/env python3
"""Captures seed inputs for fuzz_rsp and fuzz_qmp from a real QEMU.

Starts qemu-system-x86_64 (firmware only, 2 vCPUs, stopped, TCG) with a
gdbstub and a QMP socket, speaks each protocol the way racerig's clients do
(and a few requests they do not, for variety), and writes what QEMU sent,
byte for byte, one file per exchange:
  corpus/fuzz_rsp/qemu-<name>   (prefixed by one chunk-size byte, see fuzz_rsp.cc)
  corpus/fuzz_qmp/qemu-<name>
Usage: capture_qemu.py OUT_DIR (tests/fuzz/corpus)
"""
import os, socket, subprocess, sys, tempfile, time

out = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="racerig-capture-")
gdb_path, qmp_path = os.path.join(tmp, "gdb"), os.path.join(tmp, "qmp")
qemu = subprocess.Popen(["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-smp", "2", "-m", "128",
                         "-display", "none", "-nodefaults", "-S",
                         "-chardev", f"socket,id=g,path={gdb_path},server=on,wait=off", "-gdb", "chardev:g",
                         "-qmp", f"unix:{qmp_path},server=on,wait=off"])


def connect(path):
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.settimeout(5)
            return s
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no socket {path}")


def read_for(s, seconds):
    data = b""
    end = time.time() + seconds
    s.settimeout(0.2)
    while time.time() < end:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            if data:
                break
    return data


def save(kind, name, data, prefix=b""):
    os.makedirs(os.path.join(out, kind), exist_ok=True)
    with open(os.path.join(out, kind, "qemu-" + name), "wb") as f:
        f.write(prefix + data)


def checksum(p):
    return sum(p.encode()) % 256


try:
    q = connect(qmp_path)
    stream = read_for(q, 2)
    for i, cmd in enumerate(['{"execute":"qmp_capabilities","id":1}', '{"execute":"query-status","id":2}',
                             '{"execute":"cont","id":3}', '{"execute":"stop","id":4}',
                             '{"execute":"query-cpus-fast","id":5}', '{"execute":"no-such-command","id":6}',
                             '{"execute":"human-monitor-command","arguments":{"command-line":"info registers"},"id":7}',
                             '{"execute":"query-version","id":8}', '{"execute":"system_reset","id":9}',
                             '{"execute":"query-migrate","id":10}', 'not json', '{"execute":"cont","id":11}']):
        q.sendall(cmd.encode() + b"\n")
        stream += read_for(q, 1)
    save("fuzz_qmp", "session", stream)
    for n, line in enumerate(stream.split(b"\n")):
        if line:
            save("fuzz_qmp", f"line{n:02d}", line)
    q.sendall(b'{"execute":"stop","id":12}\n')
    read_for(q, 1)

    g = connect(gdb_path)
    exchanges = ["qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;"
                 "vContSupported+;QThreadEvents+;no-resumed+;xmlRegisters=i386", "vMustReplyEmpty", "QStartNoAckMode",
                 "Hg0", "qXfer:features:read:target.xml:0,ffb", "qXfer:features:read:i386-64bit.xml:0,ffb",
                 "qTStatus", "?", "qfThreadInfo", "qsThreadInfo", "qAttached", "Hc-1", "qC", "g", "p10", "m0,40",
                 "mfffffff0,10", "Z1,fff0,1", "z1,fff0,1", "Z0,ffffffff81000000,1", "Hg2", "g", "qOffsets",
                 "vCont?", "T1", "T3", "qThreadExtraInfo,1", "vCont;s:1", "vCont;c:2"]
    all_bytes = b""
    ack = True
    for n, p in enumerate(exchanges):
        g.sendall(f"${p}#{checksum(p):02x}".encode())
        reply = read_for(g, 3)
        if ack:
            g.sendall(b"+")
        if p == "QStartNoAckMode":
            ack = False
        save("fuzz_rsp", f"{n:02d}-" + "".join(c if c.isalnum() else "_" for c in p)[:24], reply, prefix=b"\x07")
        all_bytes += reply
    # A stop reply while running: interrupt.
    g.sendall(b"\x03")
    reply = read_for(g, 3)
    save("fuzz_rsp", "interrupt", reply, prefix=b"\x00")
    all_bytes += reply
    save("fuzz_rsp", "session", all_bytes, prefix=b"\x3f")
finally:
    qemu.kill()
    qemu.wait()
