"""Keep TensorFlow's start-up chatter out of the terminal, and nothing else.

TensorFlow's C++ side writes straight to the process's stderr (file descriptor 2) when it is
imported and when it first runs an operation: absl's "All log messages before
absl::InitializeLog() is called…", oneDNN's notice, "Could not find cuda drivers…". Neither
TF_CPP_MIN_LOG_LEVEL nor absl's variables silence these in TensorFlow 2.21, so while TensorFlow
starts, stderr goes to a temporary file, and whatever in it is not that chatter (a real error, a
Python traceback, another thread's log line) is written to the terminal afterwards.
"""

import contextlib
import os
import re
import sys
import tempfile
import threading

# absl's notice, and its info and warning lines (I/W, month-day 0000 before logging is set up);
# errors (E, F) are kept.
CHATTER = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} \S+ +\d+ \S+:\d+\])")
STDERR_FD = 2

_lock = threading.Lock()  # fd 2 belongs to the whole process: one redirection at a time


def without_chatter(text):
    return "".join(line for line in text.splitlines(keepends=True) if not CHATTER.match(line))


@contextlib.contextmanager
def tensorflow_chatter_hidden():
    """Run the block with TensorFlow's C++ start-up messages dropped from stderr."""
    with _lock, tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(STDERR_FD)
        os.dup2(captured.fileno(), STDERR_FD)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, STDERR_FD)
            os.close(saved)
            captured.seek(0)
            kept = without_chatter(captured.read().decode(errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
