"""Source -> target transfer on real text, classification: docstrings shipped
with scipy and numpy ("signal processing" against "linear algebra"; source
scipy.signal / scipy.linalg, target numpy.fft / numpy.linalg +
scipy.sparse.linalg), a few labelled target documents, four classifiers on the
held-out target documents. The worked code is mtlfast.__main__.text_transfer_demo;
this runs it, as `python -m mtlfast transfer --text` does.

    python examples/text_transfer.py [--quick]
"""
import argparse

from mtlfast.__main__ import main

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 draws instead of 20")
    quick = ap.parse_args().quick
    main(["transfer", "--text", "--draws", "2" if quick else "20"])
