"""The fuzz suite's bounded quick mode (tests/fuzz.py; the long mode runs on
demand: python tests/fuzz.py --n 2000 --seed 1)."""
import signal

import pytest

import fuzz


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the hang guard needs SIGALRM")
@pytest.mark.parametrize("seed", [0, 1])
def test_fuzz_quick(seed):
    counts, failures = fuzz.run(150, seed, timeout=20)
    assert failures == [], fuzz.summary(counts) + "\n" + "\n".join(map(str, failures[:20]))
    assert sum(c["ok"] for c in counts.values()) > 50      # most inputs really fit
