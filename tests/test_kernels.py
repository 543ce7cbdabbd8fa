"""The compiled kernels compute what their numpy definitions say."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engine import kernels

RNG = np.random.default_rng(7)
N, K = 5_000, 9


def _bincount(idx, w, K=K):
    return np.bincount(idx, weights=w, minlength=K)


@pytest.mark.parametrize("case", ["incomes", "ties_and_zeros", "keys", "tiny", "empty",
                                  "huge_range"])
def test_sort_nonnegative_gives_numpys_sorted_values(case):
    x = {
        "incomes": RNG.lognormal(7.0, 0.8, N),
        "ties_and_zeros": np.concatenate([np.zeros(300), np.full(200, 1234.5),
                                          RNG.integers(0, 50, 2_000).astype(float)]),
        "keys": RNG.integers(0, K, N) + RNG.lognormal(7.0, 0.8, N) / 1e5,
        "tiny": np.array([3.0, 1e-310, 0.0, 2.5]),   # a subnormal
        "empty": np.zeros(0),
        "huge_range": np.array([1e300, 1.0, 5e-324, np.inf, 0.0, 7.0]),
    }[case]
    RNG.shuffle(x)
    before = x.copy()
    out = kernels.sort_nonnegative(x)
    np.testing.assert_array_equal(out, np.sort(x))
    assert np.all(out[1:] >= out[:-1])
    np.testing.assert_array_equal(x, before)  # the input is left as it was


def test_sort_nonnegative_sorts_minus_zero_and_falls_back_on_negatives_and_nan():
    out = kernels.sort_nonnegative(np.array([2.0, -0.0, 1.0, 0.0]))
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 2.0])
    assert not np.signbit(out).any()
    for x in (np.array([3.0, -1.0, 2.0]), np.array([1.0, np.nan, 0.5])):
        np.testing.assert_array_equal(kernels.sort_nonnegative(x), np.sort(x))


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
    mask = np.zeros(cap, dtype=bool)
    mask[alive] = True
    table, sums = kernels.status_pass(mask, home, K, age, 64.0, employer, tw, elig,
                                      taken, lit, 0.3, km)
    code = ((age < 64).astype(int) | (employer >= 0) * 2 | (tw >= 1) * 4 | elig * 8
            | taken * 16 | (lit < 0.3) * 32)
    expect = np.bincount(home[alive] * 64 + code[alive], minlength=64 * K).reshape(K, 64)
    np.testing.assert_array_equal(table, expect)
    np.testing.assert_allclose(sums[0], _bincount(home[alive], km[alive]), rtol=1e-12)
    emp = alive[employer[alive] >= 0]
    np.testing.assert_allclose(sums[1], _bincount(home[emp], tw[emp]), rtol=1e-12)


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
    home = RNG.integers(0, K, N).astype(np.int32)
    alive = RNG.random(N) < 0.9
    pre = np.where(alive, RNG.uniform(0, 5000, N), 0.0)
    taken = alive & (RNG.random(N) < 0.1)
    owner = RNG.random(N) < 0.5
    savings = RNG.normal(5000, 8000, N)
    km = RNG.uniform(0, 800, N)
    conn = RNG.random(N) < 0.8
    lit = RNG.random(N)
    benefit, pension, wage = RNG.uniform(0, 2000, (3, N))
    net = RNG.uniform(0.7, 0.9, K)
    rent_terr = RNG.uniform(400, 900, K)
    shop = RNG.uniform(1, 5, K).astype(np.float32)
    local = RNG.uniform(0, 1, K).astype(np.float32)
    outs = [np.empty(N) for _ in range(4)]
    sums = np.zeros((10, K))
    kernels.demand_pass(home, alive, pre, taken, owner, savings, km, conn, lit, benefit,
                        pension, wage, net, rent_terr, shop, local, has_local, 1000.0, 0.85,
                        0.01, 0.0015, 0.05, 2.5, 0.3, *outs, sums)
    topup, disp, rent, spend = outs
    top = np.maximum(1000.0 - pre, 0.0) * taken
    dis = pre * net[home] + top
    rnt = rent_terr[home] * (alive & ~owner)
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
              _bincount(home, rest * l_share), _bincount(home, benefit),
              _bincount(home, pension), _bincount(home, top), _bincount(home, wage)]
    np.testing.assert_allclose(sums, np.array(expect), rtol=1e-6)  # float32 channel shares
    exact = [0, 1, 2, 3, 6, 7, 8, 9]
    np.testing.assert_allclose(sums[exact], np.array(expect)[exact], rtol=1e-12)


def test_savings_pass_books_this_months_flows():
    alive = RNG.random(N) < 0.9
    disp, rent, spend = RNG.uniform(0, 4000, (3, N))
    c = RNG.uniform(0, 900, N)
    savings = RNG.normal(5000, 3000, N)
    income = np.zeros(N)
    cap = RNG.uniform(0, 500, N)
    s0, c0 = savings.copy(), cap.copy()
    kernels.savings_pass(alive, disp, rent, spend, c, savings, income, cap)
    np.testing.assert_allclose(savings, s0 + (disp - c0 - rent - spend + c) * alive,
                               rtol=1e-12)
    np.testing.assert_allclose(cap, c * alive, rtol=1e-15)
    np.testing.assert_array_equal(income, disp)


def test_member_totals_and_spread():
    home = RNG.integers(0, K, N)
    alive = RNG.random(N) < 0.9
    member = RNG.random(N) < 0.5
    skill = RNG.integers(0, 3, N).astype(np.int8)
    w = np.array([0.3, 1.0, 3.0])
    np.testing.assert_allclose(kernels.member_totals(home, K, alive, member, skill, w),
                               _bincount(home, w[skill] * (alive & member)), rtol=1e-12)
    per_class = RNG.normal(size=K + 1)
    out = np.empty(N)
    kernels.spread(home, per_class, member, True, out)
    np.testing.assert_array_equal(out, per_class[home] * member)
    kernels.spread(home, per_class, np.zeros(0, dtype=bool), False, out)
    np.testing.assert_array_equal(out, per_class[home])
    acc = RNG.normal(size=N)
    a0 = acc.copy()
    kernels.spread_add(home, per_class, member, True, -1.0, acc)
    np.testing.assert_array_equal(acc, a0 - per_class[home] * member)


def test_ageing_pass_ages_retires_and_dissolves():
    alive = np.flatnonzero(RNG.random(N) < 0.9)
    age = RNG.uniform(18, 100, N)
    employer = np.where(RNG.random(N) < 0.6, 3, -1).astype(np.int32)
    wage = RNG.uniform(1000, 3000, N) * (employer >= 0)
    u = RNG.random(alive.size)
    rate = np.array([0.01, 0.05, 0.2])
    a0, e0 = age.copy(), employer.copy()
    dying, parents = np.empty(alive.size, np.intp), np.empty(alive.size, np.intp)
    nd, npar = kernels.ageing_pass(alive, age, employer, wage, 64.0, u, rate, dying, parents)
    a1 = a0[alive] + 1 / 12
    np.testing.assert_array_equal(age[alive], a1)
    dead = np.ones(N, bool)
    dead[alive] = False
    np.testing.assert_array_equal(age[dead], a0[dead])  # dead slots do not age
    retiring = alive[(a1 >= 64) & (e0[alive] >= 0)]
    assert (employer[retiring] == -1).all() and (wage[retiring] == 0).all()
    staying = np.setdiff1d(alive[e0[alive] >= 0], retiring)
    assert (employer[staying] == 3).all()
    band = (a1 >= 60).astype(int) + (a1 >= 75)
    d = u < rate[band]
    np.testing.assert_array_equal(dying[:nd], alive[d])
    np.testing.assert_array_equal(parents[:npar], alive[~d & (a1 >= 40) & (a1 < 75)])


def test_separations_and_seekers():
    F = 30
    employer = np.where(RNG.random(N) < 0.6, RNG.integers(0, F, N), -1).astype(np.int32)
    alive = RNG.random(N) < 0.95
    employer[~alive] = -1
    age = RNG.uniform(18, 90, N)
    home = RNG.integers(0, K, N)
    emp = np.empty(N, np.intp)
    n_emp, counts = kernels.employees_by_firm(employer, F, emp)
    np.testing.assert_array_equal(emp[:n_emp], np.flatnonzero(employer >= 0))
    np.testing.assert_array_equal(counts, np.bincount(employer[employer >= 0], minlength=F))
    u = RNG.random(n_emp)
    p_lay = RNG.uniform(0, 0.3, F)
    e0 = employer.copy()
    wage = np.ones(N)
    employees = np.zeros(F, np.int64)
    seekers = np.empty(N, np.intp)
    n_s, U = kernels.separations_pass(emp[:n_emp], employer, wage, alive, age, 64.0, u, p_lay,
                                      0.02, home, K, employees, seekers)
    ef = e0[emp[:n_emp]]
    leave = (u < 0.02) | (u > 1 - p_lay[ef])
    assert (employer[emp[:n_emp][leave]] == -1).all()
    np.testing.assert_array_equal(employer[emp[:n_emp][~leave]], ef[~leave])
    np.testing.assert_array_equal(employees, np.bincount(ef[~leave], minlength=F))
    seek = np.flatnonzero(alive & (age < 64) & (employer < 0))
    np.testing.assert_array_equal(seekers[:n_s], seek)
    np.testing.assert_array_equal(U, np.bincount(home[seek], minlength=K))


def test_incomes_commute_services_literacy_passes():
    alive = RNG.random(N) < 0.9
    age = RNG.uniform(18, 95, N)
    employer = np.where(RNG.random(N) < 0.6, RNG.integers(0, 20, N), -1).astype(np.int32)
    months = RNG.integers(0, 20, N).astype(np.int32)
    ref = RNG.choice([1800.0, 2600.0], N)
    wage = RNG.uniform(0, 3000, N) * (employer >= 0)
    cap = RNG.uniform(0, 300, N)
    ben, pen, pre = np.empty(N), np.empty(N), np.empty(N)
    m0 = months.copy()
    kernels.incomes_pass(alive, age, employer, months, ref, wage, cap, 64.0, 12.0, 0.57, 0.5,
                         ben, pen, pre)
    retired = alive & (age >= 64)
    seeking = alive & (employer < 0) & ~retired
    np.testing.assert_array_equal(months, m0 + seeking)
    seeking &= months <= 12
    np.testing.assert_allclose(ben, 0.57 * ref * seeking, rtol=1e-15)
    np.testing.assert_allclose(pen, 0.5 * ref * retired, rtol=1e-15)
    np.testing.assert_allclose(pre, (wage + ben + pen + cap) * alive, rtol=1e-15)
    # commuting
    fterr = RNG.integers(0, K, 20).astype(np.int32)
    home = RNG.integers(0, K, N)
    travel = RNG.uniform(5, 200, (K, K))
    reach = travel <= 60
    rc, ok = RNG.random(N) < 0.4, RNG.random(N) < 0.8
    emp = np.flatnonzero(employer >= 0)
    tw, km = np.zeros(N), np.zeros(N)
    tu = RNG.random(N)
    kernels.commute_pass(emp, home, employer, fterr, travel, reach, rc, ok, 1.5, 21.0, 0.9,
                         tw, km, tu, 0.6)
    w = fterr[employer[emp]]
    remote = rc[emp] & ok[emp]
    t_exp = np.where(remote, np.where(reach[home[emp], w], np.where(tu[emp] < 0.6, 1.5, 0.0),
                                      5.0), 0.0)
    np.testing.assert_array_equal(tw[emp], t_exp)
    np.testing.assert_allclose(km[emp], 2 * travel[home[emp], w] * 0.9 * 21 * (5 - t_exp) / 5,
                               rtol=1e-14)
    # eligibility and weak users
    lit = RNG.random(N)
    elig, taken = np.zeros(N, bool), RNG.random(N) < 0.5
    t0 = taken.copy()
    cand, weak = np.empty(N, np.intp), np.empty(N, np.intp)
    n_c, n_w, demand = kernels.services_pass(alive, age, pre, 1000.0, lit, home, K, elig,
                                             taken, cand, weak)
    e = alive & (pre < 1000) & (age >= 25)
    np.testing.assert_array_equal(elig, e)
    np.testing.assert_array_equal(taken, t0 & e)
    np.testing.assert_array_equal(cand[:n_c], np.flatnonzero(e))
    wk = np.flatnonzero(alive & (lit < 0.5))
    np.testing.assert_array_equal(weak[:n_w], wk)
    np.testing.assert_array_equal(demand, np.bincount(home[wk], minlength=K))
    # literacy
    conn = RNG.random(N) < 0.7
    lit0 = lit.copy()
    kernels.literacy_pass(alive, age, conn, lit, 0.02, 0.01)
    old = age >= 75
    young = conn & ~old & alive
    expect = np.clip(lit0 + (1 - lit0) * 0.02 * young - 0.01 * (old & alive), 0, 1)
    np.testing.assert_allclose(lit, expect, rtol=1e-15)


def test_utility_matrix_matches_numpy():
    n, F = 400, 25
    idx = np.sort(RNG.choice(N, n, replace=False))
    skill = RNG.integers(0, 3, N).astype(np.int8)
    employer = np.where(RNG.random(N) < 0.6, RNG.integers(0, F, N), -1).astype(np.int32)
    fterr = RNG.integers(0, K, F).astype(np.int32)
    wage = RNG.uniform(1000, 4000, N) * (employer >= 0)
    rc = RNG.random(N) < 0.4
    cap = RNG.uniform(0, 300, N)
    age = RNG.uniform(20, 90, N)
    retired = age[idx] >= 64
    pre = RNG.uniform(0, 3000, N)
    owner = RNG.random(N) < 0.5
    home = RNG.integers(0, K, N).astype(np.int32)
    elig = RNG.random(n) < 0.3
    search = RNG.uniform(500, 3000, (3, K))
    travel = RNG.uniform(0, 200, (K, K))
    reach = travel <= 60
    bb = RNG.random(K)
    rent_tab = RNG.uniform(200, 900, (2, K))
    place, digital = RNG.normal(size=K), RNG.normal(size=K)
    decay = 0.02 * travel
    offers = RNG.random(K) < 0.3
    tw_u = RNG.random(N)
    lit, helped, onl = RNG.random(N), RNG.random(K), RNG.random(K)
    v = kernels.utility_matrix(idx, skill, employer, fterr, wage, rc, cap, retired, pre,
                               owner, home, elig, search, reach, bb, rent_tab, place, digital,
                               decay, 1.5, offers, 0.8, 1.2, 2.0, 50.0, travel, tw_u, 1.5,
                               0.6, 4.0, lit, helped, onl, 0.3, 1200.0)
    # numpy reference (ODD 7.9)
    y = search[skill[idx]]
    e = employer[idx] >= 0
    wt = fterr[employer[idx[e]]]
    keep = reach.T[wt]
    q = np.where(keep, 1.0, rc[idx[e]][:, None] * bb[None, :])
    days = 1.5 * (rc[idx[e]] & (tw_u[idx[e]] < 0.6))[:, None] * bb[None, :]
    cost = np.where(keep, 4.0 * travel.T[wt] * (5.0 - days) / 5.0, 0.0)
    y[e] = q * wage[idx[e]][:, None] + (1 - q) * y[e] - cost
    y += cap[idx][:, None]
    y[retired] = pre[idx[retired]][:, None]
    o = onl[None, :] * np.clip((lit[idx] - 0.3) / 0.7, 0, 1)[:, None]
    y += (o + (1 - o) * helped[None, :]) * np.maximum(1200.0 - y, 0.0)
    y = np.maximum(y, 50.0)
    rent = np.minimum(rent_tab[owner[idx].astype(int)] / y, 3.0)
    want = 1.2 * np.log(y) - 2.0 * rent + place + rc[idx][:, None] * digital \
        - decay[home[idx]] + 0.8 * (elig[:, None] & offers[None, :])
    want[np.arange(n), home[idx]] += 1.5
    np.testing.assert_allclose(v, want, rtol=1e-12, atol=1e-12)


def test_logit_choice_and_expected_choices():
    n = 3_000
    v = RNG.normal(0, 2, (n, K))
    u = RNG.random(n)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    cum = np.cumsum(e, axis=1)
    want = np.minimum(np.argmax(cum > (u * cum[:, -1])[:, None], axis=1), K - 1)
    np.testing.assert_array_equal(kernels.logit_choice(v, u), want)
    # the choices follow the logit probabilities (one row repeated many times)
    row = np.tile(v[0], (60_000, 1))
    freq = np.bincount(kernels.logit_choice(row, RNG.random(60_000)), minlength=K) / 60_000
    prob = e[0] / e[0].sum()
    assert np.abs(freq - prob).max() < 0.01
    home = RNG.integers(0, K, n)
    pr = e / e.sum(axis=1, keepdims=True)
    pr[np.arange(n), home] = 0.0
    np.testing.assert_allclose(kernels.expected_choices(v, home), pr.sum(axis=0), rtol=1e-10)
