"""A small synthetic personal-loan book with its own column names, for the trainer's tests.

Defaults follow a known logistic model (income, loan size, arrears, tenure, housing), so a correct
scorecard must rank it well; `region` and `applicant_id` carry no signal; `gender` and `age` let the
fairness gate be tested on data other than German Credit.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SPEC = """\
good: "no"
types:
  past_arrears: numeric     # a count 0-6, inferred as codes without this line
  housing_status: categorical
exclude: [applicant_id, gender, age]
"""
COLUMNS = ["applicant_id", "annual_income", "loan_amount", "past_arrears", "months_at_employer"]
COLUMNS += ["housing_status", "region", "gender", "age", "defaulted"]


def write_loan_book(path: Path, rows: int = 1500, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=10.4, sigma=0.45, size=rows).round(-2)
    loan = (income * rng.uniform(0.05, 0.9, size=rows)).round(-2)
    arrears = rng.poisson(0.7, size=rows).clip(0, 6)
    tenure = rng.integers(0, 240, size=rows)
    housing = rng.choice(["owner", "mortgage", "renter", "with parents"], p=[0.3, 0.3, 0.3, 0.1], size=rows)
    region = rng.choice(["north", "south", "east", "west"], size=rows)
    gender = rng.choice(["F", "M"], size=rows)
    age = rng.integers(19, 75, size=rows)
    housing_risk = {"owner": -0.5, "mortgage": -0.2, "renter": 0.3, "with parents": 0.5}
    logit = (
        -1.2
        + 2.2 * (loan / income)
        + 0.6 * arrears
        - 0.006 * tenure
        - 0.8 * (np.log(income) - 10.4)
        + np.array([housing_risk[h] for h in housing])
    )
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-logit))
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for i in range(rows):
            outcome = "yes" if defaulted[i] else "no"
            out.writerow(
                [
                    f"A{i:05d}",
                    income[i],
                    loan[i],
                    arrears[i],
                    tenure[i],
                    housing[i],
                    region[i],
                    gender[i],
                    age[i],
                    outcome,
                ]
            )
    return path
