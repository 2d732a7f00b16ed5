"""Real monthly market data that ships offline, mapped onto the shelf's asset classes.

The data comes inside the `arch` package from PyPI (NCSA licence): the Fama-French research factors
(Kenneth R. French data library: the US market's return and the one-month T-bill rate, 1926-2018) and
Moody's seasoned AAA corporate bond yields (Federal Reserve FRED, 1919-2018). The files are checked
against their SHA-256 before use, and the hashes name the snapshot that every proposal and report
records. The series are proxies for the shelf's funds, and the allocation pack says which proxy stands
for which asset class:

- ``tbill``: the one-month T-bill return (money market);
- ``aaa_bonds``: a constant-duration total return from the AAA yield, y[t-1]/12 - D * (y[t] - y[t-1]);
- ``us_market``: the value-weighted US stock market (Mkt-RF + RF);
- ``us_small``: small companies, the market plus the size factor (Mkt-RF + RF + SMB).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

_FILES = {
    "frenchdata": (
        "arch.data.frenchdata",
        "frenchdata.csv.gz",
        "f23436727b01d879e1372e3ee277514b0962a23d2b158f1aee6a402a90994f52",
    ),
    "default": (
        "arch.data.default",
        "default.csv.gz",
        "cc5453068cedc7ef4836956358dce1d20eaf1e639b69c3107a7531a8e6bb982d",
    ),
}
BOND_DURATION = 6.0  # years: the constant duration of the AAA bond proxy
SERIES = ("tbill", "aaa_bonds", "us_market", "us_small")


class MarketDataError(RuntimeError):
    """The shipped data is missing or not the data the hashes name."""


@dataclass(frozen=True)
class MarketData:
    returns: pd.DataFrame  # monthly simple returns, one column per series, month-end index
    snapshot_id: str  # names the files and their hashes; recorded with every proposal

    def first_month(self) -> str:
        return f"{self.returns.index[0]:%Y-%m}"

    def last_month(self) -> str:
        return f"{self.returns.index[-1]:%Y-%m}"


def _verified(key: str) -> Path:
    module_name, filename, digest = _FILES[key]
    module = __import__(module_name, fromlist=["__file__"])
    path = Path(module.__file__ or "").with_name(filename)
    if not path.is_file():
        raise MarketDataError(f"{filename} is missing from the installed {module_name} package")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != digest:
        raise MarketDataError(f"{filename}: SHA-256 {actual} is not the expected {digest}")
    return path


@cache
def load_market_data() -> MarketData:
    french = pd.read_csv(_verified("frenchdata"), dtype={"Date": str})
    french.index = pd.to_datetime(french.pop("Date"), format="%Y%m") + pd.offsets.MonthEnd(0)
    yields = pd.read_csv(_verified("default"))
    yields.index = pd.to_datetime(yields.pop("Date"), format="%m/%d/%Y") + pd.offsets.MonthEnd(0)
    aaa = yields["AAA"] / 100
    bonds = (aaa.shift(1) / 12 - BOND_DURATION * aaa.diff()).dropna()
    market = (french["Mkt-RF"] + french["RF"]) / 100
    frame = pd.DataFrame(
        {
            "tbill": french["RF"] / 100,
            "aaa_bonds": bonds,
            "us_market": market,
            "us_small": market + french["SMB"] / 100,
        }
    ).dropna()
    snapshot = "arch-data:" + "+".join(f"{k}@{_FILES[k][2][:12]}" for k in sorted(_FILES))
    return MarketData(returns=frame, snapshot_id=f"{snapshot}:{frame.index[0]:%Y%m}-{frame.index[-1]:%Y%m}")
