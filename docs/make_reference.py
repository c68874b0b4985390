"""Regenerate docs/reference/scenario.md from the scenario schema (the validator's own metadata).

Run ``python docs/make_reference.py``; tests/test_docs.py fails when the page is out of date.
"""

from __future__ import annotations

from pathlib import Path

from hybridsim.scenario import Scenario
from hybridsim.schema import reference_markdown

HEADER = """# Scenario file reference

A scenario is a TOML file. Every key, its type, default and meaning is listed below; this page is
generated from the validator's own declarations (`python docs/make_reference.py`), so it cannot
drift from what `hybridsim validate` accepts.

Conventions:

- **duration**: a number of seconds or a string with a unit: `zs`, `as`, `fs`, `ps`, `ns`, `us`
  (or `µs`), `ms`, `s`, `min`, `h`, `d` — e.g. `"84 ns"`, `"1.56 us"`, `"1 as"`, `"2 h"`. Stored
  exactly as integer ticks of 1 zs; strings are read as exact decimals.
- **bandwidth**: bytes per second, or a string with a unit: `B/s`, `KB/s`, `MB/s`, `GB/s`, `TB/s`,
  `bps`, `Kbps`, `Mbps`, `Gbps`, `Tbps` — e.g. `"100 Gbps"`.
- Arrays of tables (`[[cluster.gpu]]`, `[[cluster.qpu]]`) are addressed by their `name` in
  `--set` overrides and sweep factors: `--set cluster.qpu.q.count=4`.
- Unknown keys are errors (with a suggestion), never ignored.

"""


def render() -> str:
    return HEADER + reference_markdown(Scenario)


def main() -> None:
    out = Path(__file__).resolve().parent / "reference" / "scenario.md"
    out.write_text(render())


if __name__ == "__main__":
    main()
