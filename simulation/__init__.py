"""Terrinum: an agent-based simulation of what digital technology does to territories.

Public API::

    from simulation import TerritoryModel
    model = TerritoryModel(map="france-departements", seed=1)
    results = model.run(years=20)
    results.to_df(); results.summary()
"""

from simulation.model import TerritoryModel
from simulation.params import PARAMS, ParameterError, Parameters
from simulation.results import Results
from simulation.territory import TerritoryMap, available_maps, load_map

__all__ = ["TerritoryModel", "Results", "PARAMS", "Parameters", "ParameterError",
           "TerritoryMap", "load_map", "available_maps"]
__version__ = "0.1.0"
