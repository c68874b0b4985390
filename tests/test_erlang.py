"""The engine against queueing theory: M/M/c mean waits versus the Erlang-C formula."""

import math
import statistics

import pytest

from hybridsim import run


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C), in seconds."""
    a = lam / mu
    rho = a / c
    assert rho < 1
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_erlang_c_textbook_value():
    # M/M/1, rho = 0.5: Wq = rho / (mu - lam) = 1
    assert erlang_c_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    # M/M/2 with a = 1: C = 1/3, Wq = C / (2 - 1) = 1/3
    assert erlang_c_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)


def mmc(c: int, lam: float, jobs: int) -> dict:
    return {
        "cluster": {"qpu": [{"name": "q", "count": c, "link_latency": 0}]},
        "network": {"host_latency": 0},
        "workload": {
            "kind": "synthetic",
            "jobs": jobs,
            "arrival": {"dist": "exponential", "rate_per_s": lam},
            "service": {"dist": "exponential", "mean_s": 1.0},
            "pool": "qpu",
        },
    }


# no_cover: 10^4-4·10^4 jobs through code the small tests already cover; coverage tracing would
# triple its time (CONTRIBUTING.md)
@pytest.mark.no_cover
@pytest.mark.parametrize(
    "c, rho, jobs, seeds", [(3, 0.8, 20000, 8), (2, 0.5, 10000, 8), (1, 0.9, 40000, 8)]
)
def test_mmc_mean_wait_matches_erlang_c(c, rho, jobs, seeds):
    lam = rho * c
    theory = erlang_c_wait(c, lam, 1.0)
    warmup = jobs // 10
    means = []
    for seed in range(seeds):
        r = run(mmc(c, lam, jobs), seed=seed)
        js = sorted(r.jobs, key=lambda j: j.job_id)[warmup:]
        means.append(sum(j.dispatched_at - j.submitted_at for j in js) / len(js) / 1e21)
    m = statistics.mean(means)
    se = statistics.stdev(means) / math.sqrt(seeds)
    # 99.7 % confidence band of the mean over independent replications
    assert abs(m - theory) <= 3 * se, (m, theory, se)
    assert se < 0.1 * theory  # the replications are long enough to make this a real check
