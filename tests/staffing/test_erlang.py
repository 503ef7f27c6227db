"""Erlang B / C / A: published figures, independent computations, properties, stability."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.staffing import (
    ErlangAResult,
    StaffingError,
    agents_for_service_level,
    erlang_a,
    erlang_a_closed_form,
    erlang_b,
    erlang_c,
    log_erlang_b,
    regularized_gamma_p,
)

FOUR_DP = 5e-5  # "to 4 decimal places": |got - published| < half a unit in the 4th place

# --------------------------------------------------------------- published Erlang C

# Source: the worked example in the README of the CRAN package "ErlangC" (Damonsoul,
# version 0.1.0, 2024; https://cran.r-project.org/package=ErlangC, README "Example",
# output of calculate_agents(...)$process): 100 calls per 30 minutes, AHT 180 s,
# target answer time 20 s, offered load 10 Erlangs. It is the classic "100 calls in half
# an hour, 3 minute AHT, 80/20" call-centre worked example.
# (agents, wait probability, service level within 20 s, ASA seconds, occupancy)
PUBLISHED_ERLANG_C = [
    (11, 0.6821182, 0.3896138, 122.78127684408, 0.9090909),
    (12, 0.4493882, 0.640158, 40.4449401868444, 0.8333333),
    (13, 0.2852705, 0.7955948, 17.1162271821896, 0.7692308),
    (14, 0.1741319, 0.88835, 7.83593701177724, 0.7142857),
]


@pytest.mark.parametrize(("agents", "p_wait", "sl", "asa", "occupancy"), PUBLISHED_ERLANG_C)
def test_erlang_c_matches_the_published_erlangc_example(
    agents: int, p_wait: float, sl: float, asa: float, occupancy: float
) -> None:
    result = erlang_c(agents, 100 / 1800, 180.0)
    assert result.offered_load == pytest.approx(10.0)
    assert result.p_wait == pytest.approx(p_wait, abs=FOUR_DP)
    assert result.service_level(20.0) == pytest.approx(sl, abs=FOUR_DP)
    assert result.asa_s == pytest.approx(asa, abs=FOUR_DP)
    assert result.occupancy == pytest.approx(occupancy, abs=FOUR_DP)


def test_required_agents_for_80_20_in_the_published_example_is_14() -> None:
    # Same source: calculate_agents(..., require_service_level = 0.8) -> $agents 14
    # (13 agents give 0.7956, short of 0.8).
    assert agents_for_service_level(100 / 1800, 180.0, 0.8, 20.0) == 14


# Textbook closed forms (any queueing text, e.g. Kleinrock, Queueing Systems vol. 1,
# sections 3.2 and 3.5): M/M/1: B = a/(1+a), C = rho, Wq = rho/(mu - lambda);
# M/M/2: C = 2 rho^2 / (1 + rho) with rho = a/2.
@settings(max_examples=60, deadline=None)
@given(rho=st.floats(0.01, 0.99), aht=st.floats(1.0, 1000.0))
def test_single_and_two_agent_closed_forms(rho: float, aht: float) -> None:
    mm1 = erlang_c(1, rho / aht, aht)
    assert erlang_b(1, rho) == pytest.approx(rho / (1 + rho), rel=1e-12)
    assert mm1.p_wait == pytest.approx(rho, rel=1e-12)
    assert mm1.asa_s == pytest.approx(rho / (1 / aht - rho / aht), rel=1e-9)
    mm2 = erlang_c(2, 2 * rho / aht, aht)
    assert mm2.p_wait == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)


def test_erlang_b_recurrence_matches_the_factorial_formula_for_small_cases() -> None:
    for n in range(0, 15):
        for a in (0.5, 3.0, 12.5):
            terms = [a**k / math.factorial(k) for k in range(n + 1)]
            assert erlang_b(n, a) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


# ------------------------------------------------------------------- stability


def test_erlang_c_is_finite_and_monotone_at_2000_agents() -> None:
    rate = 1900 / 300  # 1900 Erlangs with a 300 s AHT
    previous = None
    for n in range(1901, 2101):
        r = erlang_c(n, rate, 300.0)
        for value in (r.p_wait, r.service_level(20.0), r.occupancy):
            assert math.isfinite(value)
            assert 0.0 <= value <= 1.0
        assert math.isfinite(r.asa_s)
        if previous is not None:
            assert r.p_wait < previous.p_wait
            assert r.service_level(20.0) > previous.service_level(20.0)
            assert r.asa_s < previous.asa_s
        previous = r
    # close to saturation and far from it
    nearly_full = erlang_c(2000, 1999.9 / 300, 300.0)
    assert 0.99 < nearly_full.p_wait <= 1.0
    assert nearly_full.asa_s > 1000.0
    light = erlang_c(2000, 100 / 300, 300.0)
    assert light.p_wait == 0.0
    assert light.service_level(0.0) == 1.0


def test_log_erlang_b_keeps_precision_where_b_underflows() -> None:
    # B(2000, 100) ~ exp(-3990): far below the smallest double, but its log is finite,
    # and it agrees with log(a^n/n!) - log(sum a^k/k!) computed by lgamma.
    log_b = log_erlang_b(2000, 100.0)
    assert erlang_b(2000, 100.0) == 0.0
    log_terms = [k * math.log(100.0) - math.lgamma(k + 1) for k in range(2001)]
    top = max(log_terms)
    log_sum = top + math.log(math.fsum(math.exp(t - top) for t in log_terms))
    assert log_b == pytest.approx(log_terms[-1] - log_sum, rel=1e-12)


def test_erlang_a_is_finite_and_monotone_at_2000_agents() -> None:
    rate = 1900 / 300
    previous: ErlangAResult | None = None
    for n in range(1850, 2051, 25):
        r = erlang_a(n, rate, 300.0, 180.0)
        values = (r.p_wait, r.p_abandon, r.service_level(20.0, 5.0), r.occupancy,
                  r.service_level_answered(20.0))
        for value in values:
            assert math.isfinite(value)
            assert 0.0 <= value <= 1.0
        if previous is not None:
            assert r.p_wait < previous.p_wait
            assert r.p_abandon < previous.p_abandon
            assert r.service_level(20.0, 5.0) > previous.service_level(20.0, 5.0)
        previous = r
    overloaded = erlang_a(1000, rate, 300.0, 180.0)  # 1900 Erlangs on 1000 agents
    assert overloaded.p_abandon == pytest.approx(1 - 1000 / 1900, abs=1e-6)
    assert overloaded.occupancy == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------ Erlang A cross-checks


def _stationary_by_elimination(
    n: int, rate: float, aht: float, patience: float, states: int
) -> list[float]:
    """pi Q = 0, sum pi = 1 of the truncated chain, by Gaussian elimination.

    Independent of the product form used by erlang_a: it solves the global balance
    equations of the generator as a dense linear system.
    """
    mu, theta = 1 / aht, 1 / patience
    size = states
    q = [[0.0] * size for _ in range(size)]
    for k in range(size):
        if k + 1 < size:
            q[k][k + 1] = rate
        if k > 0:
            q[k][k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k][k] = -sum(q[k][i] for i in range(size) if i != k)
    # rows of the system: (Q^T) pi = 0, the last equation replaced by sum pi = 1
    matrix = [[q[col][row] for col in range(size)] + [0.0] for row in range(size)]
    matrix[-1] = [1.0] * size + [1.0]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(matrix[r][col]))
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for row in range(size):
            if row != col and matrix[row][col] != 0.0:
                factor = matrix[row][col] / matrix[col][col]
                matrix[row] = [a - factor * b for a, b in zip(matrix[row], matrix[col],
                                                              strict=True)]
    return [matrix[i][-1] / matrix[i][i] for i in range(size)]


def _tagged_customer_by_uniformization(
    n: int, rate: float, aht: float, patience: float, pi: list[float], horizon: float
) -> tuple[float, float]:
    """(P(answered with wait <= horizon), P(abandoned with wait <= horizon)).

    The arriving contact's own Markov chain: m = contacts ahead of it; it moves up at
    rate n mu + m theta (a service or an abandonment ahead), hangs up at rate theta.
    Transient probabilities of the two absorbing states by uniformization.
    """
    mu, theta = 1 / aht, 1 / patience
    depth = len(pi) - n
    served, gone = depth, depth + 1
    start = [0.0] * (depth + 2)
    start[served] = sum(pi[:n])
    for j in range(depth):
        start[j] = pi[n + j]
    uniform = n * mu + depth * theta + theta
    vector = start
    weight = math.exp(-uniform * horizon)
    got_served = weight * vector[served]
    got_gone = weight * vector[gone]
    k = 0
    while k < 10 * uniform * horizon + 200:
        k += 1
        nxt = [0.0] * (depth + 2)
        nxt[served] += vector[served]
        nxt[gone] += vector[gone]
        for m in range(depth):
            up = n * mu + m * theta
            nxt[served if m == 0 else m - 1] += vector[m] * up / uniform
            nxt[gone] += vector[m] * theta / uniform
            nxt[m] += vector[m] * (1 - (up + theta) / uniform)
        vector = nxt
        weight *= uniform * horizon / k
        got_served += weight * vector[served]
        got_gone += weight * vector[gone]
    return got_served, got_gone


# (agents, arrival rate per s, AHT s, mean patience s)
CTMC_CASES = [
    (1, 0.004, 180.0, 120.0),
    (3, 2 / 120, 120.0, 90.0),
    (5, 6 / 120, 120.0, 60.0),  # overloaded: 6 Erlangs on 5 agents
    (8, 0.05, 150.0, 200.0),
]


@pytest.mark.parametrize(("n", "rate", "aht", "patience"), CTMC_CASES)
def test_erlang_a_matches_a_direct_solution_of_the_truncated_chain(
    n: int, rate: float, aht: float, patience: float
) -> None:
    pi = _stationary_by_elimination(n, rate, aht, patience, states=n + 70)
    assert pi[-1] < 1e-15  # the truncation is harmless
    result = erlang_a(n, rate, aht, patience)
    p_wait = sum(pi[n:])
    mean_queue = sum((k - n) * pi[k] for k in range(n, len(pi)))
    assert result.p_wait == pytest.approx(p_wait, abs=1e-10)
    assert result.mean_queue_length == pytest.approx(mean_queue, abs=1e-10)
    # abandonment flow: theta E[Q] = lambda P(abandon)
    assert result.p_abandon == pytest.approx(mean_queue / patience / rate, abs=1e-10)
    busy = sum(min(k, n) * pi[k] for k in range(len(pi)))
    assert result.occupancy == pytest.approx(busy / n, abs=1e-10)
    for horizon in (5.0, 20.0, 60.0):
        answered, abandoned = _tagged_customer_by_uniformization(
            n, rate, aht, patience, pi, horizon)
        assert result.answered_within(horizon) == pytest.approx(answered, abs=1e-9)
        assert result.abandoned_within(horizon) == pytest.approx(abandoned, abs=1e-9)


@pytest.mark.parametrize(("n", "rate", "aht", "patience"), CTMC_CASES)
def test_erlang_a_answered_wait_matches_a_first_step_recursion(
    n: int, rate: float, aht: float, patience: float
) -> None:
    # E[wait; answered] by first-step analysis on the tagged contact's chain:
    # g(m) = u(m)/r_m + (up_m/r_m) g(m-1), u(m) = (up_m/r_m) u(m-1), u(-1)=1, g(-1)=0.
    pi = _stationary_by_elimination(n, rate, aht, patience, states=n + 70)
    mu, theta = 1 / aht, 1 / patience
    u_prev, g_prev = 1.0, 0.0
    answered = sum(pi[:n])
    wait_answered = 0.0
    for m in range(len(pi) - n):
        up = n * mu + m * theta
        r = up + theta
        u = up / r * u_prev
        g = u / r + up / r * g_prev
        answered += pi[n + m] * u
        wait_answered += pi[n + m] * g
        u_prev, g_prev = u, g
    result = erlang_a(n, rate, aht, patience)
    assert result.p_abandon == pytest.approx(1 - answered, abs=1e-10)
    assert result.asa_s == pytest.approx(wait_answered / answered, abs=1e-8)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 300),
    utilisation=st.floats(0.05, 1.6),
    aht=st.floats(10.0, 900.0),
    patience=st.floats(5.0, 3000.0),
    target=st.floats(0.0, 120.0),
)
def test_erlang_a_chain_agrees_with_the_incomplete_gamma_closed_forms(
    n: int, utilisation: float, aht: float, patience: float, target: float
) -> None:
    rate = utilisation * n / aht
    chain = erlang_a(n, rate, aht, patience)
    closed = erlang_a_closed_form(n, rate, aht, patience, target)
    assert chain.p_wait == pytest.approx(closed.p_wait, abs=1e-8)
    assert chain.p_abandon == pytest.approx(closed.p_abandon, abs=1e-8)
    assert chain.answered_within(target) == pytest.approx(closed.answered_within_target,
                                                          abs=1e-8)


@pytest.mark.parametrize(("agents", "p_wait", "sl", "asa"), [row[:4] for row in
                                                             PUBLISHED_ERLANG_C])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    agents: int, p_wait: float, sl: float, asa: float
) -> None:
    # Infinite patience is Erlang C: with a mean patience of 10^7 s the published
    # Erlang C probabilities hold to 4 decimal places. The gap closes like
    # 1/patience: ASA (seconds, ~123 s at 11 agents) is within 0.1% at 10^7 s and ten
    # times closer at 10^8 s.
    result = erlang_a(agents, 100 / 1800, 180.0, 1e7)
    assert result.p_wait == pytest.approx(p_wait, abs=FOUR_DP)
    assert result.service_level(20.0) == pytest.approx(sl, abs=FOUR_DP)
    assert result.asa_s == pytest.approx(asa, rel=1e-3)
    assert result.p_abandon < 1e-4
    closer = erlang_a(agents, 100 / 1800, 180.0, 1e8)
    assert closer.service_level_answered(20.0) == pytest.approx(sl, abs=FOUR_DP)
    assert abs(closer.asa_s - asa) < abs(result.asa_s - asa) / 5


def test_patience_moves_erlang_a_towards_erlang_c_monotonically() -> None:
    c = erlang_c(12, 100 / 1800, 180.0)
    gaps = [abs(erlang_a(12, 100 / 1800, 180.0, p).p_wait - c.p_wait)
            for p in (30.0, 120.0, 600.0, 3600.0, 36000.0)]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 5e-3


def test_regularized_gamma_p_against_known_values() -> None:
    # P(1, z) = 1 - e^-z; P(s, z) for whole s = Poisson tail: 1 - sum_{k<s} e^-z z^k/k!
    assert regularized_gamma_p(1.0, 2.0) == pytest.approx(1 - math.exp(-2.0), rel=1e-14)
    for s, z in ((5, 3.0), (5, 9.0), (40, 35.0), (40, 60.0)):
        poisson = sum(math.exp(-z) * z**k / math.factorial(k) for k in range(s))
        assert regularized_gamma_p(float(s), z) == pytest.approx(1 - poisson, rel=1e-12)
    # P(1/2, z) = erf(sqrt z)
    assert regularized_gamma_p(0.5, 0.7) == pytest.approx(math.erf(math.sqrt(0.7)), rel=1e-13)


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    fraction=st.floats(0.01, 0.99),
    aht=st.floats(5.0, 1200.0),
    target=st.floats(0.0, 300.0),
)
def test_erlang_c_more_agents_means_better_service(
    n: int, fraction: float, aht: float, target: float
) -> None:
    rate = fraction * n / aht
    fewer, more = erlang_c(n, rate, aht), erlang_c(n + 1, rate, aht)
    assert more.p_wait <= fewer.p_wait
    assert more.service_level(target) >= fewer.service_level(target)
    assert more.asa_s <= fewer.asa_s
    assert more.occupancy < fewer.occupancy
    assert fewer.service_level(target) <= fewer.service_level(target + 10.0)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    utilisation=st.floats(0.05, 1.5),
    aht=st.floats(5.0, 1200.0),
    patience=st.floats(5.0, 2000.0),
    target=st.floats(0.0, 300.0),
    short=st.floats(0.0, 10.0),
)
def test_erlang_a_more_agents_means_better_service(
    n: int, utilisation: float, aht: float, patience: float, target: float, short: float
) -> None:
    rate = utilisation * n / aht
    fewer, more = erlang_a(n, rate, aht, patience), erlang_a(n + 1, rate, aht, patience)
    slack = 1e-12
    assert more.p_wait <= fewer.p_wait + slack
    assert more.p_abandon <= fewer.p_abandon + slack
    assert more.answered_within(target) >= fewer.answered_within(target) - slack
    if short <= target:
        assert more.service_level(target, short) >= fewer.service_level(target, short) - slack
    assert more.asa_s <= fewer.asa_s + 1e-9
    # and within one model: a longer threshold never lowers the service level
    assert fewer.answered_within(target + 5.0) >= fewer.answered_within(target) - slack
    # the served-only variant is never below the all-offered one
    assert fewer.service_level_answered(target) >= fewer.service_level(target) - slack


@settings(max_examples=40, deadline=None)
@given(
    load=st.floats(0.05, 150.0),
    aht=st.floats(10.0, 900.0),
    target_sl=st.floats(0.05, 0.99),
    target=st.floats(0.0, 120.0),
    patience=st.one_of(st.none(), st.floats(10.0, 1200.0)),
)
def test_required_agents_is_the_smallest_that_meets_the_target(
    load: float, aht: float, target_sl: float, target: float, patience: float | None
) -> None:
    rate = load / aht

    def sl(k: int) -> float:
        model = erlang_c(k, rate, aht) if patience is None else erlang_a(k, rate, aht, patience)
        return model.service_level(target)

    n = agents_for_service_level(rate, aht, target_sl, target, patience)
    assert sl(n) >= target_sl
    first_stable = math.floor(load) + 1 if patience is None else 1
    assert n == first_stable or sl(n - 1) < target_sl


def test_erlang_a_needs_fewer_agents_than_erlang_c() -> None:
    c = agents_for_service_level(100 / 1800, 180.0, 0.8, 20.0)
    a = agents_for_service_level(100 / 1800, 180.0, 0.8, 20.0, patience_s=60.0)
    assert a < c


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: erlang_c(0, 0.1, 100.0), "staffing.invalid_input"),
        (lambda: erlang_c(-3, 0.1, 100.0), "staffing.invalid_input"),
        (lambda: erlang_c(5, -0.1, 100.0), "staffing.invalid_input"),
        (lambda: erlang_c(5, 0.1, 0.0), "staffing.invalid_input"),
        (lambda: erlang_c(5, math.nan, 100.0), "staffing.invalid_input"),
        (lambda: erlang_c(5, 0.05, 100.0), "staffing.unstable"),  # 5 Erlangs on 5 agents
        (lambda: erlang_c(5, 0.06, 100.0), "staffing.unstable"),
        (lambda: erlang_a(5, 0.06, 100.0, 0.0), "staffing.invalid_input"),
        (lambda: erlang_a(5, 0.06, 100.0, math.inf), "staffing.invalid_input"),
        (lambda: erlang_a(2.5, 0.06, 100.0, 30.0), "staffing.invalid_input"),  # type: ignore[arg-type]
        (lambda: erlang_c(5, 0.01, 100.0).service_level(-1.0), "staffing.invalid_input"),
        (lambda: agents_for_service_level(0.1, 100.0, 1.0, 20.0), "staffing.invalid_input"),
        (lambda: agents_for_service_level(0.1, 100.0, 0.8, -5.0), "staffing.invalid_input"),
        (lambda: agents_for_service_level(100.0, 100.0, 0.8, 20.0, max_agents=50),
         "staffing.target_unreachable"),
        (lambda: erlang_a(1, 100.0, 100.0, 1e9), "staffing.out_of_range"),
    ],
)
def test_bad_input_raises_a_stable_code(call: Callable[[], object], code: str) -> None:
    with pytest.raises(StaffingError) as caught:
        call()
    assert caught.value.code == code
    assert caught.value.message
