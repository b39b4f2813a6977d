"""warm_engine: what a worker would load at its first file is loaded before the fork."""

from __future__ import annotations

import subprocess
import sys

from deidengine.run.executor import PRELOADED

# A fresh interpreter: this test process may have loaded the tables already.
_PROBE = """
import sys
from deidengine.standard import _data, sr
from deidengine.text import vocabulary
from deidengine.run.warmup import warm_engine
warm_engine({})
before = _data.load.cache_info()
_data.load("iod_types.json"), _data.load("sr_concept_names.json")
after = _data.load.cache_info()
print(after.hits - before.hits, after.misses - before.misses)
print(sr.sr_concept_actions.cache_info().currsize, vocabulary.names.cache_info().currsize)
"""


def test_the_tables_a_first_file_reads_are_loaded_before_the_fork() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    # Both tables were already in the cache (two hits, no miss), as were the derived SR
    # actions and the word lists.
    assert done.stdout.splitlines() == ["2 0", "1 1"]


def test_the_fork_server_preloads_the_same() -> None:
    assert PRELOADED[-1] == "deidengine.run.preloaded"
    probe = (
        "import deidengine.run.preloaded\n"
        "from deidengine.standard import _data\n"
        "print(_data.load.cache_info().currsize >= 2)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
