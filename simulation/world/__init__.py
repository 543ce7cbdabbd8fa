"""The world: networked maps of territories and the data they carry.

``load_map(name)`` gives a :class:`TerritoryMap`: a built-in map of France (régions or
départements, from the files in ``simulation/data/``), a synthetic map (``core-periphery``,
``random``) or a map read from a nodes CSV file (with an optional edges file).
This layer imports nothing else of the package.
"""

from simulation.world.maps import (
    KINDS,
    MapError,
    TerritoryMap,
    TravelRule,
    UnknownTerritoryError,
    available_maps,
    load_map,
)

__all__ = ["KINDS", "MapError", "TerritoryMap", "TravelRule", "UnknownTerritoryError",
           "available_maps", "load_map"]
