"""How many readings one server gives per second and per core when many people draw at once.

    python bench/serve_load.py [--sessions 10 30] [--strokes 20] [--interval 1.0] [--models-dir models]

Starts `streamlit run streamlit_app.py` on 127.0.0.1 (a tmp copy of the models folder, a tmp
drawings database), then:
  1. captures real canvas messages: Chromium opens the Draw page and draws digits stroke by
     stroke; every message the browser sends over the app's websocket is kept;
  2. replays them: for each session count, that many websocket clients (no browser) connect to
     the same server, each runs the Draw page once, then sends a captured stroke message every
     --interval seconds (spread out at random), --strokes of them, and times each from sending
     to the server's "script finished" for the run it caused.

Prints, per session count: readings answered, readings per second, the server's CPU use (cores,
from its process times), readings per second per core (= readings per CPU-second), and the
median and 95th percentile of message-to-finished-run latency, and how long the last of the
sessions' first page runs (all sent at once) took. Everything is bounded: a session
sends --strokes messages and waits at most --timeout seconds for any answer; only 127.0.0.1 is
contacted.
"""

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from digit_app.model_store import ACTIVE_FILE  # noqa: E402
from tests.e2e import app_driver  # noqa: E402

DIGITS = [  # strokes in canvas pixels, drawn one after another like a hand would
    [[(150, 50), (148, 100), (146, 150), (144, 200), (142, 240)]],  # a 1
    [[(140, 50), (100, 62), (80, 100), (78, 150), (90, 200), (122, 232), (160, 232), (192, 200),
      (204, 150), (200, 100), (180, 62), (142, 48)]],  # a 0
    [[(80, 60), (200, 60), (130, 240)], [(110, 150), (190, 150)]],  # a 7 with a bar
    [[(80, 90), (120, 50), (180, 60), (190, 110), (80, 240), (210, 240)]],  # a 2
]  # fmt: skip
FINISHED = {
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def capture_messages(url):
    """(first run message, [stroke messages]): the BackMsgs Chromium sends while drawing, each
    digit on a new page so that every stroke message is for the first canvas of a session."""
    first_runs, strokes = [], []

    def new_page(browser, sent):
        page = browser.new_page(viewport=app_driver.VIEWPORT)
        page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
        app_driver._run_counters[page] = app_driver.RunCounter(page)
        page.goto(url)
        app_driver.wait_for_runs(page, after=0)
        app_driver.canvas_box(page)
        return page

    with sync_playwright() as playwright:
        browser = app_driver.launch_chromium(playwright)
        for digit_strokes in DIGITS:
            sent = []
            page = new_page(browser, sent)
            app_driver.draw(page, digit_strokes)
            page.close()
            reruns = [BackMsg.FromString(payload) for payload in sent if isinstance(payload, bytes)]
            reruns = [message for message in reruns if message.WhichOneof("type") == "rerun_script"]
            for message in reruns:
                del message.rerun_script.cached_message_hashes[:]  # answers in full, so a reading can be seen
            first_runs.append(reruns[0].SerializeToString())
            strokes += [message.SerializeToString() for message in reruns[1:]]  # one per stroke
        browser.close()
    first = first_runs[0]
    if not strokes:
        raise RuntimeError("No stroke message was captured: the Draw page's canvas sent nothing.")
    return first, strokes


async def one_session(url, first_run, strokes, count, interval, timeout, latencies, failures, first_runs):
    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None) as socket:

        async def until_finished():
            """(status, whether the run showed a Prediction) of the next run to finish."""
            read = False
            while True:
                message = ForwardMsg.FromString(await asyncio.wait_for(socket.recv(), timeout))
                kind = message.WhichOneof("type")
                if kind == "delta" and message.delta.new_element.metric.label == "Prediction":
                    read = True
                elif kind == "script_finished":
                    return message.script_finished, read

        started = time.perf_counter()
        await socket.send(first_run)
        await until_finished()
        first_runs.append(time.perf_counter() - started)
        await asyncio.sleep(random.uniform(0, interval))  # people do not draw in step
        for index in range(count):
            started = time.perf_counter()
            await socket.send(strokes[index % len(strokes)])
            status, read = await until_finished()
            latency = time.perf_counter() - started
            if status in FINISHED and read:
                latencies.append(latency)
            else:
                failures.append(ForwardMsg.ScriptFinishedStatus.Name(status) + ("" if read else " without a reading"))
            await asyncio.sleep(max(0.0, interval - latency))


def process_cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def load(url, first_run, strokes, sessions, count, interval, timeout):
    latencies, failures, first_runs = [], [], []
    tasks = [
        one_session(url, first_run, strokes, count, interval, timeout, latencies, failures, first_runs)
        for _ in range(sessions)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout + count * (interval + timeout))
    return latencies, failures, first_runs


def measure(server, first_run, strokes, sessions, count, interval, timeout):
    cpu_before, wall_before = process_cpu_seconds(server.process.pid), time.perf_counter()
    latencies, failures, first_runs = asyncio.run(load(server.url, first_run, strokes, sessions, count, interval, timeout))
    cpu = process_cpu_seconds(server.process.pid) - cpu_before
    wall = time.perf_counter() - wall_before
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(
        f"{sessions:3d} sessions: {len(latencies)} readings in {wall:.1f} s = {len(latencies) / wall:.1f}/s; "
        f"server {cpu / wall:.2f} cores; {len(latencies) / cpu:.1f} readings/s per core; "
        f"latency median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
        f"{sessions} first page runs at once: the last done in {max(first_runs):.1f} s"
        + (f"; {len(failures)} runs not finished: {sorted(set(failures))}" if failures else ""),
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--strokes", type=int, default=20, help="stroke messages each session sends (max 200)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one session's strokes")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any one answer")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    if not all(1 <= sessions <= 100 for sessions in args.sessions) or not 1 <= args.strokes <= 200:
        parser.error("--sessions must be 1 to 100 and --strokes 1 to 200: this bench stays bounded.")
    random.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(args.models_dir, tmp / "models", ignore=shutil.ignore_patterns(".tmp-*", ACTIVE_FILE))
        env = {"DIGIT_APP_MODELS": str(tmp / "models"), "DIGIT_APP_DRAWINGS_DB": str(tmp / "drawings.sqlite3")}
        with app_driver.AppServer(tmp / "streamlit.log", env=env) as server:
            first_run, strokes = capture_messages(server.url)
            print(f"Captured {len(strokes)} stroke messages from Chromium on {server.url}.", flush=True)
            for sessions in args.sessions:
                measure(server, first_run, strokes, sessions, args.strokes, args.interval, args.timeout)


if __name__ == "__main__":
    main()
