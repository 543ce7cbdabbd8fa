"""Money is accounted for: the ledger explains every stock change, every step."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import TerritoryModel


@pytest.mark.parametrize("map_name,seed,fixed_cost", [
    ("synthetic", 1, 0.0), ("synthetic", 2, 0.0), ("france-regions", 3, 0.0),
    ("france-departements", 4, 0.0),
    ("synthetic", 5, 2.5),   # the optional fixed operating cost: commercial rents, closures
])
def test_accounts_balance_every_step(map_name, seed, fixed_cost):
    m = TerritoryModel(map=map_name, seed=seed, n_households=2_500, platform_push=1.0,
                       firm_fixed_cost=fixed_cost)
    # launch a local platform and a policy-like change so that all flows occur
    m.platforms.launch_local(m, np.arange(min(3, m.K)))
    for _ in range(18):
        before = m.stocks()
        m.step()
        after = m.stocks()
        scale = max(abs(v) for v in after.values())
        for sector in before:
            change = after[sector] - before[sector]
            booked = m.ledger.net_inflow(sector).sum()
            assert change == pytest.approx(booked, abs=1e-9 * scale + 1e-3), sector
        # double entry: every flow leaves one account and enters another
        assert m.ledger.imbalance() <= 1e-6 * scale
        total = sum(m.ledger.net_inflow(s).sum() for s in before)
        assert abs(total) <= 1e-9 * scale + 1e-3


def test_global_platform_margin_is_exactly_what_it_sends_out_of_the_map():
    m = TerritoryModel(map="synthetic", seed=4, n_households=2_000, platform_tax=0.02)
    for _ in range(12):
        m.step()
        L = m.ledger
        commission = m.flows_now["commission_global"].sum()
        taxes = L.total("platform_local_tax")
        margin = commission - taxes
        to_row = L.total("platform_margin", src="global_platform", dst="rest_of_world")
        assert to_row == pytest.approx(margin, rel=1e-12)
        # the platform keeps nothing: what it receives it pays out, taxes or sends abroad
        assert abs(L.net_inflow("global_platform").sum()) < 1e-6 * commission + 1e-6
        assert m.stocks()["global_platform"] == 0.0


def test_unbalanced_flow_is_refused():
    from simulation.engine.ledger import Ledger, LedgerError

    L = Ledger(3)
    with pytest.raises(LedgerError, match="unbalanced"):
        L.book("x", "household", "firm", np.array([1.0, 0, 0]), np.array([0.5, 0, 0]))
