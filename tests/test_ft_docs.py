"""The fault-tolerance page's generated tables and the figures its text derives from them."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tables():
    sys.path.insert(0, str(ROOT / "docs" / "background"))
    try:
        import make_ft_tables
    finally:
        sys.path.pop(0)
    return make_ft_tables


def test_the_anchor_tables_are_what_the_code_computes(tables):
    page = (ROOT / "docs/background/fault-tolerance.md").read_text()
    assert tables.page_block(page) == tables.render(), (
        "fault-tolerance.md §10 is stale: run python docs/background/make_ft_tables.py --write"
    )


def test_the_text_states_the_tables_ratios(tables):
    page = (ROOT / "docs/background/fault-tolerance.md").read_text()
    (qrom, frob, swap) = tables.dalzell_rows()
    assert f"{tables.DALZELL['t_state'] / qrom[1]:.2g}".replace("e+05", "") == "3.5"
    assert "3.5·10⁵ times fewer" in page
    assert round(frob[1] / qrom[1]) == 28 and "multiplies the count by 28" in page
    assert f"{tables.DALZELL['t_tomography'] / tables.DALZELL['t_state']:.2g}" == "3.1e+09"
    assert qrom[3] == 81 and swap[3] == 8241
    (_, q2, t2, d2), (_, q3, t3, d3) = tables.litinski_rows()
    assert (q3, t3, d3) == (164140, 1300.0, 13) and "164 140 qubits" in page
