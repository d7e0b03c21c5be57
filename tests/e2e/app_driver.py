"""Drive the real app in a real browser: start `streamlit run`, open it in Chromium, draw on the
canvas with the mouse and read the model's reading. Used by tests/e2e and by the bench scripts.

Importing this module starts nothing.
"""

import base64
import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = ROOT / "streamlit_app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
STARTUP_TIMEOUT_SECONDS = 120  # a cold TensorFlow import on a busy 2-core machine takes a while
READING_TIMEOUT_MS = 20_000
POLL_MS = 20
STROKE_ATTEMPTS = 3
STEPS_PER_SEGMENT = 4  # mouse moves between two points of a stroke, as a hand sends them
INK_TIMEOUT_MS = 2_000
WHOLE_RUN_FINISHED = {  # not FINISHED_EARLY_FOR_RERUN (another run follows) nor fragment runs
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR,
}
FRAGMENT_RUN_FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY

CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
DRAWING_CANVAS = "[data-testid=stBidiComponentIsolated] canvas.dc-canvas.lower-canvas"
METRIC = "[data-testid=stMetric]"
METRIC_LABEL = "[data-testid=stMetricLabel]"
METRIC_VALUE = "[data-testid=stMetricValue]"
DRAWN_CHART = "[data-testid=stVegaLiteChart] svg.marks"  # the chart once Vega has drawn it
APP_IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"
PROMPT_START = "Draw a digit from 0 to 9"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """A `streamlit run <script>` subprocess on a free port, logging to log_path.

    env: variables added to this process's environment (e.g. DIGIT_APP_MODELS).
    """

    def __init__(self, log_path, env=None, script=APP_SCRIPT, port=None):
        self.script = Path(script)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
        self.process = None
        self.started_at = None

    def start(self):
        command = [
            sys.executable, "-m", "streamlit", "run", str(self.script),
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the child keeps its own handle
        return self

    def wait_until_healthy(self, timeout=STARTUP_TIMEOUT_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"streamlit run {self.script.name} exited with code {self.process.returncode} before "
                    f"serving; its log ({self.log_path}) ends:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer,
            ):
                if answer.read().strip() == b"ok":
                    return self
            time.sleep(0.1)
        raise TimeoutError(
            f"streamlit run {self.script.name} was not healthy at {self.url}/_stcore/health after {timeout} s; "
            f"its log ({self.log_path}) ends:\n{self.log_tail()}"
        )

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines=30):
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def __enter__(self):
        return self.start().wait_until_healthy()

    def __exit__(self, *exc_info):
        self.stop()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class RunCounter:
    """Counts the script runs that the server reports finished to one page: whole runs, and the
    fragment runs the user caused (a stroke or a click in the Draw page's drawing area), not the
    ones a fragment's timer starts (the Train page's progress).

    Read from the websocket, not the page: a fast run can start and finish within one render,
    and an "is it idle?" check alone cannot tell a finished rerun from one not started yet.
    """

    def __init__(self, page):
        self.finished = 0
        self._user_fragment_run = False  # whether the last rerun the page asked for was the user's, in a fragment
        page.on("websocket", self._watch)

    def _watch(self, socket):
        socket.on("framereceived", self._on_message)
        socket.on("framesent", self._on_sent)

    def _on_sent(self, payload):
        if isinstance(payload, str):
            return
        message = BackMsg.FromString(payload)
        if message.WhichOneof("type") == "rerun_script":
            state = message.rerun_script
            self._user_fragment_run = bool(state.fragment_id) and not state.is_auto_rerun

    def _on_message(self, payload):
        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        if message.WhichOneof("type") != "script_finished":
            return
        if message.script_finished in WHOLE_RUN_FINISHED:
            self.finished += 1
        elif message.script_finished == FRAGMENT_RUN_FINISHED and self._user_fragment_run:
            self._user_fragment_run = False
            self.finished += 1


_run_counters = weakref.WeakKeyDictionary()


def new_page(browser):
    """A new, blank page whose script runs are counted (see finished_runs). browser: a Browser
    (each page its own new session, without cookies) or a BrowserContext (its pages share its cookies)."""
    page = browser.new_page(viewport=VIEWPORT) if hasattr(browser, "new_context") else browser.new_page()
    _run_counters[page] = RunCounter(page)
    return page


def open_app(browser, url, path=""):
    """A new page at url/path (see new_page), its first script run finished."""
    page = new_page(browser)
    page.goto(f"{url}/{path}")
    wait_for_runs(page, after=0)
    return page


def wait_for_cookie(page, name, timeout_ms=READING_TIMEOUT_MS):
    """Wait until the page's browser context holds a cookie called name; return its value."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        for cookie in page.context.cookies():
            if cookie["name"] == name:
                return cookie["value"]
        if time.monotonic() > deadline:
            raise TimeoutError(f"No cookie {name!r} was set on {page.url} within {timeout_ms} ms.")
        page.wait_for_timeout(POLL_MS)


def finished_runs(page):
    """How many whole script runs have finished on a page made by open_app."""
    return _run_counters[page].finished


def wait_for_runs(page, after, timeout_ms=READING_TIMEOUT_MS):
    """Wait until more than `after` script runs have finished on the page, and it shows none running."""
    deadline = time.monotonic() + timeout_ms / 1000
    while finished_runs(page) <= after:
        if time.monotonic() > deadline:
            raise TimeoutError(f"The app finished no script run within {timeout_ms} ms (still {after} runs).")
        page.wait_for_timeout(POLL_MS)  # lets Playwright deliver the websocket events
    wait_until_idle(page, timeout_ms)


def rerun_after(page, action, timeout_ms=READING_TIMEOUT_MS):
    """Do action() (a click, a stroke) and wait until the script run it causes has finished."""
    before = finished_runs(page)
    action()
    wait_for_runs(page, before, timeout_ms)


def wait_until_idle(page, timeout_ms=READING_TIMEOUT_MS):
    """Wait until no script run is in progress (one may still be about to start)."""
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)


def canvas_box(page, timeout_ms=READING_TIMEOUT_MS):
    """The canvas's bounding box on the page, once it is laid out (after Clear it is a new one)."""
    surface = page.locator(CANVAS).first
    deadline = time.monotonic() + timeout_ms / 1000
    while (box := surface.bounding_box()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"No drawing canvas ({CANVAS}) on {page.url} within {timeout_ms} ms.")
        page.wait_for_timeout(POLL_MS)
    return box


def stroke(page, points, steps_per_segment=STEPS_PER_SEGMENT):
    """One stroke with the mouse through points (x, y) in canvas pixels from its top-left corner."""
    box = canvas_box(page)
    (x, y), rest = points[0], points[1:]
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=steps_per_segment)
    page.mouse.up()


def draw(page, strokes, steps_per_segment=STEPS_PER_SEGMENT, with_finger=False):
    """Draw strokes (lists of points, see stroke()) and wait after each one until the app has
    read it, as happens when a person draws: the canvas sends a drawing 200 ms after a mouse-up.
    with_finger: touch events (touch_stroke) instead of the mouse.

    A canvas that has just appeared (first load, Clear) ignores the mouse until its drawing tool
    is set up; a stroke that leaves no ink on it is drawn again."""
    for points in strokes:
        before = finished_runs(page)
        for _ in range(STROKE_ATTEMPTS):
            ink_before = canvas_pixels(page)
            (touch_stroke if with_finger else stroke)(page, points, steps_per_segment)
            if _wait_for_change(page, ink_before):
                break
        else:
            raise RuntimeError(f"{STROKE_ATTEMPTS} strokes left no ink on the canvas at {page.url}.")
        wait_for_runs(page, before)


def _wait_for_change(page, ink_before, timeout_ms=INK_TIMEOUT_MS):
    """Whether the canvas pixels differ from ink_before within timeout_ms (the canvas paints a
    finished stroke on its next animation frame, late on a busy machine)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not (changed := not np.array_equal(canvas_pixels(page), ink_before)) and time.monotonic() < deadline:
        page.wait_for_timeout(POLL_MS)
    return changed


def metric_value(page, label):
    """A locator of the value of the st.metric with this label."""
    labelled = page.locator(METRIC).filter(has=page.locator(METRIC_LABEL).get_by_text(label, exact=True))
    return labelled.locator(METRIC_VALUE)


def prediction_value(page):
    return metric_value(page, "Prediction")


def prediction(page):
    """The Prediction metric's text, or None when the page shows none."""
    value = prediction_value(page)
    if value.count() == 0:
        return None
    return value.first.inner_text().strip()


def canvas_pixels(page):
    """The canvas as the app receives it: (H, W, 4) uint8 RGBA, read from the drawing canvas."""
    data_url = page.locator(DRAWING_CANVAS).first.evaluate("canvas => canvas.toDataURL('image/png')")
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def touch_stroke(page, points, steps_per_segment=STEPS_PER_SEGMENT):
    """One stroke with a finger through points (x, y) in canvas pixels, as real touch events
    (Chrome DevTools' Input.dispatchTouchEvent: Playwright's page.touchscreen only taps). The
    page's context needs has_touch=True."""
    box = canvas_box(page)
    session = page.context.new_cdp_session(page)
    try:
        path = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            path += [(x0 + (x1 - x0) * i / steps_per_segment, y0 + (y1 - y0) * i / steps_per_segment)
                     for i in range(1, steps_per_segment + 1)]  # fmt: skip
        for index, (x, y) in enumerate(path):
            kind = "touchStart" if index == 0 else "touchMove"
            touch = {"x": box["x"] + x, "y": box["y"] + y, "id": 0, "radiusX": 4, "radiusY": 4, "force": 1}
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [touch]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        session.detach()


DATAFRAME = "[data-testid=stDataFrame]"
TABLE_ROW_HEIGHT = 35  # st.dataframe's header and rows
TABLE_ROW_MARKER_WIDTH = 34  # the column of selection boxes, left of the first data column


def table_rows(page, table=DATAFRAME):
    """The cells of an st.dataframe as shown, row by row in the order shown (after sorting), read
    from the table that the grid keeps for screen readers."""
    page.wait_for_selector(f"{table} table", state="attached")
    return page.locator(f"{table} table tbody tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.querySelectorAll('td')).map(cell => cell.textContent))"
    )


def click_table(page, x, row, table=DATAFRAME):
    """Click an st.dataframe (drawn on a canvas) at `x` pixels from its left edge, in `row`: 0 is
    the header, 1 the first row shown."""
    box = page.locator(f"{table} canvas").first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + (row + 0.5) * TABLE_ROW_HEIGHT)


def header_x(column_widths, column):
    """The middle of a column's header: column_widths are the pixel widths of the columns, in order."""
    names = list(column_widths)
    before = sum(column_widths[name] for name in names[: names.index(column)])
    return TABLE_ROW_MARKER_WIDTH + before + column_widths[column] / 2
