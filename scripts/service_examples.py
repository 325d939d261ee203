#!/usr/bin/env python3
"""`make examples`, second half: the bundled examples graded through the grading service.

Starts `grader serve` on SQLite (build/service/, a free loopback port), adds one student per
example with `grader service students`, sends each example with `grader submit --wait` and
writes the service's answer to reports/service-<example>.json, then stops the service. Usage:

    .venv/bin/python scripts/service_examples.py build/examples
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADER = [sys.executable, "-m", "grader"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(examples: Path) -> int:
    data = ROOT / "build" / "service"
    shutil.rmtree(data, ignore_errors=True)
    folders = sorted(p for p in examples.iterdir() if (p / "manage.py").exists())
    roster = "student_id,name\n" + "".join(f"{p.name},{p.name}\n" for p in folders)
    made = subprocess.run(
        [*GRADER, "service", "--data", str(data), "students", "-"], input=roster, capture_output=True, text=True
    )
    if made.returncode:
        print(made.stderr, file=sys.stderr)
        return made.returncode
    tokens = {r["student_id"]: r["token"] for r in csv.DictReader(io.StringIO(made.stdout))}
    url = f"http://127.0.0.1:{_port()}"
    sys.path.insert(0, str(ROOT))
    from grader import sandbox

    problem = sandbox.bwrap_problem()
    if problem:  # the examples are the course's own code: graded without isolation, and said
        print(f"note: {problem}; the service grades the examples with --sandbox none")
    log = open(data / "serve.log", "wb")
    serve = subprocess.Popen(
        [
            *GRADER,
            "serve",
            "--data",
            str(data),
            "--bind",
            url.removeprefix("http://"),
            "--sandbox",
            "none" if problem else "auto",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                if serve.poll() is not None:
                    print((data / "serve.log").read_text(), file=sys.stderr)
                    return 3
                time.sleep(0.2)
        print(f"the grading service on {url} (build/service/): each example sent with grader submit")
        reports = ROOT / "reports"
        reports.mkdir(exist_ok=True)
        failed = 0
        for folder in folders:
            assignment = folder.name.rsplit("-", 1)[0]
            done = subprocess.run(
                [*GRADER, "submit", url, str(folder), "-a", assignment, "--wait", "--json"],
                capture_output=True,
                text=True,
                env={**os.environ, "GRADER_TOKEN": tokens[folder.name]},
            )
            if done.returncode:
                print(f"{folder.name}: {done.stderr.strip()}", file=sys.stderr)
                failed += 1
                continue
            result = json.loads(done.stdout)
            (reports / f"service-{folder.name}.json").write_text(json.dumps(result, indent=2) + "\n")
            print(
                f"reports/service-{folder.name}.json: {result['status']} {result.get('score', 0):g}/{result.get('max_score', 0):g}"
            )
        return 1 if failed else 0
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/examples")))
