"""For a test server started with this folder on PYTHONPATH: the first import of TensorFlow takes
SLOW_IMPORT_SECONDS longer, as on a cold machine, so that a test can see what the page shows while
the model loads. On a warm machine the model is often ready before the first page is."""

import importlib.abc
import sys
import time

SLOW_IMPORT_SECONDS = 5


class _SlowTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            sys.meta_path.remove(self)
            time.sleep(SLOW_IMPORT_SECONDS)
        return None  # the usual finders import it


sys.meta_path.insert(0, _SlowTensorFlow())
