"""The engine: the model's schedule, agents, markets, ledger, kernels, measures, parameters.

Modules, from the bottom up (each imports only those above it in this list):
    params: every parameter, declared once (default, unit, range, source).
    rng: named random streams derived from one master seed.
    ledger: the double-entry ledger of money flows, by territory.
    kernels: compiled per-household passes (numba) for the hot paths.
    population: index arrays of the live households (cached per population version).
    transfers: how amounts by territory are split among households (owners, landlords...).
    base: :class:`ModelBase`, the Mesa model with the services agents use
        (registration, payments to and from owners).
    agents: households, firms, local authorities, platforms.
    markets: labour market, income circuit, housing market.
    measures: every measure, registered once, computed each step.
    results: tidy tables of a run, its provenance, files on disk.
    model: :class:`TerritoryModel`, initialisation and the monthly schedule.
"""
