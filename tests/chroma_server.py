"""Run a real `chroma run` server for tests: 127.0.0.1, a free port, a temporary --path, no telemetry."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HEARTBEAT = "/api/v2/heartbeat"


def chroma_executable() -> str:
    beside_python = Path(sys.executable).with_name("chroma")  # the venv's bin/
    found = str(beside_python) if beside_python.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` executable is not installed")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    """The environment for the server: product telemetry off, no OpenTelemetry exporter configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["CHROMA_ANONYMIZED_TELEMETRY"] = "False"
    return env


@contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator["ChromaServer"]:
    port = free_port()
    log = open(path.parent / f"chroma-{port}.log", "wb")
    process = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=server_env(), start_new_session=True,
    )
    server = ChromaServer(process, f"http://127.0.0.1:{port}", Path(log.name))
    try:
        server.wait_until_ready(timeout)
        yield server
    finally:
        server.stop()
        log.close()


class ChromaServer:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited ({self.process.returncode}): {self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(self.url + HEARTBEAT, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run did not answer its heartbeat within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def remote_connections(self) -> list[str]:
        """Remote addresses of the server's TCP sockets that are not loopback (telemetry would show here)."""
        return [addr for addr in _tcp_peers(self.process.pid) if not _is_local(addr)]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_peers(pid: int) -> list[str]:
    inodes = _socket_inodes(pid)
    peers = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] in inodes:
                peers.append(fields[2])  # rem_address as hex ip:port
    return peers


def _is_local(hex_address: str) -> bool:
    ip = hex_address.split(":")[0]
    if len(ip) == 8:  # IPv4, little-endian
        first_octet = int(ip[6:8], 16)
        return ip == "00000000" or first_octet == 127
    # IPv6: unspecified, loopback, or IPv4-mapped loopback
    return set(ip) == {"0"} or ip == "00000000000000000000000001000000" or ip.endswith("0100007F")
