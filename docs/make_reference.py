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
- Unknown keys are errors (with a suggestion from the same level: a table is compared with the
  section names, a value with the plain keys), never ignored. A sweep file given to `run` or
  `validate` is recognised and the `hybridsim sweep` command named.

## Domains

Every numeric key has a domain in which the model stays finite; `validate` refuses anything
outside it, naming the file and key, so `run` never discovers it. Besides each key's bounds in the
tables below:

- **durations** are at most 1e12 s (about 31,700 years). Duration strings have at most 100
  digits and a decimal exponent within ±100 (checked before any exact arithmetic, so
  `"1e10000000 s"` is refused at once); a nonzero duration shorter than a tick (1 zs) rounds to
  0, which keys marked `> 0` refuse.
- **bandwidths** lie between 1 bps (0.125 B/s) and 1 EB/s (1e18 B/s).
- **integers** have a magnitude of at most 2**53 (exact in a float and in numpy's int64);
  **seeds** lie between 0 and 2**63 − 1 (they are stored as SQLite integers).
- **condition numbers** (`workload.kappa`, `[workload.kappa]` `start`, `total_drop`, replayed
  values, `scheduler.kappa_threshold`) are at most 1e100.
- **unit slips**: a gate, readout or reset time written as a bare number above 1 s
  (`gate_time_2q = 84`, which is 84 seconds) is accepted with a `warning:` line on stderr; write
  the unit (`"84 ns"`, or `"84 s"` if seconds are meant).
- **parser limits**: a scenario file, sweep file or `--set` value may nest tables and arrays at
  most 32 levels deep and hold integers of at most 4300 digits; beyond that the error is one
  line naming the file.
- **files a scenario names** (`workload.kappa.replay`) resolve against the file that names
  them and must lie inside its directory tree after resolving symlinks (an absolute path
  too); in-memory scenarios resolve against, and stay inside, the current directory. The file
  is read and checked when the scenario is loaded, and the resolved scenario (saved with each
  run and each sweep point) carries its values instead of the path.

## Run size

`hybridsim validate` prints each run's size, estimated in closed form from the scenario
(`hybridsim.scenario.run_size(scenario)`, a `RunSize` with a one-line `describe()`): the runs
(the main run and its baselines), training steps, solve jobs, simulation events, bytes of
records held in memory, bytes written (with the report) and the simulated span. The span counts
arrivals, each step's local computes, and every solve on the route its policy takes at the
start, middle and end of training, stretched by failures (a task on a device with exponential
failures is expected to take `expm1(T / mtbf) · (mtbf + mttr)`, restarts included) and
calibration windows; queueing only adds to it. For real MLP blocks, whose κ is unknown before
they are built, it is a lower bound.

A run beyond any of these limits is refused by `validate` (and so by `run` and `sweep`), with one
line naming the key that contributes most (e.g. `workload.jobs`, `workload.epochs`,
`cluster.gpu.g.failures.mtbf`, `cluster.gpu.g.tflops`):

| limit | value | why |
|---|---|---|
| simulated span | 1e12 s | the longest duration a scenario may give; beyond it a derived time is a slip (not checked when `until` is set: the run stops there) |
| memory | 4 GB | records stream to disk as the run goes ([streaming](outputs.md#large-runs-streaming-and-lazy-records)): a run holds at most one chunk of rows of each kind (131,072 job rows of about 450 B, four times as many intervals of about 150 B or queue changes) and its aggregates, of which only the waits grow with the run (8 B per job): 10⁷ M/M/3 jobs take about 200 MB |
| output files | 8 GB (about 600 B per synthetic job, 750 B per training job, with the report; 40 % of that for the CSVs with `output.compress`) | `jobs.csv`, `intervals.csv`, `queues.csv`, `steps.csv`, the trace (`trace.json.gz` past 4 MiB) |
| simulation events | 2e8 | at 5–100 µs each, minutes to hours of wall time |
| devices | 10,000 in all | the engine builds every device and routes over all of them |
| real numerics | 1e14 flops | `kind = "mlp"` builds, shapes, estimates and solves every block (about 3·N³ flops per block and step): 1–2 hours on one core |

For example `quickstart.toml` with `workload.tenants = 1000` would compute about 2e14 flops of
real numerics and is refused naming `workload.tenants`; `mmc.toml` with
`workload.jobs = 100000000` would write about 72 GB, and
`paper-bert-tiny.toml` with `epochs = 10000` about 800 million jobs: both are refused, naming
`workload.jobs` and `workload.epochs`; `mmc.toml` with `workload.jobs = 10000000` (about 7 GB
written) runs.

## Keys

"""


def render() -> str:
    return HEADER + reference_markdown(Scenario)


def main() -> None:
    out = Path(__file__).resolve().parent / "reference" / "scenario.md"
    out.write_text(render())


if __name__ == "__main__":
    main()
