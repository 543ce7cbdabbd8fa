"""Compiled per-household passes (numba) for the hot paths of a month.

The model keeps per-household state in numpy arrays. Most monthly work is a chain of
element-wise operations followed by sums by home territory. In numpy each link of such a
chain is a pass over memory (and every sum by territory a ``bincount`` of about 2 ns per
household on this class of machine); a compiled loop does the whole chain and all its sums
in one pass. These kernels are that loop for the chains that dominate a month at large
populations (see ``python -m benchmarks.bench``); they compute exactly what the numpy
expressions in their docstrings say, in slot order. Each is compiled once per machine and
cached on disk (``cache=True``); ``python -m simulation.engine.kernels`` compiles them ahead.

No kernel draws random numbers: every draw stays with the model's named numpy streams.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def demand_pass(home: np.ndarray, alive: np.ndarray, pre: np.ndarray,
                taken_up: np.ndarray, owner: np.ndarray, savings: np.ndarray,
                commute_km: np.ndarray, remote_ok: np.ndarray, literacy: np.ndarray,
                benefit: np.ndarray, pension: np.ndarray, wage: np.ndarray,
                net_rate: np.ndarray, rent_terr: np.ndarray, shop_terr: np.ndarray,
                local_terr: np.ndarray, has_local: bool, minimum_income: float,
                mpc_income: float, mpc_wealth: float, fuel_price: float,
                digital_share: float, literacy_weight: float, illiteracy_threshold: float,
                topup: np.ndarray, disp: np.ndarray, rent: np.ndarray, spend: np.ndarray,
                sums: np.ndarray) -> None:
    """Households' disposable income, rent and spending by channel (one pass).

    Per slot ``i`` with home ``k`` (dead slots have ``pre`` = 0 and pay no rent):

    - ``topup = max(minimum_income - pre, 0) x taken_up``;
      ``disp = pre x net_rate[k] + topup``;
    - ``rent = rent_terr[k] x alive x not owner``;
    - ``spend = max(mpc_income x disp - rent, 0) + mpc_wealth x max(savings, 0)``;
    - ``fuel = min(commute_km x fuel_price, spend)``, ``rest = spend - fuel``,
      ``dig = digital_share x rest x remote_ok``;
    - online weight ``e_g = exp(literacy_weight (lit - 0.6) - 0.5 x not remote_ok)``
      (float32; ``exp(-8)`` below ``illiteracy_threshold``), shop weight ``shop_terr[k]``,
      local weight ``local_terr[k] x e_g``.

    Adds by territory into ``sums`` (10 x K): pre, rest, fuel, dig, the global platform's
    share of rest, the local platforms' share of rest, and the transfers and wages
    received (benefit, pension, topup, wage).
    """
    n = home.size
    lw = np.float32(literacy_weight)
    c06 = np.float32(0.6)
    c05 = np.float32(0.5)
    c8 = np.float32(-8.0)
    # branch-free (selects and min/max): tenure, access and literacy are in no order by slot
    for i in range(n):
        k = home[i]
        p = pre[i]
        top = max(minimum_income - p, 0.0) * taken_up[i]
        d = p * net_rate[k] + top
        topup[i] = top
        disp[i] = d
        r = rent_terr[k] * (np.intp(alive[i]) * (1 - np.intp(owner[i])))
        rent[i] = r
        s = max(mpc_income * d - r, 0.0) + mpc_wealth * max(savings[i], 0.0)
        spend[i] = s
        fuel = min(commute_km[i] * fuel_price, s)
        rest = s - fuel
        conn = np.intp(remote_ok[i])
        lit = literacy[i]
        x = lw * (np.float32(lit) - c06) - c05 * np.float32(1 - conn)
        ok = np.float32(lit >= illiteracy_threshold)
        x = x * ok + c8 * (np.float32(1.0) - ok)
        ex_g = np.float32(math.exp(x))
        ex_s = shop_terr[k]
        sums[0, k] += p
        sums[1, k] += rest
        sums[2, k] += fuel
        sums[3, k] += digital_share * rest * conn
        if has_local:
            ex_l = local_terr[k] * ex_g
            tot = ex_s + ex_g + ex_l
            sums[4, k] += rest * (ex_g / tot)
            sums[5, k] += rest * (ex_l / tot)
        else:
            sums[4, k] += rest * (ex_g / (ex_s + ex_g))
        sums[6, k] += benefit[i]
        sums[7, k] += pension[i]
        sums[8, k] += top
        sums[9, k] += wage[i]


@njit(**_JIT)
def sort_nonnegative(x: np.ndarray) -> np.ndarray:
    """``np.sort(x)`` for float64 ``x`` >= 0 (a new array), by an LSD radix sort.

    Non-negative IEEE doubles order like their bit patterns read as unsigned integers, so
    six passes of 11-bit digits sort them in O(n) (about 4 times numpy's sort at 50,000
    values, twice at 500,000); a pass whose digit is the same for every value is skipped.
    ``-0.0`` is sorted as ``0.0`` (equal values); an input with a negative value or a NaN
    falls back to ``np.sort``, so the result is always ``np.sort(x)``'s values.
    """
    n = x.size
    a = np.empty(n, np.uint64)
    for i in range(n):
        v = x[i]
        if not v >= 0.0:  # negative or NaN
            return np.sort(x)
        a[i] = np.float64(v + 0.0).view(np.uint64)
    b = np.empty(n, np.uint64)
    cnt = np.zeros(2048, np.int64)
    for shift in range(0, 66, 11):
        cnt[:] = 0
        for i in range(n):
            cnt[(a[i] >> shift) & 2047] += 1
        if cnt.max() == n:
            continue
        total = 0
        for d in range(2048):
            c = cnt[d]
            cnt[d] = total
            total += c
        for i in range(n):
            d = (a[i] >> shift) & 2047
            b[cnt[d]] = a[i]
            cnt[d] += 1
        a, b = b, a
    return a.view(np.float64)


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
def status_pass(alive: np.ndarray, home: np.ndarray, K: int, age: np.ndarray,
                retirement_age: float, employer: np.ndarray, telework_days: np.ndarray,
                eligible: np.ndarray, taken_up: np.ndarray, literacy: np.ndarray,
                illiteracy_threshold: float, commute_km: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Counts of live households by territory and status code, and two sums by territory.

    The status code of a household is 6 bits: working age, employed, teleworking one day a
    week or more, eligible to the minimum income, taking it up, below the illiteracy
    threshold (bits 0 to 5). Returns ``(table, sums)``: ``table[k, code]`` live households
    of territory ``k`` with that code (K x 64), and ``sums`` (2 x K): commuting km of live
    households and telework days of employed live households, by territory. One pass over
    all slots (``alive`` is the mask; dead slots are counted apart and dropped),
    branch-free.
    """
    table = np.zeros((K, 128), dtype=np.int64)
    sums = np.zeros((2, K))
    for i in range(alive.size):
        k = home[i]
        a = np.intp(alive[i])
        tw = telework_days[i]
        e = np.intp(employer[i] >= 0)
        code = (np.intp(age[i] < retirement_age) | (e << 1)
                | (np.intp(tw >= 1.0) << 2) | (np.intp(eligible[i]) << 3)
                | (np.intp(taken_up[i]) << 4)
                | (np.intp(literacy[i] < illiteracy_threshold) << 5) | ((1 - a) << 6))
        table[k, code] += 1
        sums[0, k] += commute_km[i] * a
        sums[1, k] += tw * (a * e)
    return table[:, :64].copy(), sums



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
    # pass 1, branch-free (employment is in no order by slot): labour force, the employed
    n_emp = 0
    for i in range(employer.size):
        out[1, home[i]] += np.intp(alive[i]) * np.intp(age[i] < retirement_age)
        wage[i] = 0.0
        emp[n_emp] = i
        n_emp += np.intp(employer[i] >= 0)
    # pass 2: the employed
    for j in range(n_emp):
        i = emp[j]
        f = employer[i]
        kf = firm_terr[f]
        w = ref[i] * hours[i] * prod[f] / mean_productivity * tight[kf]
        wage[i] = w
        employees[f] += 1
        wage_sum_firm[f] += w
        out[0, home[i]] += 1.0
        out[2, kf] += w / ref[i]
        out[3, kf] += 1.0
    return n_emp, out


@njit(**_JIT)
def savings_pass(alive: np.ndarray, disposable: np.ndarray, rent: np.ndarray,
                 spend: np.ndarray, cap_now: np.ndarray, savings: np.ndarray,
                 income: np.ndarray, cap_income: np.ndarray) -> None:
    """Households' savings and incomes at the end of the month (in place).

    With this month's capital income ``cap_now`` (rents, cooperative dividends and firm
    dividends received), a live household saves ``disposable - last capital income - rent
    - spend + cap_now`` (last month's capital income, part of disposable income, was saved
    when received); ``income`` becomes ``disposable`` and ``cap_income`` becomes
    ``cap_now`` (0 in dead slots).
    """
    for i in range(alive.size):
        c = cap_now[i]
        if alive[i]:  # mostly true: predictable
            savings[i] += disposable[i] - cap_income[i] - rent[i] - spend[i] + c
            cap_income[i] = c
        else:
            cap_income[i] = 0.0
        income[i] = disposable[i]


@njit(**_JIT)
def member_totals(home: np.ndarray, K: int, alive: np.ndarray, member: np.ndarray,
                  skill: np.ndarray, w_skill: np.ndarray) -> np.ndarray:
    """Total weight by territory of live members: ``sum w_skill[skill]`` over alive & member.

    Summed in slot order (as ``bincount`` of the weights, whose other terms are zeros).
    """
    out = np.zeros(K)
    for i in range(home.size):
        out[home[i]] += w_skill[skill[i]] * (alive[i] & member[i])  # branch-free
    return out


@njit(**_JIT)
def spread(cls: np.ndarray, per_class: np.ndarray, member: np.ndarray, has_member: bool,
           out: np.ndarray) -> None:
    """``out = per_class[cls]``, times ``member`` (0/1) when ``has_member``."""
    if has_member:
        for i in range(cls.size):
            out[i] = per_class[cls[i]] * member[i]
    else:
        for i in range(cls.size):
            out[i] = per_class[cls[i]]


@njit(**_JIT)
def spread_add(cls: np.ndarray, per_class: np.ndarray, member: np.ndarray,
               has_member: bool, sign: float, out: np.ndarray) -> None:
    """``out += sign x per_class[cls]`` (times ``member`` when ``has_member``), in place."""
    if has_member:
        for i in range(cls.size):
            out[i] += sign * (per_class[cls[i]] * member[i])
    else:
        for i in range(cls.size):
            out[i] += sign * per_class[cls[i]]



@njit(**_JIT)
def utility_matrix(idx: np.ndarray, skill: np.ndarray, employer: np.ndarray,
                   firm_terr: np.ndarray, wage: np.ndarray, remote_capable: np.ndarray,
                   cap_income: np.ndarray, retired: np.ndarray, pretransfer: np.ndarray,
                   owner: np.ndarray, home: np.ndarray, eligible_nd: np.ndarray,
                   search: np.ndarray, reach: np.ndarray, remote_share: np.ndarray,
                   rent_tab: np.ndarray, place: np.ndarray, digital: np.ndarray,
                   decay_travel: np.ndarray, attachment: float, offers: np.ndarray,
                   new_deal_bonus: float, beta_income: float, beta_housing: float,
                   income_floor: float, travel: np.ndarray, telework_u: np.ndarray,
                   telework_days: float, uptake: float, commute_eur_per_min: float,
                   literacy: np.ndarray, takeup_k: np.ndarray, online_k: np.ndarray,
                   illiteracy_threshold: float, minimum_income: float) -> np.ndarray:
    """Location utility of each territory (columns) for households ``idx`` (rows), ODD 7.9.

    Expected income ``y`` in territory ``k``: retired households keep
    ``max(pretransfer, floor)``; others get ``search[skill, k]`` (income while searching),
    or, if employed at a firm in territory ``w``, ``q x wage + (1 - q) x search`` with
    ``q = 1`` when ``k`` is within commuting reach of ``w`` and ``remote_capable x
    remote_share[k]`` (the chance of remote access there) otherwise; plus capital income;
    less, for a job kept within commuting reach, the monthly commuting cost
    ``commute_eur_per_min x travel[k, w] x (5 - d) / 5`` where ``d = telework_days x
    remote_capable x remote_share[k] x [telework_u < uptake]`` are the expected telework
    days a week there (more telework, a lighter weight of the distance to the job);
    plus the expected minimum-income top-up ``tau x max(minimum_income - y, 0)`` with the
    take-up probability there ``tau = o + (1 - o) x takeup_k[k]``, ``o = online_k[k] x
    clip((literacy - illiteracy_threshold) / (1 - illiteracy_threshold), 0, 1)``;
    floored at ``income_floor``. Then
    ``V = beta_income log y - beta_housing min(rent_tab[owner, k] / y, 3) + place[k]
    + remote_capable x digital[k] - decay_travel[home, k] + attachment [k = home]
    + new_deal_bonus x eligible_nd x offers[k]``, ``offers[k]`` the chance (0-1) that an
    eligible mover choosing k gets a New-Deal offer backed by a vacancy.
    """
    n = idx.size
    K = search.shape[1]
    v = np.empty((n, K))
    for r in range(n):
        i = idx[r]
        rc = 1.0 if remote_capable[i] else 0.0
        hk = home[i]
        own = 1 if owner[i] else 0
        sk = skill[i]
        f = employer[i]
        w_terr = firm_terr[f] if f >= 0 else -1
        tw_takes = 1.0 if telework_u[i] < uptake else 0.0
        lf = (literacy[i] - illiteracy_threshold) / (1.0 - illiteracy_threshold)
        lf = min(max(lf, 0.0), 1.0)
        for k in range(K):
            o = online_k[k] * lf
            tau = o + (1.0 - o) * takeup_k[k]
            if retired[r]:
                y = pretransfer[i]
                y += tau * max(minimum_income - y, 0.0)
                if y < income_floor:
                    y = income_floor
                u = math.log(y) * beta_income
            else:
                y = search[sk, k]
                if w_terr >= 0:
                    if reach[k, w_terr]:
                        tw = telework_days * rc * remote_share[k] * tw_takes
                        y = wage[i] - commute_eur_per_min * travel[k, w_terr] * (5.0 - tw) / 5.0
                    else:
                        q = rc * remote_share[k]
                        y = q * wage[i] + (1.0 - q) * y
                y += cap_income[i]
                y += tau * max(minimum_income - y, 0.0)
                if y < income_floor:
                    y = income_floor
                u = math.log(y) * beta_income
            rent = rent_tab[own, k] / y
            if rent > 3.0:
                rent = 3.0
            u = u - rent * beta_housing + place[k] + rc * digital[k]
            u -= decay_travel[hk, k]
            if k == hk:
                u += attachment
            if eligible_nd[r]:
                u += new_deal_bonus * offers[k]  # expected value of an offer (0 where none)
            v[r, k] = u
    return v



@njit(**_JIT)
def ageing_pass(alive: np.ndarray, age: np.ndarray, employer: np.ndarray, wage: np.ndarray,
                retirement_age: float, u: np.ndarray, rate: np.ndarray,
                dying: np.ndarray, parents: np.ndarray) -> tuple[int, int]:
    """A month of age for live households ``alive`` (ascending slots), in place.

    Ages grow by 1/12 year; workers reaching ``retirement_age`` leave their job
    (``employer = -1``, ``wage = 0``); household ``alive[j]`` dissolves when
    ``u[j] < rate[band]`` with band 0 under 60, 1 from 60 to 75, 2 from 75. Fills ``dying``
    with the dissolving slots and ``parents`` with the others aged 40 to 75 (both
    ascending); returns their numbers.
    """
    # branch-free where the outcome is unpredictable (ages are in no order by slot); the
    # rare dissolutions branch
    n_d = 0
    n_p = 0
    step = 1.0 / 12.0
    for j in range(alive.size):
        i = alive[j]
        a = age[i] + step
        age[i] = a
        band = np.intp(a >= 60.0) + np.intp(a >= 75.0)
        if u[j] < rate[band]:
            dying[n_d] = i
            n_d += 1
        else:
            parents[n_p] = i
            n_p += np.intp(a >= 40.0) * np.intp(a < 75.0)
        e = employer[i]
        keep = np.intp(a < retirement_age) | np.intp(e < 0)
        employer[i] = e * keep - (1 - keep)
        wage[i] = wage[i] * keep
    return n_d, n_p



@njit(**_JIT)
def employees_by_firm(employer: np.ndarray, n_firms: int, emp: np.ndarray
                      ) -> tuple[int, np.ndarray]:
    """Employed households and employees by firm (``employer >= 0``).

    Fills ``emp`` with the employed slots (ascending); returns their number and the count
    by firm. Branch-free: employment is in no order by slot.
    """
    counts = np.zeros(n_firms + 1, dtype=np.int64)  # the last cell collects the jobless
    n = 0
    for i in range(employer.size):
        f = employer[i]
        jobless = np.intp(f < 0)
        counts[f + (n_firms - f) * jobless] += 1
        emp[n] = i
        n += 1 - jobless
    return n, counts[:n_firms]


@njit(**_JIT)
def separations_pass(emp: np.ndarray, employer: np.ndarray, wage: np.ndarray,
                     alive: np.ndarray, age: np.ndarray, retirement_age: float,
                     u: np.ndarray, p_lay: np.ndarray, separation_rate: float,
                     home: np.ndarray, K: int, employees: np.ndarray, seekers: np.ndarray
                     ) -> tuple[int, np.ndarray]:
    """Quits and layoffs, then the job seekers (in place).

    Employed household ``emp[j]`` leaves its firm ``f`` when ``u[j] < separation_rate`` or
    ``u[j] > 1 - p_lay[f]`` (``employer = -1``, ``wage = 0``); ``employees`` counts the
    others by firm. Job seekers are live households under ``retirement_age`` without a job
    afterwards: ``seekers`` gets their slots (ascending); returns their number and their
    count by home territory (K).
    """
    for j in range(emp.size):
        i = emp[j]
        f = employer[i]
        x = u[j]
        if x < separation_rate or x > 1.0 - p_lay[f]:  # rare: predictable
            employer[i] = -1
            wage[i] = 0.0
        else:
            employees[f] += 1
    U = np.zeros(K)
    n_s = 0
    for i in range(employer.size):  # branch-free
        c = np.intp(alive[i]) * np.intp(age[i] < retirement_age) * np.intp(employer[i] < 0)
        seekers[n_s] = i
        n_s += c
        U[home[i]] += c
    return n_s, U


@njit(**_JIT)
def incomes_pass(alive: np.ndarray, age: np.ndarray, employer: np.ndarray,
                 unemp_months: np.ndarray, ref: np.ndarray, wage: np.ndarray,
                 cap_income: np.ndarray, retirement_age: float, benefit_months: float,
                 benefit_rate: float, pension_rate: float, benefit: np.ndarray,
                 pension: np.ndarray, pretransfer: np.ndarray) -> None:
    """Incomes before the minimum income (EUR/month per real household), in place.

    Live households past ``retirement_age`` get ``pension_rate x ref``; live jobless ones
    below it count one more month of unemployment and get ``benefit_rate x ref`` for their
    first ``benefit_months``; ``pretransfer = wage + benefit + pension + cap_income`` (0 in
    dead slots). Branch-free.
    """
    for i in range(alive.size):
        a = np.intp(alive[i])
        retired = a * np.intp(age[i] >= retirement_age)
        seeking = a * np.intp(employer[i] < 0) * (1 - retired)
        m = unemp_months[i] + seeking
        unemp_months[i] = m
        seeking *= np.intp(m <= benefit_months)
        b = benefit_rate * ref[i] * seeking
        pe = pension_rate * ref[i] * retired
        benefit[i] = b
        pension[i] = pe
        pretransfer[i] = (wage[i] + b + pe + cap_income[i]) * a


@njit(**_JIT)
def commute_pass(emp: np.ndarray, home: np.ndarray, employer: np.ndarray,
                 firm_terr: np.ndarray, travel: np.ndarray, reach: np.ndarray,
                 remote_capable: np.ndarray, remote_ok: np.ndarray, telework_days: float,
                 workdays: float, km_per_min: float, tw_out: np.ndarray,
                 km_out: np.ndarray, telework_u: np.ndarray, uptake: float) -> None:
    """Telework days (per week) and commuting km (per month) of employed households ``emp``.

    A worker with a remote-able job and remote access teleworks ``telework_days`` if his
    telework draw ``telework_u`` is below ``uptake`` (the share of such workers who do),
    or 5 days when the job is beyond commuting reach (``reach[home, work]`` false); the
    others commute; ``km = 2 x travel[home, work] x km_per_min x workdays x (5 - days) / 5``.
    """
    for j in range(emp.size):
        i = emp[j]
        k = home[i]
        w = firm_terr[employer[i]]
        t = travel[k, w]
        remote = np.intp(remote_capable[i]) * np.intp(remote_ok[i])
        far = remote * (1 - np.intp(reach[k, w]))
        takes = np.intp(telework_u[i] < uptake)
        tw = telework_days * remote * takes * (1 - far) + 5.0 * far
        tw_out[i] = tw
        km_out[i] = 2.0 * t * km_per_min * (workdays * (5.0 - tw) / 5.0)


@njit(**_JIT)
def services_pass(alive: np.ndarray, age: np.ndarray, pretransfer: np.ndarray,
                  minimum_income: float, literacy: np.ndarray, home: np.ndarray, K: int,
                  eligible: np.ndarray, taken_up: np.ndarray, cand: np.ndarray,
                  weak: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Eligibility to the minimum income and households in need of mediation.

    A live household aged 25 or more whose income before the minimum income is below
    ``minimum_income`` is eligible (``eligible`` set, ``taken_up`` kept only for them;
    ``cand`` gets their slots); live households with literacy below 0.5 are weak users
    (``weak`` gets their slots, counted by territory). Returns (number eligible, number
    weak, weak by territory). Branch-free.
    """
    demand = np.zeros(K)
    n_c = 0
    n_w = 0
    for i in range(alive.size):
        a = np.intp(alive[i])
        e = a * np.intp(pretransfer[i] < minimum_income) * np.intp(age[i] >= 25.0)
        eligible[i] = e != 0
        taken_up[i] = taken_up[i] & (e != 0)
        cand[n_c] = i
        n_c += e
        w = a * np.intp(literacy[i] < 0.5)
        weak[n_w] = i
        n_w += w
        demand[home[i]] += w
    return n_c, n_w, demand


@njit(**_JIT)
def literacy_pass(alive: np.ndarray, age: np.ndarray, connected: np.ndarray,
                  literacy: np.ndarray, learning: float, decline_old: float) -> None:
    """Monthly literacy change (0-1 scale), in place.

    Connected households under 75 learn ``learning x (1 - literacy)``, households of 75 and
    over lose ``decline_old``; clipped to [0, 1]. Branch-free.
    """
    for i in range(alive.size):
        a = np.intp(alive[i])
        old = np.intp(age[i] >= 75.0)
        young = np.intp(connected[i]) * (1 - old) * a
        lit = literacy[i]
        lit += (1.0 - lit) * learning * young
        lit -= decline_old * (old * a)
        literacy[i] = min(max(lit, 0.0), 1.0)



@njit(**_JIT)
def _row_exp(v: np.ndarray, r: int, e: np.ndarray) -> float:
    """Fill ``e`` with ``exp(v[r] - max v[r])``; return their sum (logit weights of row r)."""
    K = v.shape[1]
    m = v[r, 0]
    for k in range(1, K):
        m = max(m, v[r, k])
    t = 0.0
    for k in range(K):
        e[k] = math.exp(v[r, k] - m)
        t += e[k]
    return t


@njit(**_JIT)
def logit_choice(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Multinomial logit choice by inversion, one row (chooser) at a time.

    Row ``r`` chooses the first column whose cumulated ``exp(v[r] - max v[r])`` exceeds
    ``u[r]`` times their total (``u`` uniform on [0, 1)).
    """
    n, K = v.shape
    out = np.empty(n, dtype=np.intp)
    e = np.empty(K)
    for r in range(n):
        x = u[r] * _row_exp(v, r, e)
        c = K - 1
        t = 0.0
        for k in range(K):
            t += e[k]
            if t > x:
                c = k
                break
        out[r] = c
    return out


@njit(**_JIT)
def expected_choices(v: np.ndarray, home: np.ndarray) -> np.ndarray:
    """Sum over rows of the logit probabilities ``exp(v) / sum exp(v)``, stays excluded.

    Row ``r``'s own territory ``home[r]`` counts 0: the result (K) is each territory's
    expected number of choosers moving in.
    """
    n, K = v.shape
    out = np.zeros(K)
    e = np.empty(K)
    for r in range(n):
        t = _row_exp(v, r, e)
        e[home[r]] = 0.0
        for k in range(K):
            out[k] += e[k] / t
    return out


@njit(**_JIT)
def expected_flows(v: np.ndarray, home: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected moves in and out by territory of choosers with utilities ``v`` (n x K).

    Row ``r`` moves out of ``home[r]`` with probability ``1 - p[r, home[r]]`` and into
    ``k != home[r]`` with probability ``p[r, k]`` (logit probabilities). Returns three K
    arrays: expected moves in, expected moves out (households: the realised counts'
    expectations given ``v``) and ``sum p_stay (1 - p_stay)`` by home, the derivative of the
    expected stays with respect to the home territory's utility.
    """
    n, K = v.shape
    inflow = np.zeros(K)
    outflow = np.zeros(K)
    stay_var = np.zeros(K)
    e = np.empty(K)
    for r in range(n):
        t = _row_exp(v, r, e)
        h = home[r]
        stay = e[h] / t
        outflow[h] += 1.0 - stay
        stay_var[h] += stay * (1.0 - stay)
        e[h] = 0.0
        for k in range(K):
            inflow[k] += e[k] / t
    return inflow, outflow, stay_var


def warm_up() -> None:
    """Compile (or load from the cache) every kernel on tiny inputs."""
    n, K = 4, 2
    home = np.zeros(n, dtype=np.intp)
    f = np.ones(n)
    b = np.ones(n, dtype=bool)
    f32 = np.ones(K, dtype=np.float32)
    i32 = np.zeros(n, dtype=np.int32)
    demand_pass(i32, b, f, b, b, f, f, b, f, f, f, f, np.ones(K), np.ones(K), f32, f32, True,
                1.0, 0.9, 0.01, 0.1, 0.1, 2.5, 0.3, f.copy(), f.copy(), f.copy(), f.copy(),
                np.zeros((10, K)))
    sorted_group_sums(np.array([0, 2, 4], dtype=np.intp), f, 1.0, 1.0)
    sort_nonnegative(f)
    expected_flows(np.zeros((n, K)), home)
    status_pass(b, home, K, f, 65.0, i32, f, b, b, f, 0.3, f)
    wages_pass(i32, b, f, 65.0, f, f, f, 1.0, f, i32, home, K, f.copy(), np.zeros(n, np.intp),
               np.zeros(n, np.int64), f.copy())
    savings_pass(b, f, f, f, f, f.copy(), f.copy(), f.copy())
    ageing_pass(np.arange(n), f.copy(), i32.copy(), f.copy(), 65.0, f, np.ones(3),
                np.empty(n, np.intp), np.empty(n, np.intp))
    employees_by_firm(i32, 3, np.empty(n, np.intp))
    separations_pass(np.arange(n), i32.copy(), f.copy(), b, f, 65.0, f, f, 0.01, home, K,
                     np.zeros(n, np.int64), np.empty(n, np.intp))
    incomes_pass(b, f, i32, i32.copy(), f, f, f, 65.0, 12.0, 0.6, 0.5, f.copy(), f.copy(),
                 f.copy())
    commute_pass(np.arange(n), home, i32, i32, np.ones((K, K)), np.ones((K, K), dtype=bool),
                 b, b, 1.0, 21.0, 0.9, f.copy(), f.copy(), f, 1.0)
    services_pass(b, f, f, 1000.0, f, home, K, b.copy(), b.copy(), np.empty(n, np.intp),
                  np.empty(n, np.intp))
    literacy_pass(b, f, b, f.copy(), 0.01, 0.01)
    logit_choice(np.ones((n, K)), f * 0.5)
    expected_choices(np.ones((n, K)), i32)
    member_totals(home, K, b, b, i32.astype(np.int8), np.ones(3))
    spread(home, np.ones(K), b, True, f.copy())
    spread_add(home, np.ones(K), b, True, 1.0, f.copy())
    tab = np.ones((3, K))
    utility_matrix(home, i32.astype(np.int8), i32, i32, f, b, f, b, f, b, i32, b, tab,
                   np.ones((K, K), dtype=bool), np.ones(K), np.ones((2, K)), np.ones(K),
                   np.ones(K), np.ones((K, K)), 1.0, np.ones(K, dtype=bool), 1.0, 1.0, 1.0,
                   50.0, np.ones((K, K)), f, 1.5, 1.0, 1.0, f, np.ones(K), np.ones(K), 0.3,
                   700.0)


if __name__ == "__main__":  # pragma: no cover
    import time

    t0 = time.perf_counter()
    warm_up()
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s")
