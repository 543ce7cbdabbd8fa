"""Compiled per-household passes (numba) for the hot paths of a month.

The model keeps per-household state in numpy arrays. Most monthly work is a chain of
element-wise operations followed by sums by home territory. In numpy each link of such a
chain is a pass over memory (and every sum by territory a ``bincount`` of about 2 ns per
household on this class of machine); a compiled loop does the whole chain and all its sums
in one pass. These kernels are that loop for the chains that dominate a month at large
populations (see ``python -m simulation.bench``); they compute exactly what the numpy
expressions in their docstrings say, in slot order. Each is compiled once per machine and
cached on disk (``cache=True``); ``python -m simulation.kernels`` compiles them ahead.

No kernel draws random numbers: every draw stays with the model's named numpy streams.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def demand_pass(home: np.ndarray, home_or_k: np.ndarray, pre: np.ndarray,
                taken_up: np.ndarray, owner: np.ndarray, savings: np.ndarray,
                commute_km: np.ndarray, remote_ok: np.ndarray, literacy: np.ndarray,
                net_rate: np.ndarray, rent_terr: np.ndarray, shop_terr: np.ndarray,
                local_terr: np.ndarray, has_local: bool, minimum_income: float,
                mpc_income: float, mpc_wealth: float, fuel_price: float,
                digital_share: float, literacy_weight: float, illiteracy_threshold: float,
                topup: np.ndarray, disp: np.ndarray, rent: np.ndarray, spend: np.ndarray,
                sums: np.ndarray) -> None:
    """Households' disposable income, rent and spending by channel (one pass).

    Per slot ``i`` with home ``k`` (``home_or_k`` is K for dead slots, whose rent is 0):

    - ``topup = max(minimum_income - pre, 0) x taken_up``;
      ``disp = pre x net_rate[k] + topup``;
    - ``rent = rent_terr[home_or_k] x not owner``;
    - ``spend = max(mpc_income x disp - rent, 0) + mpc_wealth x max(savings, 0)``;
    - ``fuel = min(commute_km x fuel_price, spend)``, ``rest = spend - fuel``,
      ``dig = digital_share x rest x remote_ok``;
    - online weight ``e_g = exp(literacy_weight (lit - 0.6) - 0.5 x not remote_ok)``
      (float32; ``exp(-8)`` below ``illiteracy_threshold``), shop weight ``shop_terr[k]``,
      local weight ``local_terr[k] x e_g``.

    Adds by territory into ``sums`` (6 x K): pre, rest, fuel, dig, the global platform's
    share of rest and the local platforms' share of rest.
    """
    n = home.size
    lw = np.float32(literacy_weight)
    c06 = np.float32(0.6)
    c05 = np.float32(0.5)
    for i in range(n):
        k = home[i]
        p = pre[i]
        top = minimum_income - p
        if top < 0.0 or not taken_up[i]:
            top = 0.0
        d = p * net_rate[k] + top
        topup[i] = top
        disp[i] = d
        r = 0.0 if owner[i] else rent_terr[home_or_k[i]]
        rent[i] = r
        s = mpc_income * d - r
        if s < 0.0:
            s = 0.0
        w = savings[i]
        if w > 0.0:
            s += w * mpc_wealth
        spend[i] = s
        fuel = commute_km[i] * fuel_price
        if fuel > s:
            fuel = s
        rest = s - fuel
        conn = remote_ok[i]
        lit = literacy[i]
        if lit < illiteracy_threshold:
            ex_g = np.float32(math.exp(np.float32(-8.0)))
        else:
            x = lw * (np.float32(lit) - c06)
            if not conn:
                x -= c05
            ex_g = np.float32(math.exp(x))
        ex_s = shop_terr[k]
        sums[0, k] += p
        sums[1, k] += rest
        sums[2, k] += fuel
        if conn:
            sums[3, k] += digital_share * rest
        if has_local:
            ex_l = local_terr[k] * ex_g
            tot = ex_s + ex_g + ex_l
            sums[4, k] += rest * (ex_g / tot)
            sums[5, k] += rest * (ex_l / tot)
        else:
            sums[4, k] += rest * (ex_g / (ex_s + ex_g))


@njit(**_JIT)
def group_sums(idx: np.ndarray, K: int, cols: np.ndarray) -> np.ndarray:
    """Sums by group of several columns in one pass: ``out[c, k] = sum cols[c][idx == k]``.

    ``cols`` is (C x n); summed in slot order, as ``bincount`` does.
    """
    C = cols.shape[0]
    out = np.zeros((C, K))
    for i in range(idx.size):
        k = idx[i]
        for c in range(C):
            out[c, k] += cols[c, i]
    return out


@njit(**_JIT)
def sorted_group_sums(starts: np.ndarray, x: np.ndarray, floor: float, mu_floor: float
                      ) -> np.ndarray:
    """Sums by territory of incomes sorted by territory (then income), for the measures.

    ``x[starts[k]:starts[k+1]]`` are territory ``k``'s incomes in ascending order. With
    ``xf = max(x, floor)`` and ``r = xf / mu_floor``, returns (5 x K): sum x, sum i x (i the
    1-based rank within the territory, for the Gini), sum xf, sum r, sum r log r.
    """
    K = starts.size - 1
    out = np.zeros((5, K))
    for k in range(K):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        rank = 0.0
        for i in range(starts[k], starts[k + 1]):
            v = x[i]
            rank += 1.0
            s0 += v
            s1 += rank * v
            xf = v if v > floor else floor
            s2 += xf
            r = xf / mu_floor
            s3 += r
            s4 += r * math.log(r)
        out[0, k] = s0
        out[1, k] = s1
        out[2, k] = s2
        out[3, k] = s3
        out[4, k] = s4
    return out


@njit(**_JIT)
def status_pass(alive: np.ndarray, home_alive: np.ndarray, K: int, age: np.ndarray,
                retirement_age: float, employer: np.ndarray, telework_days: np.ndarray,
                eligible: np.ndarray, taken_up: np.ndarray, literacy: np.ndarray,
                illiteracy_threshold: float, commute_km: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Counts of live households by territory and status code, and two sums by territory.

    The status code of a household is 6 bits: working age, employed, teleworking one day a
    week or more, eligible to the minimum income, taking it up, below the illiteracy
    threshold (bits 0 to 5). Returns ``(table, sums)``: ``table[k, code]`` households of
    territory ``k`` with that code (K x 64), and ``sums`` (2 x K): commuting km and telework
    days by territory.
    """
    table = np.zeros((K, 64), dtype=np.int64)
    sums = np.zeros((2, K))
    for j in range(alive.size):
        i = alive[j]
        k = home_alive[j]
        code = 0
        if age[i] < retirement_age:
            code |= 1
        if employer[i] >= 0:
            code |= 2
        tw = telework_days[i]
        if tw >= 1.0:
            code |= 4
        if eligible[i]:
            code |= 8
        if taken_up[i]:
            code |= 16
        if literacy[i] < illiteracy_threshold:
            code |= 32
        table[k, code] += 1
        sums[0, k] += commute_km[i]
        sums[1, k] += tw
    return table, sums



@njit(**_JIT)
def group_sums4(idx: np.ndarray, K: int, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                d: np.ndarray) -> np.ndarray:
    """Sums by group of four arrays in one pass (4 x K), in slot order."""
    out = np.zeros((4, K))
    for i in range(idx.size):
        k = idx[i]
        out[0, k] += a[i]
        out[1, k] += b[i]
        out[2, k] += c[i]
        out[3, k] += d[i]
    return out


@njit(**_JIT)
def wages_pass(employer: np.ndarray, alive: np.ndarray, age: np.ndarray,
               retirement_age: float, ref: np.ndarray, hours: np.ndarray, prod: np.ndarray,
               mean_productivity: float, tight: np.ndarray, firm_terr: np.ndarray,
               home: np.ndarray, K: int, wage: np.ndarray, emp: np.ndarray,
               employees: np.ndarray, wage_sum_firm: np.ndarray) -> tuple[int, np.ndarray]:
    """Wages of employed households and their sums, in one pass over the slots.

    For slot ``i`` employed by firm ``f`` (``employer[i] >= 0``):
    ``wage[i] = ref[i] x hours[i] x prod[f] / mean_productivity x tight[firm_terr[f]]``;
    other slots get 0. Fills ``emp`` with the employed slots (ascending) and returns their
    number, and adds by firm into ``employees`` (count) and ``wage_sum_firm`` (EUR). The
    returned (4 x K) array holds by territory: employed households by home, labour force
    (live, under ``retirement_age``) by home, sum of wage / reference wage by workplace,
    and jobs by workplace.
    """
    out = np.zeros((4, K))
    n_emp = 0
    for i in range(employer.size):
        if alive[i] and age[i] < retirement_age:
            out[1, home[i]] += 1.0
        f = employer[i]
        if f < 0:
            wage[i] = 0.0
            continue
        kf = firm_terr[f]
        w = ref[i] * hours[i] * prod[f] / mean_productivity * tight[kf]
        wage[i] = w
        emp[n_emp] = i
        n_emp += 1
        employees[f] += 1
        wage_sum_firm[f] += w
        out[0, home[i]] += 1.0
        out[2, kf] += w / ref[i]
        out[3, kf] += 1.0
    return n_emp, out


@njit(**_JIT)
def savings_pass(alive: np.ndarray, disposable: np.ndarray, rent: np.ndarray,
                 spend: np.ndarray, rent_each: np.ndarray, coop_each: np.ndarray,
                 div_each: np.ndarray, savings: np.ndarray, income: np.ndarray,
                 cap_income: np.ndarray) -> None:
    """Households' savings and incomes at the end of the month (in place).

    This month's capital income ``c = rent_each + coop_each + div_each``; a live
    household saves ``disposable - last capital income - rent - spend + c`` (last month's
    capital income, part of disposable income, was saved when received); ``income`` becomes
    ``disposable`` and ``cap_income`` becomes ``c`` (0 in dead slots).
    """
    for i in range(alive.size):
        c = rent_each[i] + coop_each[i]
        c += div_each[i]
        if alive[i]:
            savings[i] += disposable[i] - cap_income[i] - rent[i] - spend[i] + c
            cap_income[i] = c
        else:
            cap_income[i] = 0.0
        income[i] = disposable[i]


def warm_up() -> None:
    """Compile (or load from the cache) every kernel on tiny inputs."""
    n, K = 4, 2
    home = np.zeros(n, dtype=np.intp)
    f = np.ones(n)
    b = np.ones(n, dtype=bool)
    f32 = np.ones(K, dtype=np.float32)
    demand_pass(home, home, f, b, b, f, f, b, f, np.ones(K), np.ones(K + 1), f32, f32, True,
                1.0, 0.9, 0.01, 0.1, 0.1, 2.5, 0.3, f.copy(), f.copy(), f.copy(), f.copy(),
                np.zeros((6, K)))
    group_sums(home, K, np.ones((2, n)))
    sorted_group_sums(np.array([0, 2, 4], dtype=np.intp), f, 1.0, 1.0)
    i32 = np.zeros(n, dtype=np.int32)
    status_pass(np.arange(n), home, K, f, 65.0, i32, f, b, b, f, 0.3, f)
    group_sums4(home, K, f, f, f, f)
    wages_pass(i32, b, f, 65.0, f, f, f, 1.0, f, i32, home, K, f.copy(), np.zeros(n, np.intp),
               np.zeros(n, np.int64), f.copy())
    savings_pass(b, f, f, f, f, f, f, f.copy(), f.copy(), f.copy())


if __name__ == "__main__":  # pragma: no cover
    import time

    t0 = time.perf_counter()
    warm_up()
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s")
