"""Helpers for tests that start a `modconsole-server` process of their own."""

from __future__ import annotations

import subprocess


def stop_server(process: subprocess.Popen[str]) -> None:
    """SIGTERM (a clean close), SIGKILL if that takes over ten seconds; then close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
