"""How the app answers drawings while a training runs, and whether the server gives its memory back.

    python bench/app_under_training.py [--sessions 10] [--rounds 20] [--models-dir models]

Starts `streamlit run streamlit_app.py` on a tmp copy of the models folder and opens --sessions
Draw pages in Chromium, each its own session. In each round every session draws a digit (a 1 or
a 0, alternately), then each waits for its reading, then each clears its canvas: about one stroke
per second per session. Times are measured in the browser, from mouse-up to the DOM showing the
expected reading (the canvas component's 200 ms debounce included). Prints:

  (a) the reading latency, median, 95th percentile and worst, with no job running;
  (b) the same while a full-size training runs (cnn, all 54,000 training digits), started on the
      Train page of another session, and stopped afterwards;
  (c) the server's resident memory (VmRSS of the `streamlit run` process) before and after three
      one-epoch full-size trainings, each started and followed to its results on the Train page.

The job runs in its own process (digit_app.jobs), so (b) measures what the server has left once
the job's process has taken its share of the two cores, and (c) what the server keeps of jobs
whose progress and results it has drawn.

What it decided: the Train page redraws its live chart within an epoch only every
LIVE_CHART_SECONDS (digit_app/ui/train.py). Drawing it costs the server about 130 ms of CPU under
the interpreter lock; redrawn every second, that was an eighth of a core taken from the drawing
sessions.
"""

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.app_latency import ONE, WATCH_METRIC, ZERO, percentile  # noqa: E402
from tests.e2e import app_driver  # noqa: E402

READING_TIMEOUT_MS = 120_000  # a frozen server must show up as a long time, not as an error
TRAINING_TIMEOUT_MS = 900_000
FREEZE_MS = 1000  # a reading later than this, beyond the canvas's own 200 ms debounce, is a freeze
DEBOUNCE_MS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="drawing sessions (default 10)")
    parser.add_argument("--rounds", type=int, default=20, help="timed drawings per session and phase (default 20)")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models", help="models folder to copy")
    return parser.parse_args(argv)


def resident_megabytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_draw_sessions(browser, url, count):
    pages = []
    for _ in range(count):
        page = app_driver.open_app(browser, url)
        app_driver.canvas_box(page)
        pages.append(page)
    return pages


def drawing_round(pages, strokes, digit):
    """Every session draws, then every session waits for its reading; returns the times in ms."""
    for page in pages:
        page.evaluate(WATCH_METRIC, ["Prediction", digit])
        for points in strokes:
            app_driver.stroke(page, points)
    times = []
    for page in pages:
        page.wait_for_function("() => window.__latency.shown !== null", timeout=READING_TIMEOUT_MS, polling="raf")
        times.append(page.evaluate("() => window.__latency.shown - window.__latency.mouseUp"))
    for page in pages:  # clear every canvas; the next round waits until each shows no reading
        page.get_by_role("button", name="Reset canvas & history").click()
    for page in pages:
        page.wait_for_function("() => window.__latencyValueOf() === null", timeout=READING_TIMEOUT_MS)
    return times


def time_readings(pages, rounds):
    drawing_round(pages, ONE, "1")  # warm-up: not counted
    drawing_round(pages, ZERO, "0")
    times = []
    for index in range(rounds):
        strokes, digit = (ONE, "1") if index % 2 == 0 else (ZERO, "0")
        times.extend(drawing_round(pages, strokes, digit))
    return times


def report(name, times):
    late = sum(time - DEBOUNCE_MS > FREEZE_MS for time in times)
    print(f"  {name:28s} median {statistics.median(times):6.0f} ms   95th percentile {percentile(times, 0.95):6.0f} ms"
          f"   worst {max(times):6.0f} ms   later than {FREEZE_MS + DEBOUNCE_MS} ms: {late} of {len(times)}")


def open_train_page(browser, url):
    page = app_driver.open_app(browser, url)
    app_driver.rerun_after(page, page.get_by_role("link", name="Train", exact=True).click)
    return page


def start_training(page, epochs):
    field = page.locator(".st-key-epochs input")
    if field.input_value() != str(epochs):  # an unchanged value would start no rerun to wait for
        field.fill(str(epochs))
        app_driver.rerun_after(page, lambda: field.press("Enter"))
    page.locator(".st-key-start_training button").click()
    expect(page.get_by_text(re.compile(r"^Epoch 1 of \d+ · batch"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="app-under-training-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(args.models_dir, tmp / "models", ignore=shutil.ignore_patterns(".tmp-*", "active.json", "jobs"))
        env = {"DIGIT_APP_MODELS": str(tmp / "models"), "DIGIT_APP_DRAWINGS_DB": str(tmp / "drawings.sqlite3")}
        with sync_playwright() as playwright, app_driver.AppServer(tmp / "server.log", env=env) as server:
            browser = app_driver.launch_chromium(playwright)
            pages = open_draw_sessions(browser, server.url, args.sessions)
            trainer = open_train_page(browser, server.url)
            print(f"Mouse-up to reading, {args.sessions} sessions x {args.rounds} drawings each "
                  "(includes the canvas's 200 ms debounce):")
            report("no job running", time_readings(pages, args.rounds))

            start_training(trainer, epochs=50)
            report("a full-size training running", time_readings(pages, args.rounds))
            trainer.locator(".st-key-stop_training button").click()
            expect(trainer.get_by_text(re.compile(r"^Stopped"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)

            before = resident_megabytes(server.process.pid)
            for number in range(1, 4):
                start_training(trainer, epochs=1)
                expect(trainer.get_by_text(re.compile(r"^Finished in "))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
                app_driver.wait_until_idle(trainer)
                print(f"  training {number} of 3 finished: server {resident_megabytes(server.process.pid):.0f} MB")
            time.sleep(5)
            after = resident_megabytes(server.process.pid)
            print(f"\nServer memory (VmRSS of streamlit run, {args.sessions} Draw sessions and a Train page open):")
            print(f"  before three full-size one-epoch trainings {before:7.0f} MB")
            print(f"  after them                                 {after:7.0f} MB   ({after - before:+.0f} MB)")
            browser.close()


if __name__ == "__main__":
    main()
