"""The README's printed numbers are those of the command it names."""
import os
import re
import subprocess
import sys

import pytest

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")


def _numbers(text):
    return [float(v) for v in re.findall(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?", text)]


@pytest.mark.skipif(not os.path.exists(README), reason="README.md not next to the tests")
def test_readme_transfer_output_is_the_commands():
    text = open(README).read()
    m = re.search(r"Output of `python -m mtlfast transfer`[^\n]*\n[^`]*```\n(.*?)```", text,
                  re.S)
    assert m, "the README's transfer block"
    shown = m.group(1)
    proc = subprocess.run([sys.executable, "-m", "mtlfast", "transfer"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout
    assert [ln.split()[0] for ln in got.splitlines()] == [ln.split()[0] for ln in
                                                          shown.splitlines()]
    a, b = _numbers(shown), _numbers(got)
    assert len(a) == len(b)
    for x, y in zip(a, b):        # printed to 3-4 digits: equal up to the last one
        assert y == pytest.approx(x, rel=2e-3, abs=1.5e-3), (shown, got)
