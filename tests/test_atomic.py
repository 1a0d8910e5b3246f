"""Tests of atomic writing (kronpde.io.atomic) and the target checks: failures, signals, modes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from kronpde.io.atomic import replace_atomically
from kronpde.io.vtk import OutputError, check_writable, write_result

ALL = [".vti", ".vtr", ".vtu", ".vtk", ".xdmf"]


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _nodes(d):
    return [np.linspace(0.0, 1.0 + i, 5 - i) for i in range(d)]


# ----------------------------------------------------------------------------- signals


_CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import numpy as np
    from kronpde.io.vtk import write_result

    target, n, signum = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    folder, prefix = os.path.dirname(target), "." + os.path.basename(target) + "."

    def watch():  # signal this process once its temporary has its first bytes
        while True:
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                if name.startswith(prefix) and os.path.getsize(path) > 0:
                    os.kill(os.getpid(), signum)
                    return
            time.sleep(0.0005)

    x = np.linspace(0.0, 1.0, n)
    u = np.random.default_rng(0).standard_normal((n, n, n))
    threading.Thread(target=watch, daemon=True).start()
    write_result(target, [x, x, x], {"u": u, "v": -u, "w": 2 * u}, compression=6)
    print("done", flush=True)
    """
)


def _signal_mid_write(tmp_path, name, n, signum):
    """Run a child writing ``name`` that signals itself as soon as its temporary has data.

    The signal comes from a thread of the child, so no scheduling of this process can
    let the write finish first (a compressed write of three n**3 arrays takes far longer
    than the watcher's half-millisecond polling).
    """
    target = tmp_path / name
    target.write_bytes(b"previous result")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(target), str(n), str(int(signum))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "done" not in proc.stdout, "the write finished before the signal; make it larger"
    return proc.returncode, proc.stderr, target


@pytest.mark.parametrize(("name", "n"), [("big.vti", 161), ("big.vtu", 81)])
def test_sigterm_mid_write_removes_the_temporary_and_terminates(tmp_path, name, n):
    code, err, target = _signal_mid_write(tmp_path, name, n, signal.SIGTERM)
    assert code == -signal.SIGTERM  # killed by it, as without the handler (143 in a shell)
    assert target.read_bytes() == b"previous result"
    assert _listing(tmp_path) == [name]


def test_sigint_mid_write_removes_the_temporary_and_interrupts(tmp_path):
    code, err, target = _signal_mid_write(tmp_path, "big.vtr", 161, signal.SIGINT)
    assert "KeyboardInterrupt" in err  # Python's own SIGINT handler ran
    assert code == -signal.SIGINT  # and the interpreter ended by SIGINT, as it does
    assert target.read_bytes() == b"previous result"
    assert _listing(tmp_path) == ["big.vtr"]


def _writer_signalling(signum, seen):
    """A write() that signals its own process halfway through its file."""

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write("first half ")
            seen["during"] = signal.getsignal(signum)
            os.kill(os.getpid(), signum)
            time.sleep(0.05)  # the handler runs here
            fh.write("second half")

    return write


def test_an_applications_handler_is_called_and_the_write_completes(tmp_path):
    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        seen = {}
        target = tmp_path / "out.txt"
        replace_atomically(target, _writer_signalling(signal.SIGTERM, seen), OutputError)
        assert calls == [signal.SIGTERM]
        assert seen["during"] is not handler  # ours was installed around the write
        assert signal.getsignal(signal.SIGTERM) is handler  # and the application's restored
        assert target.read_text() == "first half second half"
        assert _listing(tmp_path) == ["out.txt"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_applications_handler_that_exits_unwinds_the_write(tmp_path):
    def handler(signum, frame):
        raise SystemExit(3)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        target = tmp_path / "out.txt"
        target.write_text("previous")
        with pytest.raises(SystemExit) as info:
            replace_atomically(target, _writer_signalling(signal.SIGTERM, {}), OutputError)
        assert info.value.code == 3
        assert target.read_text() == "previous"
        assert _listing(tmp_path) == ["out.txt"]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_keyboard_interrupt_in_process(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    assert callable(before)
    with pytest.raises(KeyboardInterrupt):
        replace_atomically(tmp_path / "out.txt", _writer_signalling(signal.SIGINT, {}), OutputError)
    assert _listing(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_signal_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        seen = {}
        target = tmp_path / "out.txt"
        replace_atomically(target, _writer_signalling(signal.SIGTERM, seen), OutputError)
        assert seen["during"] == signal.SIG_IGN
        assert target.read_text() == "first half second half"
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_writes_from_another_thread_leave_the_handlers_alone(tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    seen = {}

    def write(tmp):
        seen["during"] = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        with open(tmp, "w") as fh:
            fh.write("ok")

    def run():
        seen["out"] = replace_atomically(tmp_path / "out.txt", write, OutputError)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen["during"] == before
    assert seen["out"].read_text() == "ok"


def test_handlers_are_restored_after_a_write(tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    for ext in ALL:
        write_result(tmp_path / f"r{ext}", _nodes(2), {"u": np.zeros((5, 4))})
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


# ----------------------------------------------------------------------------- failures, modes


def test_failing_write_wraps_the_error_and_removes_the_temporary(tmp_path):
    exc = OSError(28, "No space left on device")

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write("partial")
        raise exc

    target = tmp_path / "out.vtr"
    target.write_bytes(b"previous result")
    os.chmod(target, 0o640)
    with pytest.raises(OutputError, match="No space left on device") as info:
        replace_atomically(target, write, OutputError)
    assert info.value.__cause__ is exc
    assert target.read_bytes() == b"previous result"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _listing(tmp_path) == ["out.vtr"]


@pytest.mark.parametrize("ext", ALL)
def test_successful_write_replaces_file_and_keeps_its_mode(tmp_path, ext):
    target = tmp_path / f"out{ext}"
    target.write_bytes(b"previous result")
    os.chmod(target, 0o600)
    write_result(target, _nodes(1), {"u": np.ones(5)})
    assert target.read_bytes() != b"previous result"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _listing(tmp_path) == [f"out{ext}"]


@pytest.mark.parametrize("ext", [".vti", ".vtu"])
def test_new_file_gets_umask_permissions(tmp_path, ext):
    old = os.umask(0o027)
    try:
        write_result(tmp_path / f"out{ext}", _nodes(1), {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / f"out{ext}").stat().st_mode) == 0o640


def _unwritable_target(tmp_path, name):
    """A target whose folder cannot be written to. chmod does not stop root, so there
    the 'folder' is a regular file, which fails for everyone."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        parent = tmp_path / "not_a_folder"
        parent.write_text("")
        return parent / name, "is not a folder"
    parent = tmp_path / "readonly"
    parent.mkdir()
    parent.chmod(0o500)
    return parent / name, "is not writable"


@pytest.mark.parametrize("ext", [".vti", ".vtu"])
def test_unwritable_folder(tmp_path, ext):
    target, match = _unwritable_target(tmp_path, f"out{ext}")
    before = _listing(tmp_path)
    try:
        with pytest.raises(OutputError, match=match):
            check_writable(target)
        with pytest.raises(OutputError, match=match) as info:
            write_result(target, _nodes(2), {"u": np.zeros((5, 4))})
        assert str(target.parent) in str(info.value)
        assert _listing(tmp_path) == before
        if target.parent.is_dir():
            assert _listing(target.parent) == []
    finally:
        if target.parent.is_dir():
            target.parent.chmod(0o700)


def test_parent_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    for ext in ALL:
        with pytest.raises(OutputError, match="is not a folder"):
            write_result(tmp_path / "f" / f"out{ext}", _nodes(1), {})
    assert _listing(tmp_path) == ["f"]


def test_missing_folder(tmp_path):
    for ext in ALL:
        target = tmp_path / "missing" / "deeper" / f"out{ext}"
        with pytest.raises(OutputError, match="does not exist") as info:
            write_result(target, _nodes(1), {})
        assert str(target.parent) in str(info.value)
        assert isinstance(info.value, OSError)
    assert _listing(tmp_path) == []


def test_target_is_a_folder(tmp_path):
    (tmp_path / "out.vtr").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        write_result(tmp_path / "out.vtr", _nodes(1), {})
    assert _listing(tmp_path) == ["out.vtr"]
    assert _listing(tmp_path / "out.vtr") == []


def test_check_writable_creates_nothing(tmp_path):
    for ext in ALL:
        assert check_writable(tmp_path / f"out{ext}") == tmp_path / f"out{ext}"
        assert check_writable(str(tmp_path / f"out{ext}")) == tmp_path / f"out{ext}"
    with pytest.raises(OutputError, match="does not exist"):
        check_writable(tmp_path / "missing" / "out.vti")
    assert _listing(tmp_path) == []


def test_relative_path_in_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_writable("out.vti").name == "out.vti"
    write_result("out.vti", _nodes(1), {"u": np.zeros(5)})
    write_result("out.vtu", _nodes(1), {"u": np.zeros(5)})
    assert _listing(tmp_path) == ["out.vti", "out.vtu"]
