"""Terrinum: an agent-based simulation of what digital technology does to territories.

Public API::

    from simulation import TerritoryModel
    model = TerritoryModel(map="france-departements", seed=1)
    results = model.run(years=20)
    results.to_df(); results.summary()

The agent classes are exported too (``from simulation import Household, Firm, Authority,
Platform``), e.g. for ``model.agents_by_type[Household]``.
"""

from simulation.engine.agents.authority import Authority
from simulation.engine.agents.firm import Firm
from simulation.engine.agents.household import Household
from simulation.engine.agents.platform import Platform
from simulation.engine.model import TerritoryModel
from simulation.engine.params import PARAMS, ParameterError, Parameters
from simulation.engine.results import Results
from simulation.world.maps import TerritoryMap, available_maps, load_map

__all__ = ["TerritoryModel", "Results", "PARAMS", "Parameters", "ParameterError",
           "TerritoryMap", "load_map", "available_maps",
           "Household", "Firm", "Authority", "Platform"]
__version__ = "0.1.0"
