"""How quickly the app answers a stroke, in a real browser against real servers, in one run.

    python bench/app_latency.py [--drawings 30] [--models-dir models]

Prints:
  (a) the time from `streamlit run streamlit_app.py` to the first prediction on the Draw page
      (server healthy, canvas shown, first reading), cold: the model loads on the first visit;
  (b) the time from mouse-up to the updated Prediction, median and 95th percentile over
      --drawings drawings, on the Draw page and on bench/minimal_canvas_app.py (the same canvas
      and one st.metric), and the difference: the Draw page's own cost per stroke;
  (c) the same on the Draw page with "Inside the model" open (another session of the same
      server), to the Prediction and to the panel's new saliency map, and the difference from
      the page with the panel closed (the panel must cost under 50 ms a stroke).

Both pages include the canvas component's 200 ms wait after the last mouse-up before it sends
the drawing. Drawings alternate between a 1 and a 0 so that the reading changes every time; the
canvas toolbar's reset empties the canvas between drawings (not timed). Times are measured in
the browser: from the mouseup event to the DOM mutation that shows the expected value.
The servers run on copies: a tmp copy of the models folder, with its default model active.

What it decided: the loaded models are spared from the cyclic garbage collector
(digit_app/ui/resources.py). Its full passes walked TensorFlow's and Keras' objects, about 200 ms
each and about one per stroke: the 95th percentile of mouse-up to reading was 480 ms above the bare
canvas page with them, and 50 ms without. With "Inside the model" open, on a quiet machine
(2026-11-22): the reading 296 ms median against 299 ms with it closed (-3 ms), its saliency map
402 ms (+103 ms); the bare canvas page 253 ms.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e import app_driver  # noqa: E402

MINIMAL_APP = ROOT / "bench" / "minimal_canvas_app.py"
ONE = [[(150, 50), (148, 100), (146, 150), (144, 200), (142, 240)]]
ZERO = [[(140, 50), (100, 62), (80, 100), (78, 150), (90, 200), (122, 232), (160, 232), (192, 200),
         (204, 150), (200, 100), (180, 62), (142, 48), (128, 56)]]  # fmt: skip
TIMEOUT_MS = 20_000

INSIDE_PANEL = "Inside the model"
SALIENCY_IMAGE = ".st-key-inside-saliency img"  # digit_app/ui/inside_panel.py SALIENCY_KEY
PANEL_BUDGET_MS = 50

# Records, in the browser, when the mouse was last released and when the metric labelled
# `label` first showed `expected` after that; and when the saliency map (if any) first showed a
# picture other than the one it showed at mouse-up. Metric text lives in the page's own DOM.
WATCH_METRIC = """
([label, expected]) => {
  const saliencySource = () => {
    const image = document.querySelector('""" + SALIENCY_IMAGE + """');
    return image ? image.src : null;
  };
  const state = window.__latency = {mouseUp: null, shown: null, expected, panelBefore: null, panelShown: null};
  const valueOf = () => {
    for (const metric of document.querySelectorAll('[data-testid=stMetric]')) {
      const name = metric.querySelector('[data-testid=stMetricLabel]');
      if (name && name.textContent.trim() === label) {
        const value = metric.querySelector('[data-testid=stMetricValue]');
        return value ? value.textContent.trim() : null;
      }
    }
    return null;
  };
  if (!window.__latencyInstalled) {
    window.__latencyInstalled = true;
    window.addEventListener('mouseup', () => {
      window.__latency.mouseUp = performance.now();
      window.__latency.panelBefore = saliencySource();
    }, true);
    new MutationObserver(() => {
      const s = window.__latency;
      if (s.mouseUp !== null && s.shown === null && valueOf() === s.expected) s.shown = performance.now();
      const source = saliencySource();
      if (s.mouseUp !== null && s.panelShown === null && source !== null && source !== s.panelBefore) {
        s.panelShown = performance.now();
      }
    }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['src']});
  }
  window.__latencyValueOf = valueOf;
  window.__latencySaliencySource = saliencySource;
}
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=30, help="timed drawings per page (default 30)")
    parser.add_argument(
        "--models-dir", type=Path, default=ROOT / "models", help="models folder to copy (default models/)"
    )
    return parser.parse_args(argv)


class TimedPage:
    """One server's page, with the drawing, reset and timing steps for that page."""

    def __init__(self, page, label, expected_after_reset):
        self.page = page
        self.label = label
        self.expected_after_reset = expected_after_reset
        page.evaluate(WATCH_METRIC, [label, ""])

    def value(self):
        return self.page.evaluate("() => window.__latencyValueOf()")

    def reset(self):
        """Empty the canvas with its toolbar's reset and wait until the page shows it empty."""
        self.page.bring_to_front()
        app_driver.rerun_after(self.page, self.page.get_by_role("button", name="Reset canvas & history").click)
        if self.value() != self.expected_after_reset:
            raise RuntimeError(
                f"{self.label!r} shows {self.value()!r} after a reset; expected {self.expected_after_reset!r}."
            )

    def open_panel(self, label):
        app_driver.rerun_after(self.page, self.page.get_by_text(label, exact=True).click)

    def time_drawing(self, strokes, expected):
        """Milliseconds from mouse-up to the metric showing `expected`, and to the saliency map
        showing a new picture (None on a page without it)."""
        self.page.bring_to_front()
        self.page.evaluate(WATCH_METRIC, [self.label, expected])
        before = app_driver.finished_runs(self.page)
        for points in strokes:
            app_driver.stroke(self.page, points)
        self.page.wait_for_function("() => window.__latency.shown !== null", timeout=TIMEOUT_MS, polling="raf")
        app_driver.wait_for_runs(self.page, before)
        latency = self.page.evaluate("() => window.__latency")
        panel = latency["panelShown"] - latency["mouseUp"] if latency["panelShown"] is not None else None
        return latency["shown"] - latency["mouseUp"], panel


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_to_first_prediction(browser, env, log_dir):
    """Seconds from `streamlit run` to: server healthy, canvas shown, first reading."""
    server = app_driver.AppServer(log_dir / "first-prediction.log", env=env).start()
    try:
        server.wait_until_healthy()
        healthy = time.perf_counter() - server.started_at
        page = browser.new_page(viewport=app_driver.VIEWPORT)
        page.goto(server.url)
        app_driver.canvas_box(page)
        canvas_shown = time.perf_counter() - server.started_at
        for points in ONE:
            app_driver.stroke(page, points)
        app_driver.prediction_value(page).filter(has_text="1").wait_for(timeout=TIMEOUT_MS)
        first_reading = time.perf_counter() - server.started_at
        page.close()
        return healthy, canvas_shown, first_reading
    finally:
        server.stop()


PANEL_OPEN = "Draw page, Inside the model open"
PANEL_PICTURE = "  its saliency map shown"


def time_strokes(browser, draw_url, minimal_url, drawings):
    """Per page, the mouse-up-to-reading times of `drawings` drawings, the pages alternating; for
    the page with the panel open, also the times to its new saliency map."""
    pages = {
        "Draw page": TimedPage(app_driver.open_app(browser, draw_url), "Prediction", None),
        PANEL_OPEN: TimedPage(app_driver.open_app(browser, draw_url), "Prediction", None),
        "minimal canvas page": TimedPage(app_driver.open_app(browser, minimal_url), "Strokes", "0"),
    }
    pages[PANEL_OPEN].open_panel(INSIDE_PANEL)
    times = {name: [] for name in [*pages, PANEL_PICTURE]}
    for index in range(drawings + 1):  # the first drawing of each page warms it up and is not counted
        strokes, digit = (ONE, "1") if index % 2 == 0 else (ZERO, "0")
        for name, timed in pages.items():
            expected = digit if timed.label == "Prediction" else "1"
            milliseconds, panel_milliseconds = timed.time_drawing(strokes, expected)
            if index:
                times[name].append(milliseconds)
                if name == PANEL_OPEN:
                    times[PANEL_PICTURE].append(panel_milliseconds)
            timed.reset()
    return times


def main(argv=None):
    args = parse_args(argv)
    if not (args.models_dir / "default-cnn.keras").exists():
        raise SystemExit(f"No default model in {args.models_dir}; train one or pass --models-dir.")
    with tempfile.TemporaryDirectory(prefix="app-latency-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(args.models_dir, tmp / "models", ignore=shutil.ignore_patterns(".tmp-*", "active.json"))
        env = {"DIGIT_APP_MODELS": str(tmp / "models"), "DIGIT_APP_DRAWINGS_DB": str(tmp / "drawings.sqlite3")}
        with sync_playwright() as playwright:
            browser = app_driver.launch_chromium(playwright)
            healthy, canvas_shown, first_reading = time_to_first_prediction(browser, env, tmp)
            print("From `streamlit run streamlit_app.py` (cold start, this machine):")
            print(f"  server healthy        {healthy:6.1f} s")
            print(f"  Draw page canvas      {canvas_shown:6.1f} s")
            print(f"  first prediction      {first_reading:6.1f} s")
            with app_driver.AppServer(tmp / "draw.log", env=env) as app_server, \
                 app_driver.AppServer(tmp / "minimal.log", env=env, script=MINIMAL_APP) as minimal_server:  # fmt: skip
                times = time_strokes(browser, app_server.url, minimal_server.url, args.drawings)
            browser.close()
    print(f"\nMouse-up to updated reading, {args.drawings} drawings per page (includes the canvas's 200 ms debounce):")
    for name, values in times.items():
        print(
            f"  {name:34s} median {statistics.median(values):6.0f} ms   95th percentile {percentile(values, 0.95):6.0f} ms"
        )
    draw, minimal = times["Draw page"], times["minimal canvas page"]
    print(
        f"  Draw page's own cost: median {statistics.median(draw) - statistics.median(minimal):+.0f} ms, "
        f"95th percentile {percentile(draw, 0.95) - percentile(minimal, 0.95):+.0f} ms"
    )
    for name in (PANEL_OPEN, PANEL_PICTURE):
        extra = statistics.median(times[name]) - statistics.median(draw)
        print(
            f"  {name.strip()}, beyond the closed panel: median {extra:+.0f} ms "
            f"({'within' if extra < PANEL_BUDGET_MS else 'OVER'} the {PANEL_BUDGET_MS} ms budget)"
        )


if __name__ == "__main__":
    main()
