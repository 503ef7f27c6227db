"""Staffing advice from Erlang C (M/M/n) and Erlang A (M/M/n+M, with patience).

Pure functions over plain numbers; results are frozen dataclasses. Everything is
computed by recurrences or in log space, so nothing overflows or underflows at
2,000 agents and loads near 2,000 Erlangs (see ``docs/staffing.md``).

Units: rates are per second, times are seconds. ``a = arrival_rate * aht`` is the
offered load in Erlangs.

Service level (DESIGN.md section 6):

* ``service_level(T)`` = answered with wait <= T / (offered - short abandons),
  where a short abandon is one that hung up within ``short_abandon_s`` (0 by
  default, so the denominator is every offered contact). With Erlang C nobody
  abandons, so this is simply P(wait <= T).
* ``service_level_answered(T)`` = answered with wait <= T / answered (the
  served-only variant).

Command line: ``callcenter staffing --calls-per-interval N --interval-s S --aht-s A
--target-sl 0.8 --target-s 20 [--patience-s P] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from callcenter.config import Config
from callcenter.errors import CallCenterError

__all__ = [
    "ErlangAClosedForm",
    "ErlangAResult",
    "ErlangResult",
    "StaffingError",
    "StaffingRow",
    "add_arguments",
    "agents_for_service_level",
    "chat_agents_required",
    "email_agents_required",
    "erlang_a",
    "erlang_a_closed_form",
    "erlang_b",
    "erlang_c",
    "forecast_staffing",
    "log_erlang_b",
    "regularized_gamma_p",
    "run",
    "staffing_table",
]

# Terms of the waiting-line distribution smaller than exp(-40) (about 4e-18) of the
# largest one are dropped; the dropped tail is a geometric series below that.
_LOG_TAIL_CUTOFF = -40.0
# Guard against a waiting line so long (enormous patience in overload) that the exact
# sum would take minutes; far beyond any real contact centre.
_MAX_QUEUE_TERMS = 1_000_000


class StaffingError(CallCenterError):
    """Bad staffing input, or a question without an answer (stable ``code``).

    Codes: ``staffing.invalid_input`` (a number out of range),
    ``staffing.unstable`` (Erlang C with load >= agents: no steady state),
    ``staffing.target_unreachable`` (the target needs more than ``max_agents``),
    ``staffing.out_of_range`` (a model too large to evaluate exactly).
    """

    code = "staffing.invalid_input"
    status = 422


# --------------------------------------------------------------------------- checks


def _number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StaffingError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise StaffingError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value: float) -> float:
    number = _number(name, value)
    if number <= 0:
        raise StaffingError(f"{name} must be greater than 0, got {value!r}")
    return number


def _non_negative(name: str, value: float) -> float:
    number = _number(name, value)
    if number < 0:
        raise StaffingError(f"{name} must not be negative, got {value!r}")
    return number


def _agents(value: int, name: str = "agents") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StaffingError(f"{name} must be a whole number, got {value!r}")
    if value < 1:
        raise StaffingError(f"{name} must be at least 1, got {value}")
    return value


def _target_sl(value: float) -> float:
    number = _number("target_sl", value)
    if not 0 < number < 1:
        raise StaffingError(f"target_sl must be between 0 and 1 (exclusive), got {value!r}")
    return number


# ------------------------------------------------------------------------ Erlang B/C


def log_erlang_b(agents: int, load_erlangs: float) -> float:
    """Natural log of the Erlang B blocking probability B(agents, load).

    The classic recurrence B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1)), carried in log
    space so that B may be far below the smallest float (e.g. 2,000 agents and 100
    Erlangs) without becoming 0.
    """
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise StaffingError(f"agents must be a whole number >= 0, got {agents!r}")
    a = _non_negative("load_erlangs", load_erlangs)
    if a == 0:
        return 0.0 if agents == 0 else -math.inf
    log_a = math.log(a)
    log_b = 0.0
    for n in range(1, agents + 1):
        # a*B(n-1) is at most a; once it is below 1e-300 it no longer changes n + a*B.
        a_b = math.exp(log_a + log_b) if log_a + log_b > -700.0 else 0.0
        log_b = log_a + log_b - math.log(n + a_b)
    return log_b


def erlang_b(agents: int, load_erlangs: float) -> float:
    """Erlang B blocking probability (M/M/n/n) for ``agents`` servers and ``load_erlangs``."""
    return math.exp(log_erlang_b(agents, load_erlangs))


@dataclass(frozen=True, slots=True)
class ErlangResult:
    """Erlang C (M/M/n, no abandonment) figures for one number of agents."""

    agents: int
    arrival_rate_per_s: float
    aht_s: float
    offered_load: float
    p_wait: float
    asa_s: float
    occupancy: float

    def service_level(self, target_s: float, short_abandon_s: float = 0.0) -> float:
        """P(wait <= target_s) = 1 - C exp(-(n - a) target_s / AHT).

        ``short_abandon_s`` is accepted for symmetry with Erlang A; nobody abandons in
        Erlang C, so it does not change the figure.
        """
        t = _non_negative("target_s", target_s)
        _non_negative("short_abandon_s", short_abandon_s)
        decay = (self.agents - self.offered_load) * t / self.aht_s
        return min(1.0, max(0.0, 1.0 - self.p_wait * math.exp(-decay)))

    def service_level_answered(self, target_s: float) -> float:
        """Answered within ``target_s`` / answered: the same as :meth:`service_level`."""
        return self.service_level(target_s)

    @property
    def p_abandon(self) -> float:
        """Always 0: Erlang C callers wait for ever."""
        return 0.0


def erlang_c(agents: int, arrival_rate_per_s: float, aht_s: float) -> ErlangResult:
    """Erlang C for ``agents`` agents, Poisson arrivals and exponential handle times.

    C = n B / (n - a (1 - B)) with B the Erlang B probability; ASA = C AHT / (n - a);
    occupancy = a / n. Raises ``staffing.unstable`` when a >= n (the queue grows
    without bound, there is no steady state).
    """
    n = _agents(agents)
    rate = _positive("arrival_rate_per_s", arrival_rate_per_s)
    aht = _positive("aht_s", aht_s)
    a = rate * aht
    if a >= n:
        raise StaffingError(
            f"offered load {a:.4g} Erlangs needs more than {n} agents: with load >= agents "
            "the Erlang C queue has no steady state",
            code="staffing.unstable",
        )
    b = erlang_b(n, a)
    c = n * b / (n - a * (1.0 - b))
    c = min(1.0, max(0.0, c))
    return ErlangResult(
        agents=n,
        arrival_rate_per_s=rate,
        aht_s=aht,
        offered_load=a,
        p_wait=c,
        asa_s=c * aht / (n - a),
        occupancy=a / n,
    )


# --------------------------------------------------------------------------- Erlang A


def _log_sum_exp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def _logistic_of_log_odds(log_odds: float) -> float:
    """1 / (1 + exp(-log_odds)) without overflow."""
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    e = math.exp(log_odds)
    return e / (1.0 + e)


def _beta_tails(p: float, log_p: float, log_q: float, b: float, count: int) -> list[float]:
    """I_p(j + 1, b) for j = 0 .. count-1 (regularized incomplete beta).

    For whole ``b`` this is P(at least j+1 of j+b exponential lifetimes end by the
    time where a single one has ended with probability p). Recurrence in the first
    argument: I(1) = 1 - q^b, I(k+1) = I(k) - G(k+b)/(G(k+1)G(b)) p^k q^b, with the
    subtracted negative-binomial terms carried in log space.
    """
    out: list[float] = []
    if p <= 0.0:
        return [0.0] * count
    tail = -math.expm1(b * log_q)  # I(1) = 1 - q^b, accurate for tiny p
    log_term = math.log(b) + log_p + b * log_q  # k = 1
    for k in range(1, count + 1):
        out.append(min(1.0, max(0.0, tail)))
        tail -= math.exp(log_term) if log_term > -745.0 else 0.0
        log_term += log_p + math.log(k + b) - math.log(k + 1)
    return out


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Erlang A (M/M/n+M: exponential patience) figures for one number of agents.

    ``p_wait`` is P(an arriving contact is not answered at once) = P(all agents busy)
    by PASTA; ``p_abandon`` the fraction of offered contacts that hang up before an
    agent answers; ``asa_s`` the mean wait of *answered* contacts (DESIGN.md section 6);
    ``mean_wait_s`` the mean wait of all offered contacts (abandoned ones until they
    hang up); ``occupancy`` = answered load / agents.
    """

    agents: int
    arrival_rate_per_s: float
    aht_s: float
    patience_s: float
    offered_load: float
    p_wait: float
    p_abandon: float
    asa_s: float
    mean_wait_s: float
    mean_queue_length: float
    occupancy: float
    # P(j contacts already waiting | an arrival has to wait), j = 0, 1, ...
    queue_distribution: tuple[float, ...] = field(repr=False, compare=False)

    def _x(self) -> float:
        # n mu / theta: the agents' total service rate in units of one patience rate
        return self.agents * self.patience_s / self.aht_s

    def answered_within(self, target_s: float) -> float:
        """P(answered with wait <= target_s), over all offered contacts.

        A contact that finds j others waiting reaches an agent after the time V_j
        for j+1 departures ahead of it, at rates n mu + m theta (m = j, ..., 0); it
        is answered within T when V_j <= T and V_j < its own patience:
        E[exp(-theta V_j); V_j <= T] = x/(x+j+1) I_p(j+1, x+1), p = 1 - exp(-theta T).
        """
        t = _non_negative("target_s", target_s)
        answered_at_once = 1.0 - self.p_wait
        if t == 0.0 or self.p_wait == 0.0:
            return answered_at_once
        x = self._x()
        theta_t = t / self.patience_s
        log_q = -theta_t
        p = -math.expm1(-theta_t)
        if p <= 0.0:  # a threshold so small that theta T underflows
            return answered_at_once
        tails = _beta_tails(p, math.log(p), log_q, x + 1.0, len(self.queue_distribution))
        within = math.fsum(
            w * x / (x + j + 1.0) * tails[j] for j, w in enumerate(self.queue_distribution)
        )
        return min(1.0, answered_at_once + self.p_wait * within)

    def abandoned_within(self, seconds: float) -> float:
        """P(hung up with wait <= seconds), over all offered contacts (short abandons).

        P(min(V_j, tau) <= s) - P(V_j <= s, V_j < tau) with tau ~ Exp(theta) the
        contact's patience and P(V_j <= s) = I_p(j+1, x).
        """
        s = _non_negative("seconds", seconds)
        if s == 0.0 or self.p_wait == 0.0:
            return 0.0
        x = self._x()
        theta_s = s / self.patience_s
        log_q = -theta_s
        q = math.exp(log_q)
        p = -math.expm1(-theta_s)
        if p <= 0.0:
            return 0.0
        count = len(self.queue_distribution)
        served_by = _beta_tails(p, math.log(p), log_q, x + 1.0, count)
        offered_by = _beta_tails(p, math.log(p), log_q, x, count)
        total = math.fsum(
            w * max(0.0, 1.0 - q * (1.0 - offered_by[j]) - x / (x + j + 1.0) * served_by[j])
            for j, w in enumerate(self.queue_distribution)
        )
        return min(self.p_abandon, self.p_wait * total)

    def service_level(self, target_s: float, short_abandon_s: float = 0.0) -> float:
        """Answered within T / (offered - abandoned within ``short_abandon_s``).

        With the default ``short_abandon_s=0`` the denominator is every offered
        contact; pass the configured short-abandon threshold (DESIGN.md section 6) to
        get the figure the live dashboard reports.
        """
        answered = self.answered_within(target_s)
        short = self.abandoned_within(short_abandon_s)
        return min(1.0, answered / (1.0 - short))

    def service_level_answered(self, target_s: float) -> float:
        """Answered within T / answered (the served-only variant)."""
        answered = 1.0 - self.p_abandon
        if answered <= 0.0:
            return 0.0
        return min(1.0, self.answered_within(target_s) / answered)


def _too_long(x: float, y: float) -> StaffingError:
    return StaffingError(
        f"the waiting line of this Erlang A model is too long to sum exactly "
        f"(arrival rate x patience = {y:.3g} against agents' capacity {x:.3g})",
        code="staffing.out_of_range",
    )


def erlang_a(
    agents: int, arrival_rate_per_s: float, aht_s: float, patience_s: float
) -> ErlangAResult:
    """Erlang A (Palm; Garnett, Mandelbaum & Reiman 2002): M/M/n+M, mean patience given.

    Exact, from the birth-death chain: pi_k ~ a^k / k! up to k = n, then
    pi_{n+j} = pi_n prod_{i=1..j} lambda / (n mu + i theta). The waiting part is
    summed in log space until its terms fall below exp(-40) of the largest; P(wait)
    combines it with Erlang B. Always stable (also with load >= agents).
    """
    n = _agents(agents)
    rate = _positive("arrival_rate_per_s", arrival_rate_per_s)
    aht = _positive("aht_s", aht_s)
    patience = _positive("patience_s", patience_s)
    a = rate * aht
    x = n * patience / aht  # n mu / theta
    y = rate * patience  # lambda / theta

    # log w_j, w_j = pi_{n+j} / pi_n = y^j / ((x+1)(x+2)...(x+j))
    peak_at = max(0.0, y - x)
    if peak_at > _MAX_QUEUE_TERMS:
        raise _too_long(x, y)
    log_y = math.log(y)
    log_w = [0.0]
    top = 0.0
    j = 0
    while True:
        j += 1
        value = log_w[-1] + log_y - math.log(x + j)
        log_w.append(value)
        top = max(top, value)
        if j > peak_at and value < top + _LOG_TAIL_CUTOFF:
            break
        if j > _MAX_QUEUE_TERMS:
            raise _too_long(x, y)
    log_sum_w = _log_sum_exp(log_w)
    queue_distribution = tuple(math.exp(v - log_sum_w) for v in log_w)

    # P(wait) = A B / (1 - B + A B), A = sum w_j, B = Erlang B (GMR 2002, eq. 3.3 form)
    log_b = log_erlang_b(n, a)
    b = math.exp(log_b)
    log_one_minus_b = math.log1p(-b) if b < 1.0 else -math.inf
    p_wait = _logistic_of_log_odds(log_sum_w + log_b - log_one_minus_b)

    # Per arrival that finds j waiting: P(abandon | j) = (j+1)/(x+j+1);
    # E[wait | answered, j] = sum_{m=0..j} 1 / (n mu + (m+1) theta).
    mu_n = n / aht
    theta = 1.0 / patience
    ab_terms = []
    asa_terms = []
    queue_terms = []
    cumulative_wait = 0.0
    for j, w in enumerate(queue_distribution):
        cumulative_wait += 1.0 / (mu_n + (j + 1) * theta)
        served = x / (x + j + 1.0)
        ab_terms.append(w * (j + 1.0) / (x + j + 1.0))
        asa_terms.append(w * served * cumulative_wait)
        queue_terms.append(w * j)
    p_abandon = min(1.0, max(0.0, p_wait * math.fsum(ab_terms)))
    p_answered = 1.0 - p_abandon
    asa = p_wait * math.fsum(asa_terms) / p_answered if p_answered > 0 else math.inf
    return ErlangAResult(
        agents=n,
        arrival_rate_per_s=rate,
        aht_s=aht,
        patience_s=patience,
        offered_load=a,
        p_wait=p_wait,
        p_abandon=p_abandon,
        asa_s=asa,
        # every waiting contact abandons at rate theta: P(abandon) = theta E[W]
        mean_wait_s=p_abandon * patience,
        mean_queue_length=p_wait * math.fsum(queue_terms),
        occupancy=min(1.0, a * p_answered / n),
        queue_distribution=queue_distribution,
    )


# ------------------------------------------ Erlang A, closed forms (incomplete gamma)


def _log_gamma_series(s: float, z: float) -> float:
    """log P(s, z) by the series (Numerical Recipes ``gser``), for z < s + 1."""
    term = total = 1.0 / s
    k = s
    limit = 1000 + int(50 * math.sqrt(s))
    for _ in range(limit):
        k += 1.0
        term *= z / k
        total += term
        if term < total * 1e-17:
            return math.log(total) - z + s * math.log(z) - math.lgamma(s)
    raise StaffingError("incomplete gamma series did not converge", code="staffing.out_of_range")


def _log_gamma_q_fraction(s: float, z: float) -> float:
    """log Q(s, z) by the continued fraction (NR ``gcf``, modified Lentz), z >= s + 1."""
    tiny = 1e-300
    b = z + 1.0 - s
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    limit = 1000 + int(50 * math.sqrt(s + z))
    for i in range(1, limit):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            return math.log(h) - z + s * math.log(z) - math.lgamma(s)
    raise StaffingError("incomplete gamma fraction did not converge",
                        code="staffing.out_of_range")


def _log_gamma_p(s: float, z: float) -> float:
    if z <= 0.0:
        return -math.inf
    if z < s + 1.0:
        return _log_gamma_series(s, z)
    return math.log1p(-math.exp(_log_gamma_q_fraction(s, z)))


def regularized_gamma_p(s: float, z: float) -> float:
    """P(s, z) = gamma(s, z) / Gamma(s), the regularized lower incomplete gamma function.

    Series for z < s + 1, continued fraction otherwise (Press et al., Numerical
    Recipes, section 6.2, ``gammp``), evaluated in log space.
    """
    s_ = _positive("s", s)
    z_ = _non_negative("z", z)
    return math.exp(_log_gamma_p(s_, z_))


@dataclass(frozen=True, slots=True)
class ErlangAClosedForm:
    """Erlang A figures from the closed forms with incomplete gamma functions."""

    p_wait: float
    p_abandon: float
    answered_within_target: float


def erlang_a_closed_form(
    agents: int, arrival_rate_per_s: float, aht_s: float, patience_s: float, target_s: float
) -> ErlangAClosedForm:
    """Erlang A by the Garnett-Mandelbaum-Reiman (2002) closed forms; a cross-check.

    With x = n mu / theta, y = lambda / theta, A(x, y) = x e^y y^-x gamma(x, y):
    P(wait) = A B / (1 - B + A B); P(abandon | wait) = 1/(rho A) + 1 - 1/rho with
    rho = y / x; P(answered, wait <= T | wait) =
    (gamma(x+1, y) - gamma(x+1, y e^{-theta T})) / (y gamma(x, y)), which follows
    from P(offered wait > t | wait) = gamma(x, y e^{-theta t}) / gamma(x, y).
    """
    n = _agents(agents)
    rate = _positive("arrival_rate_per_s", arrival_rate_per_s)
    aht = _positive("aht_s", aht_s)
    patience = _positive("patience_s", patience_s)
    t = _non_negative("target_s", target_s)
    a = rate * aht
    x = n * patience / aht
    y = rate * patience
    log_p_xy = _log_gamma_p(x, y)
    log_a_xy = math.log(x) + y - x * math.log(y) + math.lgamma(x) + log_p_xy
    log_b = log_erlang_b(n, a)
    b = math.exp(log_b)
    log_one_minus_b = math.log1p(-b) if b < 1.0 else -math.inf
    p_wait = _logistic_of_log_odds(log_a_xy + log_b - log_one_minus_b)
    rho = y / x
    p_ab_given_wait = math.exp(-math.log(rho) - log_a_xy) + 1.0 - 1.0 / rho
    # gamma(x+1, z) / gamma(x, y) = x P(x+1, z) / P(x, y)
    ratio_full = math.exp(_log_gamma_p(x + 1.0, y) - log_p_xy)
    ratio_cut = math.exp(_log_gamma_p(x + 1.0, y * math.exp(-t / patience)) - log_p_xy)
    within_given_wait = x / y * (ratio_full - ratio_cut)
    return ErlangAClosedForm(
        p_wait=p_wait,
        p_abandon=min(1.0, max(0.0, p_wait * p_ab_given_wait)),
        answered_within_target=min(1.0, 1.0 - p_wait + p_wait * within_given_wait),
    )


# ------------------------------------------------------------------------- staffing


def _evaluate(
    agents: int, rate: float, aht: float, patience_s: float | None
) -> ErlangResult | ErlangAResult:
    if patience_s is None:
        return erlang_c(agents, rate, aht)
    return erlang_a(agents, rate, aht, patience_s)


def _first_candidate(load: float, patience_s: float | None) -> int:
    # Erlang C needs n > a. Erlang A answers at most n/a of the offered contacts.
    if patience_s is None:
        return math.floor(load) + 1
    return 1


def agents_for_service_level(
    arrival_rate_per_s: float,
    aht_s: float,
    target_sl: float,
    target_s: float,
    patience_s: float | None = None,
    max_agents: int = 5000,
    *,
    short_abandon_s: float = 0.0,
) -> int:
    """Fewest agents whose service level within ``target_s`` is at least ``target_sl``.

    Erlang C without ``patience_s``, Erlang A with it (service level as in
    :meth:`ErlangAResult.service_level`). Binary search: the service level rises with
    every agent added. Raises ``staffing.target_unreachable`` above ``max_agents``.
    """
    rate = _positive("arrival_rate_per_s", arrival_rate_per_s)
    aht = _positive("aht_s", aht_s)
    goal = _target_sl(target_sl)
    t = _non_negative("target_s", target_s)
    short = _non_negative("short_abandon_s", short_abandon_s)
    if patience_s is not None:
        _positive("patience_s", patience_s)
    limit = _agents(max_agents, "max_agents")
    load = rate * aht

    def meets(n: int) -> bool:
        return _evaluate(n, rate, aht, patience_s).service_level(t, short) >= goal

    low = _first_candidate(load, patience_s)
    if low > limit or not meets(limit):
        raise StaffingError(
            f"a service level of {goal:.4g} within {t:g} s needs more than {limit} agents "
            f"(offered load {load:.4g} Erlangs)",
            code="staffing.target_unreachable",
        )
    high = limit  # meets(high) holds
    while low < high:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle + 1
    return high


@dataclass(frozen=True, slots=True)
class StaffingRow:
    """One line of a staffing table."""

    agents: int
    p_wait: float
    service_level: float
    service_level_answered: float
    asa_s: float
    occupancy: float
    p_abandon: float | None
    meets_target: bool
    required: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the row."""
        return {
            "agents": self.agents,
            "p_wait": self.p_wait,
            "service_level": self.service_level,
            "service_level_answered": self.service_level_answered,
            "asa_s": self.asa_s,
            "occupancy": self.occupancy,
            "p_abandon": self.p_abandon,
            "meets_target": self.meets_target,
            "required": self.required,
        }


def staffing_table(
    arrival_rate_per_s: float,
    aht_s: float,
    target_sl: float,
    target_s: float,
    patience_s: float | None = None,
    max_agents: int = 5000,
    *,
    short_abandon_s: float = 0.0,
    rows_before: int = 5,
    rows_after: int = 3,
) -> list[StaffingRow]:
    """Rows around the required number of agents, the required one marked.

    From max(first sensible number, required - ``rows_before``) to required +
    ``rows_after``; the first sensible number is the smallest stable one (just above
    the offered load) for Erlang C and 1 for Erlang A.
    """
    required = agents_for_service_level(
        arrival_rate_per_s, aht_s, target_sl, target_s, patience_s, max_agents,
        short_abandon_s=short_abandon_s,
    )
    if rows_before < 0 or rows_after < 0:
        raise StaffingError("rows_before and rows_after must not be negative")
    load = arrival_rate_per_s * aht_s
    start = max(_first_candidate(load, patience_s), required - rows_before)
    rows = []
    for n in range(start, required + rows_after + 1):
        result = _evaluate(n, arrival_rate_per_s, aht_s, patience_s)
        sl = result.service_level(target_s, short_abandon_s)
        rows.append(StaffingRow(
            agents=n,
            p_wait=result.p_wait,
            service_level=sl,
            service_level_answered=result.service_level_answered(target_s),
            asa_s=result.asa_s,
            occupancy=result.occupancy,
            p_abandon=None if patience_s is None else result.p_abandon,
            meets_target=sl >= target_sl,
            required=n == required,
        ))
    return rows


def _sl_definition(patience_s: float | None, short_abandon_s: float) -> str:
    if patience_s is None:
        return "answered with wait <= T / offered (Erlang C: nobody abandons)"
    if short_abandon_s > 0:
        return f"answered with wait <= T / (offered - abandoned within {short_abandon_s:g} s)"
    return "answered with wait <= T / offered"


def forecast_staffing(
    arrivals_in_window: int,
    window_s: float,
    aht_s: float,
    target_sl: float,
    target_s: float,
    patience_s: float | None = None,
    *,
    short_abandon_s: float = 0.0,
    max_agents: int = 5000,
) -> dict[str, Any]:
    """Staffing advice for the dashboard from the live forecast, as a JSON-able dict.

    The arrival rate is ``arrivals_in_window / window_s`` (a recent window), AHT the
    recent average handle time. The server passes the configured short-abandon
    threshold as ``short_abandon_s`` so the advice targets the service level the
    dashboard shows. With no arrivals, no agents are required and ``rows`` is empty.
    """
    if isinstance(arrivals_in_window, bool) or not isinstance(arrivals_in_window, int):
        raise StaffingError(f"arrivals_in_window must be a whole number, got "
                            f"{arrivals_in_window!r}")
    if arrivals_in_window < 0:
        raise StaffingError(f"arrivals_in_window must not be negative, got {arrivals_in_window}")
    window = _positive("window_s", window_s)
    aht = _positive("aht_s", aht_s)
    goal = _target_sl(target_sl)
    t = _non_negative("target_s", target_s)
    short = _non_negative("short_abandon_s", short_abandon_s)
    if patience_s is not None:
        _positive("patience_s", patience_s)
    rate = arrivals_in_window / window
    body: dict[str, Any] = {
        "model": "erlang_c" if patience_s is None else "erlang_a",
        "inputs": {
            "arrivals_in_window": arrivals_in_window,
            "window_s": window,
            "arrival_rate_per_s": rate,
            "aht_s": aht,
            "target_sl": goal,
            "target_s": t,
            "patience_s": patience_s,
            "short_abandon_s": short,
        },
        "offered_load_erlangs": rate * aht,
        "service_level_definition": _sl_definition(patience_s, short),
        "agents_required": 0,
        "rows": [],
    }
    if arrivals_in_window == 0:
        return body
    rows = staffing_table(rate, aht, goal, t, patience_s, max_agents, short_abandon_s=short)
    body["agents_required"] = next(row.agents for row in rows if row.required)
    body["rows"] = [row.to_dict() for row in rows]
    return body


# ------------------------------------------------------ chat and email approximations


def chat_agents_required(
    arrival_rate_per_s: float,
    aht_s: float,
    concurrency: int,
    target_sl: float,
    target_s: float,
    patience_s: float | None = None,
    max_agents: int = 5000,
) -> int:
    """Agents for chat, an APPROXIMATION: each agent counts as ``concurrency`` servers.

    ``aht_s`` must be the handle time of one chat *as measured while agents run
    ``concurrency`` chats at once* (longer than a single chat). The servers needed
    are found with Erlang C/A and divided by the concurrency, rounded up. It assumes
    every agent always fills every slot and that slots work independently; real
    agents slow down with more chats open, so treat the result as a lower bound.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise StaffingError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    slots = agents_for_service_level(arrival_rate_per_s, aht_s, target_sl, target_s,
                                     patience_s, max_agents * concurrency)
    return -(-slots // concurrency)


def email_agents_required(
    emails_per_interval: float,
    interval_s: float,
    aht_s: float,
    *,
    backlog: int = 0,
    target_occupancy: float = 0.85,
) -> int:
    """Agents for email, an APPROXIMATION by workload, not by a queueing formula.

    Email is deferred work answered within hours, so waiting-time formulas built
    for seconds say little. Work = (emails arriving in the interval + ``backlog``)
    x AHT; agents = work / (interval x ``target_occupancy``), rounded up: enough to
    clear the interval's work (and the backlog) within the interval.
    """
    emails = _non_negative("emails_per_interval", emails_per_interval)
    interval = _positive("interval_s", interval_s)
    aht = _positive("aht_s", aht_s)
    if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 0:
        raise StaffingError(f"backlog must be a whole number >= 0, got {backlog!r}")
    occupancy = _number("target_occupancy", target_occupancy)
    if not 0 < occupancy <= 1:
        raise StaffingError(f"target_occupancy must be in (0, 1], got {target_occupancy!r}")
    work_s = (emails + backlog) * aht
    # a whisker below an exact whole number of agents is that number, not one more
    return max(0, math.ceil(work_s / (interval * occupancy) - 1e-9))


# ------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``callcenter staffing``."""
    parser.add_argument("--calls-per-interval", type=float, required=True,
                        help="forecast calls in one interval")
    parser.add_argument("--interval-s", type=float, required=True,
                        help="interval length in seconds (e.g. 1800)")
    parser.add_argument("--aht-s", type=float, required=True,
                        help="average handle time in seconds (talk + hold + wrap-up)")
    parser.add_argument("--target-sl", type=float, required=True,
                        help="service level target as a fraction, e.g. 0.8")
    parser.add_argument("--target-s", type=float, required=True,
                        help="answer-time threshold T in seconds, e.g. 20")
    parser.add_argument("--patience-s", type=float, default=None,
                        help="mean caller patience in seconds: use Erlang A instead of Erlang C")
    parser.add_argument("--short-abandon-s", type=float, default=None,
                        help="Erlang A: abandons within this many seconds are left out of the "
                             "service level (default: routing.short_abandon_s from the config)")
    parser.add_argument("--max-agents", type=int, default=5000,
                        help="give up above this many agents (default 5000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f}%"


def run(args: argparse.Namespace, config: Config) -> int:
    """``callcenter staffing``: print the staffing table (or JSON)."""
    calls = _non_negative("calls-per-interval", args.calls_per_interval)
    if calls <= 0:
        raise StaffingError(f"calls-per-interval must be greater than 0, got {calls:g}")
    interval = _positive("interval-s", args.interval_s)
    aht = _positive("aht-s", args.aht_s)
    goal = _target_sl(args.target_sl)
    target_s = _non_negative("target-s", args.target_s)
    patience = None if args.patience_s is None else _positive("patience-s", args.patience_s)
    if patience is None:
        short = 0.0
    elif args.short_abandon_s is None:
        short = float(config.routing.short_abandon_s)
    else:
        short = _non_negative("short-abandon-s", args.short_abandon_s)
    rate = calls / interval
    rows = staffing_table(rate, aht, goal, target_s, patience, args.max_agents,
                          short_abandon_s=short)
    required = next(row.agents for row in rows if row.required)
    load = rate * aht
    if args.json:
        body = {
            "model": "erlang_c" if patience is None else "erlang_a",
            "inputs": {
                "calls_per_interval": calls, "interval_s": interval, "aht_s": aht,
                "target_sl": goal, "target_s": target_s, "patience_s": patience,
                "short_abandon_s": short,
            },
            "arrival_rate_per_s": rate,
            "offered_load_erlangs": load,
            "service_level_definition": _sl_definition(patience, short),
            "agents_required": required,
            "rows": [row.to_dict() for row in rows],
        }
        sys.stdout.write(json.dumps(body, indent=2, allow_nan=False) + "\n")
        return 0

    from rich.console import Console
    from rich.table import Table

    model = "Erlang C" if patience is None else f"Erlang A (mean patience {patience:g} s)"
    table = Table(title=f"{model}: offered load {load:.2f} Erlangs")
    for name in ("agents", "P(wait)", f"SL {target_s:g}s", "ASA s", "occupancy"):
        table.add_column(name, justify="right")
    if patience is not None:
        table.add_column("abandon", justify="right")
    table.add_column("", justify="left")
    for row in rows:
        cells = [str(row.agents), _percent(row.p_wait), _percent(row.service_level),
                 f"{row.asa_s:.1f}", _percent(row.occupancy)]
        if row.p_abandon is not None:
            cells.append(_percent(row.p_abandon))
        cells.append("<- required" if row.required else "")
        table.add_row(*cells, style="bold" if row.required else None)
    console = Console(file=sys.stdout)
    console.print(table)
    console.print(f"SL = {_sl_definition(patience, short)}")
    console.print(f"required: {required} agents for {_percent(goal)} within {target_s:g} s")
    return 0
