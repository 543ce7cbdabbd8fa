"""The compiled kernels compute what their numpy definitions say."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import kernels

RNG = np.random.default_rng(7)
N, K = 5_000, 9


def _bincount(idx, w, K=K):
    return np.bincount(idx, weights=w, minlength=K)


def test_group_sums_match_bincount():
    idx = RNG.integers(0, K, N)
    cols = RNG.normal(size=(4, N))
    np.testing.assert_allclose(kernels.group_sums(idx, K, cols),
                               np.array([_bincount(idx, c) for c in cols]), rtol=1e-12)
    np.testing.assert_allclose(kernels.group_sums4(idx, K, *cols),
                               np.array([_bincount(idx, c) for c in cols]), rtol=1e-12)


def test_sorted_group_sums_give_gini_and_theil_parts():
    home = np.sort(RNG.integers(0, K, N))
    x = RNG.lognormal(7.0, 0.8, N)
    x[::50] = 0.0
    order = np.lexsort((x, home))
    x, home = x[order], home[order]
    starts = np.concatenate([[0], np.cumsum(np.bincount(home, minlength=K))]).astype(np.intp)
    floor = 100.0
    xf = np.maximum(x, floor)
    mu = xf.mean()
    out = kernels.sorted_group_sums(starts, x, floor, mu)
    rank = np.arange(N) - starts[home] + 1.0
    r = xf / mu
    expect = [_bincount(home, x), _bincount(home, rank * x), _bincount(home, xf),
              _bincount(home, r), _bincount(home, r * np.log(r))]
    np.testing.assert_allclose(out, np.array(expect), rtol=1e-10)


def test_status_pass_counts_codes_and_sums():
    cap = N
    alive = np.flatnonzero(RNG.random(cap) < 0.9)
    home = RNG.integers(0, K, cap)
    age = RNG.uniform(18, 90, cap)
    employer = np.where(RNG.random(cap) < 0.6, RNG.integers(0, 50, cap), -1).astype(np.int32)
    tw = RNG.choice([0.0, 0.5, 1.0, 2.0], cap)
    elig = RNG.random(cap) < 0.2
    taken = elig & (RNG.random(cap) < 0.7)
    lit = RNG.random(cap)
    km = RNG.uniform(0, 800, cap)
    table, sums = kernels.status_pass(alive, home[alive], K, age, 64.0, employer, tw, elig,
                                      taken, lit, 0.3, km)
    code = ((age < 64).astype(int) | (employer >= 0) * 2 | (tw >= 1) * 4 | elig * 8
            | taken * 16 | (lit < 0.3) * 32)
    expect = np.bincount(home[alive] * 64 + code[alive], minlength=64 * K).reshape(K, 64)
    np.testing.assert_array_equal(table, expect)
    np.testing.assert_allclose(sums[0], _bincount(home[alive], km[alive]), rtol=1e-12)
    np.testing.assert_allclose(sums[1], _bincount(home[alive], tw[alive]), rtol=1e-12)


def test_wages_pass_matches_numpy():
    F = 40
    employer = np.where(RNG.random(N) < 0.6, RNG.integers(0, F, N), -1).astype(np.int32)
    alive = RNG.random(N) < 0.95
    employer[~alive] = -1
    age = RNG.uniform(18, 90, N)
    ref = RNG.choice([1800.0, 2600.0, 4200.0], N)
    hours = RNG.choice([0.5, 1.0], N)
    prod = RNG.uniform(0.8, 1.3, F)
    tight = RNG.uniform(0.8, 1.25, K)
    fterr = RNG.integers(0, K, F).astype(np.int32)
    home = RNG.integers(0, K, N)
    wage = np.full(N, np.nan)
    emp_buf = np.empty(N, dtype=np.intp)
    employees = np.zeros(F, dtype=np.int64)
    wbill = np.zeros(F)
    n_emp, sums = kernels.wages_pass(employer, alive, age, 64.0, ref, hours, prod, 1.05,
                                     tight, fterr, home, K, wage, emp_buf, employees, wbill)
    emp = np.flatnonzero(employer >= 0)
    assert n_emp == emp.size
    np.testing.assert_array_equal(emp_buf[:n_emp], emp)
    fe = employer[emp]
    w = ref[emp] * hours[emp] * prod[fe] / 1.05 * tight[fterr[fe]]
    np.testing.assert_allclose(wage[emp], w, rtol=1e-15)
    assert (wage[employer < 0] == 0).all()
    np.testing.assert_array_equal(employees, np.bincount(fe, minlength=F))
    np.testing.assert_allclose(wbill, np.bincount(fe, weights=w, minlength=F), rtol=1e-12)
    lab = alive & (age < 64)
    np.testing.assert_allclose(sums[0], np.bincount(home[emp], minlength=K))
    np.testing.assert_allclose(sums[1], np.bincount(home[lab], minlength=K))
    np.testing.assert_allclose(sums[2], _bincount(fterr[fe], w / ref[emp]), rtol=1e-12)
    np.testing.assert_allclose(sums[3], np.bincount(fterr[fe], minlength=K))


@pytest.mark.parametrize("has_local", [False, True])
def test_demand_pass_matches_numpy(has_local):
    home = RNG.integers(0, K, N)
    alive = RNG.random(N) < 0.9
    home_or_k = np.where(alive, home, K)
    pre = np.where(alive, RNG.uniform(0, 5000, N), 0.0)
    taken = alive & (RNG.random(N) < 0.1)
    owner = RNG.random(N) < 0.5
    savings = RNG.normal(5000, 8000, N)
    km = RNG.uniform(0, 800, N)
    conn = RNG.random(N) < 0.8
    lit = RNG.random(N)
    net = RNG.uniform(0.7, 0.9, K)
    rent_terr = np.append(RNG.uniform(400, 900, K), 0.0)
    shop = RNG.uniform(1, 5, K).astype(np.float32)
    local = RNG.uniform(0, 1, K).astype(np.float32)
    outs = [np.empty(N) for _ in range(4)]
    sums = np.zeros((6, K))
    kernels.demand_pass(home, home_or_k, pre, taken, owner, savings, km, conn, lit, net,
                        rent_terr, shop, local, has_local, 1000.0, 0.85, 0.01, 0.0015, 0.05,
                        2.5, 0.3, *outs, sums)
    topup, disp, rent, spend = outs
    top = np.maximum(1000.0 - pre, 0.0) * taken
    dis = pre * net[home] + top
    rnt = rent_terr[home_or_k] * ~owner
    spd = np.maximum(0.85 * dis - rnt, 0.0) + 0.01 * np.maximum(savings, 0.0)
    fuel = np.minimum(km * 0.0015, spd)
    rest = spd - fuel
    online = np.float32(2.5) * (lit.astype(np.float32) - np.float32(0.6)) \
        - np.float32(0.5) * ~conn
    online[lit < 0.3] = -8.0
    ex_g = np.exp(online)
    ex_s = shop[home]
    for got, want in zip(outs, (top, dis, rnt, spd), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    if has_local:
        ex_l = local[home] * ex_g
        tot = ex_s + ex_g + ex_l
        g_share, l_share = ex_g / tot, ex_l / tot
    else:
        g_share, l_share = ex_g / (ex_s + ex_g), np.zeros(N)
    expect = [_bincount(home, pre), _bincount(home, rest), _bincount(home, fuel),
              _bincount(home, 0.05 * rest * conn), _bincount(home, rest * g_share),
              _bincount(home, rest * l_share)]
    np.testing.assert_allclose(sums, np.array(expect), rtol=1e-6)  # float32 channel shares
    np.testing.assert_allclose(sums[:4], np.array(expect[:4]), rtol=1e-12)


def test_savings_pass_books_this_months_flows():
    alive = RNG.random(N) < 0.9
    disp, rent, spend = RNG.uniform(0, 4000, (3, N))
    re_, co, dv = RNG.uniform(0, 300, (3, N))
    savings = RNG.normal(5000, 3000, N)
    income = np.zeros(N)
    cap = RNG.uniform(0, 500, N)
    s0, c0 = savings.copy(), cap.copy()
    kernels.savings_pass(alive, disp, rent, spend, re_, co, dv, savings, income, cap)
    c = re_ + co + dv
    np.testing.assert_allclose(savings, s0 + (disp - c0 - rent - spend + c) * alive,
                               rtol=1e-12)
    np.testing.assert_allclose(cap, c * alive, rtol=1e-15)
    np.testing.assert_array_equal(income, disp)
