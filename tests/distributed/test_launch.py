"""The launcher (``python -m imperdl.launch``): real ps-lite runs on loopback, failures, timeouts, signals, ports, and
the ssh path through a fake ``ssh`` that runs the remote command here.

Every child the launcher starts carries ``IMPERDL_LAUNCH_TAG=<uuid of the test>`` in its environment; after each
test no process with that tag may remain (``/proc/*/environ``), and any that does is killed and fails the test.
"""
from __future__ import annotations

import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

import imperdl
from imperdl.launch import LaunchError, plan, run, runner

ROOT = Path(imperdl.__file__).resolve().parent.parent  # the imperdl the children must import too
LIMIT = 90  # seconds: no test may wait longer than this for a launcher

# a worker: a dist_sync KVStore, push rank+1, pull the sum (== 1 + 2 with two workers)
KV_SUM = """
    import sys
    from imperdl.core.backends import mxnet_backend
    mx = mxnet_backend.load()
    kv = mx.kv.create("dist_sync")
    kv.init(7, mx.nd.zeros((4,)))
    kv.push(7, mx.nd.ones((4,)) * (kv.rank + 1))
    out = mx.nd.zeros((4,))
    kv.pull(7, out=out)
    print(f"rank {kv.rank} of {kv.num_workers} sum {out.asnumpy().tolist()}")
    print("to stderr", file=sys.stderr)
"""


def _tagged(tag: str) -> list[int]:
    """Pids of the processes (other than this one) whose environment carries the test's tag."""
    needle = f"IMPERDL_LAUNCH_TAG={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone meanwhile, or not ours
            pass
    return found


@pytest.fixture
def tag():
    """The test's marker; afterwards no tagged process may be left (a zombie waiting for its parent has an empty
    environ, so it does not count)."""
    value = uuid.uuid4().hex
    yield value
    end = time.monotonic() + 3
    while (left := _tagged(value)) and time.monotonic() < end:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"the launcher left processes behind: {left}"


def _env(tag: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {"IMPERDL_LAUNCH_TAG": tag, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def _script(tmp_path: Path, text: str, name: str = "job.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _launch(argv, workers, tag, **kw):
    """``run`` with its output captured: (status, stdout text, stderr text)."""
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("timeout", LIMIT)
    status = run(argv, workers, env=_env(tag), output=out, errors=err, **kw)
    return status, out.getvalue(), err.getvalue()


class _Lines:
    """A launcher started as a command, its stdout read by a thread (so waiting for a line is bounded)."""

    def __init__(self, args, env):
        self.proc = subprocess.Popen([sys.executable, "-m", "imperdl.launch", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, count: int, timeout: float) -> None:
        end = time.monotonic() + timeout
        while sum(bool(re.search(pattern, s)) for s in self.seen) < count:
            self.seen.append(self.lines.get(timeout=max(0.01, end - time.monotonic())))

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            _, err = self.proc.communicate(timeout=timeout)
            return self.proc.returncode, err
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# -- plan: the hostfile and where each role runs


def test_hostfile_hosts_slots_comments(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("# cluster\nalpha:2   # two workers a round\n\nbeta\n10.0.0.3:1\n::1\n")
    assert plan.read_hostfile(str(path)) == [plan.Host("alpha", 2), plan.Host("beta"), plan.Host("10.0.0.3"),
                                             plan.Host("::1")]


@pytest.mark.parametrize("text, message", [
    ("alpha:0\n", r"hosts:1: slots must be a positive integer, got '0'"),
    ("alpha\nbeta:x\n", r"hosts:2: slots must be a positive integer, got 'x'"),
    ("alpha beta\n", r"hosts:1: expected 'host' or 'host:slots'"),
    ("# nobody\n", r"names no host"),
])
def test_hostfile_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "hosts"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        plan.read_hostfile(str(path))


def test_placement_round_robin_by_slots():
    nodes = plan.place(5, 3, [plan.Host("a", 2), plan.Host("b", 1)])
    assert [(n.label, n.host) for n in nodes] == [
        ("scheduler", "a"), ("server 0", "a"), ("server 1", "b"), ("server 2", "a"),
        ("worker 0", "a"), ("worker 1", "b"), ("worker 2", "a"), ("worker 3", "a"), ("worker 4", "b")]
    assert [n.label for n in plan.place(2, 1)] == ["scheduler", "server 0", "worker 0", "worker 1"]


def test_environment_contract():
    worker = plan.node_env(plan.Node("worker", 1), root_uri="10.0.0.1", port=9000, workers=2, servers=1,
                           node_host="10.0.0.2", local=False)
    assert worker == {"DMLC_PS_ROOT_URI": "10.0.0.1", "DMLC_PS_ROOT_PORT": "9000", "DMLC_NUM_SERVER": "1",
                      "DMLC_NUM_WORKER": "2", "DMLC_ROLE": "worker", "DMLC_NODE_HOST": "10.0.0.2",
                      "PYTHONUNBUFFERED": "1", "IMPERDL_LAUNCH": "1", "IMPERDL_LAUNCH_INDEX": "1"}
    server = plan.node_env(plan.Node("server", 0), root_uri="127.0.0.1", port=9000, workers=2, servers=1,
                           node_host="127.0.0.1", local=True)
    assert server["DMLC_INTERFACE"] == "lo" and server["DMLC_ROLE"] == "server"
    assert "IMPERDL_LAUNCH" not in server


def test_remote_command_quotes_everything():
    cmd = plan.remote_command(["ssh", "-p", "2222"], "h1", "/work/my dir", {"A": "x y", "B": "$HOME"},
                              ["/usr/bin/python3", "job.py", "it's"])
    assert cmd[:7] == ["ssh", "-p", "2222", "-o", "BatchMode=yes", "-tt", "h1"]
    assert cmd[7] == "cd '/work/my dir' && exec env 'A=x y' 'B=$HOME' /usr/bin/python3 job.py 'it'\"'\"'s'"


def test_hostfile_mixing_loopback_and_remote_is_refused():
    with pytest.raises(ValueError, match=r"mixes loopback hosts \(localhost\) with other machines \(b\)"):
        plan.check_reachable({"localhost": "127.0.0.1", "b": "10.1.2.3"})
    plan.check_reachable({"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1"})


@pytest.mark.parametrize("kw, message", [
    ({"workers": 0}, r"workers must be an integer >= 1, got 0"),
    ({"workers": 1, "servers": 0}, r"servers must be an integer >= 1, got 0"),
    ({"workers": 1, "timeout": -1}, r"timeout must be a positive number"),
    ({"workers": 1, "port": 70000}, r"port must be an integer in 1\.\.65535"),
])
def test_bad_arguments_are_refused_before_starting(kw, message, tag):
    with pytest.raises(ValueError, match=message):
        run(["job.py"], env=_env(tag), **kw)


def test_without_mxnet_a_local_launch_is_refused_before_starting(monkeypatch, tag):
    monkeypatch.setattr(runner, "mxnet_installed", lambda: False)
    with pytest.raises(LaunchError, match=r"MXNet is not installed here: pip install 'imperdl\[mxnet\]'"):
        run(["job.py"], workers=2, env=_env(tag))


def test_command_line_leaves_the_scripts_options_to_the_script():
    from imperdl.launch.__main__ import main, parser

    ns = parser().parse_args(["-n", "2", "--timeout", "9", "train.py", "--timeout", "5", "-n", "3"])
    assert (ns.workers, ns.timeout, ns.script, ns.args) == (2, 9.0, "train.py", ["--timeout", "5", "-n", "3"])
    with pytest.raises(SystemExit) as e:
        main(["-n", "1", "--env", "NOVALUE", "train.py"])
    assert e.value.code == 2


# -- real runs on loopback


@pytest.mark.mxnet  # (the scheduler and server are MXNet)
def test_output_lines_arrive_whole_and_prefixed(tmp_path, tag):
    """Two workers writing long lines fast to stdout and stderr: every line arrives whole, once, with its prefix;
    a last line without a newline too. The workers use no KVStore, so the scheduler and server are stopped after
    ``finish_grace``, and the launcher says so."""
    script = _script(tmp_path, """
        import os, sys
        i = os.environ["IMPERDL_LAUNCH_INDEX"]
        for n in range(300):
            print(f"out {i} {n} " + i * 5000)
            print(f"err {i} {n} " + i * 3000, file=sys.stderr)
        sys.stdout.write(f"tail {i}")
    """)
    status, out, err = _launch([script], 2, tag, finish_grace=0.5)
    assert status == 0, err[-2000:]
    for stream, kind, width in ((out, "out", 5000), (err, "err", 3000)):
        lines = [line for line in stream.splitlines() if not line.startswith(("[launch]", "[scheduler]", "[server"))]
        expected = {f"[worker {i}] {kind} {i} {n} " + str(i) * width for i in (0, 1) for n in range(300)}
        if kind == "out":
            expected |= {"[worker 0] tail 0", "[worker 1] tail 1"}
        assert len(lines) == len(expected) and set(lines) == expected
    assert re.search(r"^\[launch\] every worker exited 0, but scheduler, server 0 did not stop within 0\.5 s", err,
                     re.M)


@pytest.mark.mxnet
def test_two_workers_one_server_sum_through_the_kvstore(tmp_path, tag, monkeypatch):
    """The whole run on loopback, after a port clash: the free port the launcher chose first is taken by someone
    else before the scheduler binds it, so the scheduler exits ``BIND_FAILED`` and the launcher starts everything
    again on another port. Then each worker pushes rank+1 and pulls the sum, 1 + 2."""
    with socket.socket() as squatter:
        squatter.bind(("", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(runner, "free_port", lambda: next(ports, None) or _free())
        status, out, err = _launch([_script(tmp_path, KV_SUM)], 2, tag)
    assert status == 0, out + err
    assert f"[launch] port {taken} was taken before the scheduler bound it; starting again (attempt 2 of 5)" in err
    assert "[scheduler] the scheduler could not bind its port" in err
    results = re.findall(r"^\[worker (\d)\] rank (\d) of 2 sum \[3\.0, 3\.0, 3\.0, 3\.0\]$", out, re.M)
    assert sorted(w for w, _ in results) == ["0", "1"] and sorted(r for _, r in results) == ["0", "1"], out
    assert sorted(re.findall(r"^\[worker (\d)\] to stderr$", err, re.M)) == ["0", "1"], err
    assert "to stderr" not in out and "MXNet start using engine" not in out + err


@pytest.mark.mxnet
def test_failing_worker_stops_everything_and_gives_its_status(tmp_path, tag):
    """Worker 1 exits 3 while worker 0 waits inside a KVStore pull for it: status 3, all gone within seconds."""
    stamp = tmp_path / "failed_at"
    script = _script(tmp_path, f"""
        import os, sys, time
        from imperdl.core.backends import mxnet_backend
        mx = mxnet_backend.load()
        kv = mx.kv.create("dist_sync")
        kv.init(7, mx.nd.zeros((4,)))
        if os.environ["IMPERDL_LAUNCH_INDEX"] == "1":
            print("giving up", flush=True)
            open({str(stamp)!r}, "w").write(repr(time.time()))
            os._exit(3)
        kv.push(7, mx.nd.ones((4,)))
        out = mx.nd.zeros((4,))
        kv.pull(7, out=out)  # never completes: worker 1 never pushes
        out.wait_to_read()
        print("unreachable")
    """)
    status, out, err = _launch([script], 2, tag)
    teardown = time.time() - float(stamp.read_text())
    assert status == 3, out + err
    assert "[worker 1] giving up" in out and "unreachable" not in out
    assert "[launch] worker 1 exited with status 3; stopping scheduler, server 0, worker 0\n" in err
    assert not _tagged(tag)  # run() returned: nothing of it runs any more
    assert teardown < 5, f"teardown took {teardown:.1f} s"


@pytest.mark.mxnet  # (the scheduler and server are MXNet)
def test_hanging_worker_ends_at_the_timeout(tmp_path, tag):
    script = _script(tmp_path, """
        import os, subprocess, time
        if os.environ["IMPERDL_LAUNCH_INDEX"] == "0":
            subprocess.Popen(["sleep", "600"])  # a grandchild: the process-group signals must reach it too
            time.sleep(600)
        print("finished")
    """)
    t0 = time.monotonic()
    status, out, err = _launch([script], 2, tag, timeout=3)
    elapsed = time.monotonic() - t0
    assert status == runner.TIMED_OUT == 124
    assert "[worker 1] finished" in out
    assert "[launch] timed out after 3 s; still running: worker 0; stopping scheduler, server 0, worker 0" in err
    assert 3 <= elapsed < 3 + 8, elapsed
    assert not _tagged(tag)


@pytest.mark.mxnet  # (the scheduler and server are MXNet)
def test_worker_killed_by_a_signal_is_named(tmp_path, tag):
    script = _script(tmp_path, """
        import os, signal, time
        if os.environ["IMPERDL_LAUNCH_INDEX"] == "1":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(600)
    """)
    status, out, err = _launch([script], 2, tag)
    assert status == 128 + 9
    assert "[launch] worker 1 was killed by signal 9 (SIGKILL)" in err


def _sleeping_workers(tmp_path, tag) -> _Lines:
    """A launcher whose two workers have said they are ready and then sleep."""
    script = _script(tmp_path, """
        import os, time
        print("ready", os.environ["IMPERDL_LAUNCH_INDEX"])
        time.sleep(600)
    """)
    launcher = _Lines(["-n", "2", script], {**os.environ, **_env(tag)})
    try:
        launcher.wait_for(r"^\[worker \d\] ready", 2, timeout=LIMIT)
    except BaseException:
        launcher.finish(timeout=LIMIT)
        raise
    return launcher


@pytest.mark.mxnet
@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_to_the_launcher_stops_everything(tmp_path, tag, sig, status):
    launcher = _sleeping_workers(tmp_path, tag)
    try:
        launcher.proc.send_signal(sig)
    finally:
        rc, err = launcher.finish(timeout=LIMIT)
    assert rc == status, err
    assert f"[launch] got {sig.name}; stopping scheduler, server 0, worker 0, worker 1" in err


@pytest.mark.mxnet  # (the scheduler and server are MXNet)
def test_launcher_killed_by_sigkill_leaves_nothing(tmp_path, tag):
    """SIGKILL runs none of the launcher's cleanup: the kernel's parent-death signal stops its children."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    launcher = _sleeping_workers(tmp_path, tag)
    try:
        assert len(_tagged(tag)) >= 5  # the launcher, scheduler, server, two workers
        launcher.proc.kill()
    finally:
        rc, _ = launcher.finish(timeout=LIMIT)
    assert rc == -signal.SIGKILL  # (the tag fixture then checks that every child went with it)


@pytest.mark.mxnet  # (the MXNet check comes first)
def test_explicit_port_in_use_is_a_clear_error(tmp_path, tag):
    with socket.socket() as squatter:
        squatter.bind(("", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(LaunchError, match=rf"port {port} is already in use on this machine: pass another --port"):
            _launch([_script(tmp_path, "print('never')")], 1, tag, port=port)
        proc = subprocess.run([sys.executable, "-m", "imperdl.launch", "-n", "1", "--port", str(port), "job.py"],
                              env={**os.environ, **_env(tag)}, capture_output=True, text=True, timeout=LIMIT)
    assert proc.returncode == 1
    assert f"imperdl.launch: error: port {port} is already in use" in proc.stderr


@pytest.mark.mxnet
def test_node_reports_mxnets_own_bind_failure(tag):
    """The port taken between the node's quick check and MXNet's bind: MXNet's error becomes ``BIND_FAILED``."""
    code = "import sys, imperdl.launch.node as n; n._port_free = lambda port: True; sys.exit(n.main())"
    with socket.socket() as squatter:
        squatter.bind(("", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        variables = plan.node_env(plan.Node("scheduler", 0), root_uri="127.0.0.1", port=port, workers=1, servers=1,
                                  node_host="127.0.0.1", local=True)
        proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **_env(tag), **variables},
                              capture_output=True, text=True, timeout=LIMIT)
    assert proc.returncode == plan.BIND_FAILED == 98, proc.stderr
    assert f"the scheduler could not bind its port ({port} for the scheduler): it is in use" in proc.stderr


def _free() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


# -- over ssh (a fake ssh that runs the remote command here)

FAKE_SSH = """#!{python}
# ssh stand-in: skip the options, log the host and role, run the remote command here with sh. The scheduler is only
# started once both workers have loaded MXNet (their marker files exist): the workers then create their KVStore
# while no scheduler listens yet, and must still connect
import glob, os, re, sys, time
args = sys.argv[1:]
i = 0
while args[i].startswith("-"):
    i += 2 if args[i] in ("-o", "-p", "-l", "-i") else 1
host, command = args[i], args[i + 1]
role = re.search(r"DMLC_ROLE=(\\w+)", command).group(1)
with open({log!r}, "a") as f:
    f.write(f"{{host}} {{role}} {{' '.join(args[:i])}}\\n")
if role == "scheduler":
    end = time.monotonic() + 60
    while len(glob.glob({ready!r} + "/ready.*")) < 2 and time.monotonic() < end:
        time.sleep(0.05)
os.execvp("sh", ["sh", "-c", command])
"""


@pytest.mark.mxnet
def test_hostfile_over_a_fake_ssh(tmp_path, tag):
    log = tmp_path / "ssh.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.format(python=sys.executable, log=str(log), ready=str(tmp_path)))
    marker = f'    open(f"{tmp_path}/ready.{{os.getpid()}}", "w").close()\n'
    worker = KV_SUM.replace("    kv = mx.kv.create", "    import os\n" + marker + "    kv = mx.kv.create")
    ssh.chmod(0o755)
    hosts = tmp_path / "hosts"
    hosts.write_text("# two 'machines'\nlocalhost\n127.0.0.1:1\n")
    env = {**os.environ, **_env(tag), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "IMPERDL_SSH": "ssh -p 2222"}
    proc = subprocess.Popen([sys.executable, "-m", "imperdl.launch", "-n", "2", "--hostfile", str(hosts),
                             "--timeout", str(LIMIT), _script(tmp_path, worker)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=LIMIT + 10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out + err
    assert len(re.findall(r"^\[worker \d\] rank \d of 2 sum \[3\.0, 3\.0, 3\.0, 3\.0\]$", out, re.M)) == 2, out
    assert "over ssh (2 host(s))" in err
    assert len(list(tmp_path.glob("ready.*"))) == 2
    started = sorted(log.read_text().splitlines())
    options = "-p 2222 -o BatchMode=yes -tt"
    assert started == sorted([f"localhost scheduler {options}", f"localhost server {options}",
                              f"localhost worker {options}", f"127.0.0.1 worker {options}"])
