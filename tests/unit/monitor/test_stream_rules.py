"""The stream's rules on hand-made account windows, and the CSV reader's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.loader import load_policy_set
from tools.stream_screening import (
    LedgerTransfer,
    Leg,
    StreamRules,
    TransferFormatError,
    alerting,
    legs_of,
    read_transfers,
    score,
    screen,
)

PACKS = Path(__file__).resolve().parents[3] / "policies" / "packs"
DAY = 86400.0


@pytest.fixture(scope="module")
def rules() -> StreamRules:
    return StreamRules.from_policies(load_policy_set(PACKS))


def tx(tx_id: str, src: str, dst: str, amount: float, at: float, country: str = "") -> LedgerTransfer:
    return LedgerTransfer(tx_id, src, dst, amount, at, country)


def hit_ids(rules: StreamRules, t: LedgerTransfer, src: list[Leg], dst: list[Leg]) -> set[str]:
    return {h.rule_id for h in screen(rules, t, src, dst)}


def test_an_ordinary_transfer_raises_nothing(rules: StreamRules) -> None:
    t = tx("t1", "A", "B", 120.0, 100 * DAY)
    hits = screen(rules, t, [legs_of(t)[0]], [legs_of(t)[1]])
    assert hits == [] and not alerting(hits) and score(hits) == 0.0


def test_fan_in_counts_distinct_payers_of_the_payee_within_seven_days(rules: StreamRules) -> None:
    now = 100 * DAY
    earlier = [legs_of(tx(f"p{i}", f"S{i}", "HUB", 600.0, now - i * 3600))[1] for i in range(1, 10)]
    t = tx("t", "S0", "HUB", 600.0, now)
    assert "TM-FIN-01" in hit_ids(rules, t, [], earlier)  # 10 payers, EUR 6,000
    stale = [legs_of(tx(f"p{i}", f"S{i}", "HUB", 600.0, now - 8 * DAY))[1] for i in range(1, 10)]
    assert "TM-FIN-01" not in hit_ids(rules, t, [], stale)  # outside the window


def test_round_trip_needs_money_back_from_the_payee(rules: StreamRules) -> None:
    now = 50 * DAY
    back = legs_of(tx("b", "B", "A", 2000.0, now - 5 * DAY))[0]
    t = tx("t", "A", "B", 1500.0, now)
    received = Leg(back.tx_id, "in", "B", 2000.0, back.at)
    assert "TM-CYC-01" in hit_ids(rules, t, [received], [])
    assert "TM-CYC-01" not in hit_ids(rules, t, [Leg("b", "in", "C", 2000.0, back.at)], [])


def test_a_later_transfer_in_the_window_does_not_count(rules: StreamRules) -> None:
    now = 10 * DAY
    later = [Leg(f"x{i}", "out", "B", 100.0, now + 60) for i in range(5)]
    assert "TM-SPL-01" not in hit_ids(rules, tx("t", "A", "B", 100.0, now), later, [])
    earlier = [Leg("x", "out", "B", 100.0, now - 60)]
    assert "TM-SPL-01" in hit_ids(rules, tx("t", "A", "B", 100.0, now), earlier, [])


def test_jurisdiction_and_the_score_order_grave_hits_higher(rules: StreamRules) -> None:
    grey = screen(rules, tx("t", "A", "B", 10.0, DAY, "NG"), [], [])
    embargo = screen(rules, tx("t", "A", "B", 10.0, DAY, "KP"), [], [])
    assert [h.rule_id for h in grey] == ["TM-JUR-01"] and [h.rule_id for h in embargo] == ["TM-JUR-02"]
    assert alerting(grey) and score(embargo) > score(grey) > 0


def test_simulated_amounts_drop_euro_rules_and_zero_the_floors(rules: StreamRules) -> None:
    sim = StreamRules.from_policies(load_policy_set(PACKS), simulated_amounts=True)
    ids = {r.id for r in sim.rules}
    assert {"TM-STR-01", "TM-NPL-01", "TM-RND-01"} & ids == set()
    assert {"TM-NPL-01", "TM-STR-01"} <= {r.id for r in rules.rules}
    t = tx("t", "A", "B", 5.0, 40 * DAY)
    received = Leg("b", "in", "B", 5.0, 39 * DAY)
    assert "TM-CYC-01" in hit_ids(sim, t, [received], []) and "TM-CYC-01" not in hit_ids(
        rules, t, [received], []
    )
    assert sim.retention_s == 30 * DAY


def test_a_message_missing_a_field_is_refused_with_the_reason() -> None:
    with pytest.raises(TransferFormatError, match="missing field"):
        LedgerTransfer.from_fields({"tx_id": "1", "src": "A", "amount": "1", "at": "1"})
    with pytest.raises(TransferFormatError, match="positive"):
        LedgerTransfer.from_fields({"tx_id": "1", "src": "A", "dst": "B", "amount": "-5", "at": "1"})
    back = LedgerTransfer.from_fields({**tx("1", "A", "B", 12.5, 7.0, "de").as_fields(), "enq": "3.5"})
    assert back == LedgerTransfer("1", "A", "B", 12.5, 7.0, "DE", 3.5)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_amlsim_files_are_read_with_steps_as_days_and_stable_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "sourceNodeId,targetNodeId,value,time\n1,2,10.5,0\n2,3,7,3\n")
    first, second = read_transfers(path)
    assert (first.src, first.dst, first.amount) == ("1", "2", 10.5)
    assert second.at - first.at == 3 * DAY
    assert [t.tx_id for t in read_transfers(path)] == [first.tx_id, second.tx_id]  # replay: same ids


def test_generic_columns_with_iso_times(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,from_account,to_account,amount,timestamp,country\na1,X,Y,99.90,2026-03-01T10:00:00Z,ng\n",
    )
    [t] = read_transfers(path)
    assert (t.tx_id, t.src, t.dst, t.amount, t.country) == ("a1", "X", "Y", 99.9, "NG")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("payer,amount\nA,1\n", "no column for dst, at"),
        ("src,dst,amount,at\nA,B,ten,1\n", "line 2: amount 'ten' is not a number"),
        ("src,dst,amount,at\nA,B,1,1\nA,B,0,1\n", "line 3: amount must be positive"),
        ("src,dst,amount,at\nA,,1,1\n", "line 2: empty dst"),
        ("src,dst,amount,at\nA,B,1,2026-01-01T00:00:00\n", "has no time zone"),
        ("src,dst,amount,at\nA,B,1,yesterday\n", "neither epoch seconds nor ISO 8601"),
        ("id,src,dst,amount,at\n1,A,B,1,1\n1,A,B,2,2\n", "line 3: transaction id '1' appears twice"),
        ("src,dst,amount,at\nA,B,1,1,extra\n", "line 2: more values than header columns"),
    ],
)
def test_a_bad_csv_is_refused_with_file_line_and_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TransferFormatError, match=message):
        read_transfers(write(tmp_path, text))


def test_a_missing_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TransferFormatError, match="no such file"):
        read_transfers(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(TransferFormatError, match="not UTF-8"):
        read_transfers(tmp_path / "bin.csv")
