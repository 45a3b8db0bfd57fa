"""Supervising the demo's background processes: each started in its own session with a PID file that
remembers its start time, stopped as a whole process group; port checks, polling, log tails."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from quincena.devtools.demo.settings import LOOPBACK, DemoError, DemoPaths


@dataclass(frozen=True)
class Managed:
    """A process we started as a session leader; its PID file remembers when it started (PID reuse)."""

    name: str
    pid: int
    create_time: float

    def processes(self) -> list[Any]:
        """Every live process of its group (or descending from it), started no earlier than it."""
        import psutil

        found: dict[int, Any] = {}
        for proc in psutil.process_iter(["pid", "create_time", "status"]):
            with suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == self.pid and proc.info["create_time"] >= self.create_time - 1:
                    found[proc.pid] = proc
        with suppress(psutil.Error):
            leader = psutil.Process(self.pid)
            if abs(leader.create_time() - self.create_time) < 1:
                found.setdefault(leader.pid, leader)
                for child in leader.children(recursive=True):
                    found.setdefault(child.pid, child)
        return [p for p in found.values() if _is_running(p)]

    def alive(self) -> bool:
        import psutil

        try:
            leader = psutil.Process(self.pid)
            return abs(leader.create_time() - self.create_time) < 1 and _is_running(leader)
        except psutil.Error:
            return False


def _is_running(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def spawn(paths: DemoPaths, name: str, argv: list[str], env: dict[str, str]) -> Managed:
    """Start ``argv`` in a new session with its output appended to .local/logs/<name>.log.

    What is left of an earlier ``name`` whose leader died (a scheduler killed with -9 leaves its
    LocalExecutor workers running) is stopped first: its PID file is about to name the new group."""
    import psutil

    reap_orphans(paths, name)
    with paths.log_file(name).open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - argv is ours, no shell
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    managed = Managed(name, proc.pid, psutil.Process(proc.pid).create_time())
    paths.pid_file(name).write_text(json.dumps({"pid": managed.pid, "create_time": managed.create_time}))
    return managed


def reap_orphans(paths: DemoPaths, name: str) -> int:
    """Stop the survivors of ``name``'s recorded group when its leader is dead; returns how many there were."""
    previous = read_managed(paths, name)
    if previous is None or previous.alive():
        return 0
    survivors = previous.processes()
    if survivors:
        terminate([previous])
    return len(survivors)


def read_managed(paths: DemoPaths, name: str) -> Managed | None:
    try:
        data = json.loads(paths.pid_file(name).read_text())
        return Managed(name, int(data["pid"]), float(data["create_time"]))
    except (OSError, ValueError, KeyError):
        return None


def running(paths: DemoPaths, name: str) -> Managed | None:
    managed = read_managed(paths, name)
    return managed if managed and managed.alive() else None


def terminate(groups: list[Managed], grace_s: float = 20.0) -> dict[str, tuple[int, int]]:
    """SIGTERM every process of the groups at once, SIGKILL what is left after ``grace_s``.

    All at once, so slow shutdowns overlap instead of adding up. Returns, per group,
    (processes found, processes that needed SIGKILL).
    """
    import psutil

    found = {m.name: m.processes() for m in groups}
    for procs in found.values():
        for proc in procs:
            with suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
    everyone = [proc for procs in found.values() for proc in procs]
    _, left = psutil.wait_procs(everyone, timeout=grace_s)
    stubborn = {proc.pid for proc in left}
    # Late children (a task process forked while we signalled) are still in the groups: kill them too.
    late = [proc for m in groups for proc in m.processes()]
    for proc in [*left, *late]:
        with suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs([*left, *late], timeout=10)
    return {name: (len(procs), sum(p.pid in stubborn for p in procs)) for name, procs in found.items()}


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_for(what: str, check: Callable[[], Any], timeout_s: float, interval_s: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; DemoError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except DemoError:
            raise
        except Exception as exc:  # a component still starting answers with all sorts of errors
            last_error = exc
        time.sleep(interval_s)
    detail = f" (last error: {last_error})" if last_error else ""
    raise DemoError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")


def log_tail(paths: DemoPaths, name: str, lines: int = 15) -> str:
    try:
        text = paths.log_file(name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_logged(paths: DemoPaths, name: str, argv: list[str], env: dict[str, str], what: str) -> None:
    """Run a step to completion with its output in .local/logs/<name>.log; DemoError with the tail on failure."""
    with paths.log_file(name).open("ab") as out:
        result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    if result.returncode != 0:
        raise DemoError(
            f"{what} failed (exit {result.returncode}); {paths.log_file(name)} ends:\n{log_tail(paths, name)}"
        )


def wait_for_component(
    paths: DemoPaths, components: list[Managed], what: str, check: Callable[[], Any], timeout_s: float
) -> Any:
    """Wait for ``check``, failing at once (with its log) if one of the processes died meanwhile."""

    def checked() -> Any:
        for managed in components:
            if not managed.alive():
                tail = log_tail(paths, managed.name)
                raise DemoError(f"{managed.name} exited; {paths.log_file(managed.name)} ends:\n{tail}")
        return check()

    return wait_for(what, checked, timeout_s)
