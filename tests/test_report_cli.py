"""``hybridsim run`` writes the report, ``hybridsim report`` rebuilds it byte for byte, compares
runs, fails with one line on bad input; and a real headless Chromium renders the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_report import check_page

from hybridsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios/mmc.toml")
REPORT_FILES = ("report.html", "timeline.png", "trace.json")


def _run(out: Path, *extra: str) -> None:
    assert (
        main(["run", MMC, "--out", str(out), "--quiet", "--set", "workload.jobs=300", *extra]) == 0
    )


@pytest.fixture(scope="module")
def mmc_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "mmc"
    _run(out)
    return out


def test_run_writes_the_report_and_report_rebuilds_it_byte_identical(mmc_dir, capsys):
    first = {name: (mmc_dir / name).read_bytes() for name in REPORT_FILES}
    check_page(mmc_dir / "report.html")
    assert main(["report", str(mmc_dir)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == sorted(REPORT_FILES)
    assert {name: (mmc_dir / name).read_bytes() for name in REPORT_FILES} == first


def test_rerunning_gives_the_same_report(mmc_dir, tmp_path):
    again = tmp_path / "mmc"  # same directory name: the page names the run by its directory
    _run(again)
    for name in REPORT_FILES:
        assert (again / name).read_bytes() == (mmc_dir / name).read_bytes(), name


def test_no_report_skips_the_report(tmp_path):
    out = tmp_path / "bare"
    _run(out, "--no-report")
    assert (out / "summary.json").exists()
    assert not any((out / name).exists() for name in REPORT_FILES)
    assert main(["report", str(out), "--quiet"]) == 0
    check_page(out / "report.html")


def test_report_out_writes_elsewhere(mmc_dir, tmp_path):
    out = tmp_path / "elsewhere"
    assert main(["report", str(mmc_dir), "--out", str(out), "--quiet"]) == 0
    assert all((out / name).is_file() for name in REPORT_FILES)
    page = check_page(out / "report.html")  # links point back into the run directory
    assert any(h.endswith("jobs.csv") and h.startswith("..") for h in page.hrefs)


def test_several_directories_give_a_comparison(mmc_dir, tmp_path, capsys):
    other = tmp_path / "seed2"
    assert (
        main(
            [
                "run",
                MMC,
                "--out",
                str(other),
                "--quiet",
                "--no-report",
                "--set",
                "workload.jobs=200",
                "--seed",
                "2",
            ]
        )
        == 0
    )
    assert main(["report", str(mmc_dir), str(other), "--out", str(tmp_path)]) == 0
    (written,) = capsys.readouterr().out.split()
    assert Path(written) == tmp_path / "comparison.html"
    page = check_page(tmp_path / "comparison.html")
    text = (tmp_path / "comparison.html").read_text()
    assert "workload.jobs" in text  # the scenarios' difference is listed
    assert {"summary", "differences", "costs", "timeline-mmc", "timeline-seed2"} <= page.ids
    # default output: the first directory's parent
    assert main(["report", str(mmc_dir), str(other), "--quiet"]) == 0
    assert (mmc_dir.parent / "comparison.html").is_file()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such directory"),
        (lambda p: p, "not a run directory (no summary.json)"),
    ],
)
def test_bad_directories_exit_2_with_one_line(tmp_path, make, message):
    target = make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "hybridsim.cli", "report", str(target)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


# -- a real browser -------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def test_report_renders_in_headless_chromium(mmc_dir, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("HYBRIDSIM_REQUIRE_BROWSER"):
            pytest.fail("HYBRIDSIM_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from PIL import Image

    shot = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        (mmc_dir / "report.html").resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert shot.is_file(), proc.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert img.shape == (2000, 1200, 3)
    non_white = (img.sum(axis=2) < 720).mean()
    assert non_white > 0.02, f"screenshot is (nearly) blank: {non_white:.4f} non-white"
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    # the embedded timeline PNG was decoded and drawn: its quantum-bar purple (#9467bd) is there
    purple = (np.abs(img - [0x94, 0x67, 0xBD]).max(axis=2) < 12).sum()
    assert purple > 2000, purple
