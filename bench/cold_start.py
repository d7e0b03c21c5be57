"""How soon a person sees the app after `make run` (already installed), and what the terminal shows.

    python bench/cold_start.py [--runs 3] [--terminal-seconds 60] [--models-dir models]

Each run starts `make run` afresh (a new server process: TensorFlow and the model load from
cold), opens the Draw page in Chromium as soon as the server answers, draws a 1 as soon as the
canvas is there, and records, from the moment `make run` was started:
  - server answering: /_stcore/health says ok (the URL is printed then);
  - canvas visible: the Draw page's title and canvas are on screen;
  - first reading: the Prediction for the drawn 1 is on screen;
and the first visit's own time to the canvas (from page.goto). Medians over the runs are printed.

Then, with --terminal-seconds > 0, one more `make run` is used as a person would for that long
(draw, then open Train, Models and My drawings, then Draw again) and every line it printed to
the terminal is shown and counted.

Chromium starts before the clock does. The servers use a tmp copy of the models folder (the
default model active) and a tmp drawings database, on a free port (STREAMLIT_SERVER_PORT).
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e import app_driver  # noqa: E402

ONE = [[(150, 50), (148, 100), (146, 150), (144, 200), (142, 240)]]
TIMEOUT_SECONDS = 180
CANVAS_TITLE = "Draw a digit"


class MakeRun:
    """`make run` in its own process group, its output collected line by line with arrival times."""

    def __init__(self, models_dir, drawings_db):
        self.port = app_driver.free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "STREAMLIT_SERVER_PORT": str(self.port),
            "DIGIT_APP_MODELS": str(models_dir),
            "DIGIT_APP_DRAWINGS_DB": str(drawings_db),
        }
        self.lines = []  # (seconds since start, text)

    def start(self):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        return self

    def _collect(self):
        for raw in self.process.stdout:
            self.lines.append((self.since_start(), raw.decode(errors="replace").rstrip("\n")))

    def since_start(self):
        return time.perf_counter() - self.started

    def wait_until_healthy(self):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("make run exited early:\n" + "\n".join(text for _, text in self.lines))
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return self.since_start()
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"make run did not answer at {self.url} within {TIMEOUT_SECONDS} s")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def one_cold_start(browser, models_dir, drawings_db):
    server = MakeRun(models_dir, drawings_db).start()
    try:
        healthy = server.wait_until_healthy()
        page = browser.new_page(viewport=app_driver.VIEWPORT)
        visit = time.perf_counter()
        page.goto(server.url)
        page.get_by_role("heading", name=CANVAS_TITLE).wait_for(timeout=TIMEOUT_SECONDS * 1000)
        app_driver.canvas_box(page, timeout_ms=TIMEOUT_SECONDS * 1000)
        canvas = server.since_start()
        first_visit_to_canvas = time.perf_counter() - visit
        drawn = False
        while not drawn:  # the canvas ignores the mouse until its drawing tool is set up
            app_driver.stroke(page, ONE[0])
            page.wait_for_timeout(300)
            drawn = (app_driver.canvas_pixels(page)[:, :, :3] < 128).any()
        app_driver.prediction_value(page).first.wait_for(timeout=TIMEOUT_SECONDS * 1000)
        reading = server.since_start()
        page.close()
        return {"healthy": healthy, "canvas": canvas, "first_visit_to_canvas": first_visit_to_canvas,
                "reading": reading}
    finally:
        server.stop()


def terminal_during_use(browser, models_dir, drawings_db, seconds):
    """Every line `make run` prints while a person uses the app for `seconds`."""
    server = MakeRun(models_dir, drawings_db).start()
    try:
        server.wait_until_healthy()
        page = app_driver.open_app(browser, server.url)
        app_driver.canvas_box(page, timeout_ms=TIMEOUT_SECONDS * 1000)
        app_driver.draw(page, ONE)
        for link in ["Train", "Models", "My drawings", "Draw"]:
            app_driver.rerun_after(page, page.get_by_role("link", name=link, exact=True).click, 60_000)
        if (left := seconds - server.since_start()) > 0:
            time.sleep(left)
        page.close()
        return [(at, text) for at, text in server.lines if at <= seconds]
    finally:
        server.stop()


def median_line(name, values):
    return f"  {name:<38} median {statistics.median(values):5.1f} s   (runs: {', '.join(f'{v:.1f}' for v in values)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--terminal-seconds", type=float, default=60)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        models_dir = Path(tmp) / "models"
        shutil.copytree(args.models_dir, models_dir, ignore=shutil.ignore_patterns(".tmp-*", "active.json"))
        drawings_db = Path(tmp) / "drawings.sqlite3"
        browser = app_driver.launch_chromium(playwright)
        runs = [one_cold_start(browser, models_dir, drawings_db) for _ in range(args.runs)]
        print(f"From `make run` (installed), {args.runs} cold starts on this machine:")
        print(median_line("server answering", [run["healthy"] for run in runs]))
        print(median_line("Draw page title and canvas visible", [run["canvas"] for run in runs]))
        print(median_line("first reading of a drawn 1", [run["reading"] for run in runs]))
        print(median_line("first visit (page.goto) to canvas", [run["first_visit_to_canvas"] for run in runs]))
        if args.terminal_seconds > 0:
            lines = terminal_during_use(browser, models_dir, drawings_db, args.terminal_seconds)
            print(f"\n`make run` printed {len(lines)} lines in its first {args.terminal_seconds:.0f} s of use "
                  "(draw, Train, Models, My drawings, Draw):")
            for at, text in lines:
                print(f"  {at:5.1f} s | {text}")
        browser.close()


if __name__ == "__main__":
    main()
