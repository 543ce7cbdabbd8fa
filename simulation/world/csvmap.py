"""A user's map from CSV files: a nodes file (one row per territory) and an optional edges file.

:func:`load_csv_map` checks every row and column before building anything (a regular file of sane
size, required columns, numbers in range, known codes in the edges) and raises
:class:`~simulation.world.territory_map.MapError` naming the file, the row and what is allowed.
Columns that are absent are filled by the rules of :mod:`simulation.world.imputation`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from simulation.errors import InputFileError, clip_repr
from simulation.safe_io import MAX_CSV_BYTES, path_state, read_text_file
from simulation.world.imputation import _assemble
from simulation.world.territory_map import (
    KINDS,
    MapError,
    TerritoryMap,
    TravelRule,
    _connect_nearest,
    _knn_edges,
    _project,
    _short_list,
)

MAX_MAP_TERRITORIES = 2_000


MAX_TERRITORY_POPULATION = 2e9


_NODE_REQUIRED = ("code", "name", "population", "area_km2")


_NODE_OPTIONAL_NUM = {
    # column: (lower bound, upper bound, lower inclusive, description of what is allowed)
    "broadband": (0.0, 1.0, True, "a share between 0 and 1"),
    "amenity": (0.0, 1.0, True, "an index between 0 and 1"),
    "median_income": (0.0, math.inf, False, "a number > 0 (EUR per year)"),
    "counters_tax": (0.0, math.inf, True, "a count >= 0"),
    "counters_social": (0.0, math.inf, True, "a count >= 0"),
    "counters_post": (0.0, math.inf, True, "a count >= 0"),
    "france_services": (0.0, math.inf, True, "a count >= 0"),
    "tiers_lieux": (0.0, math.inf, True, "a count >= 0"),
}


_NODE_COLUMNS = (
    *_NODE_REQUIRED, "lat", "lon", "x_km", "y_km", "kind", "region", "capital", "source", "notes",
    *_NODE_OPTIONAL_NUM,
)  # fmt: skip


_EDGE_COLUMNS = ("source", "target", "travel_min", "notes")


_TRUE = {"1", "true", "yes", "y", "t"}


_FALSE = {"0", "false", "no", "n", "f", ""}


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV into (header, [(line number, row dict)]), never raising a raw parser error."""
    try:
        text = read_text_file(path, "a map file (UTF-8 CSV)", MAX_CSV_BYTES)
    except InputFileError as exc:
        problem = "file not found" if exc.problem == "no such file" else exc.problem
        raise MapError(f"{problem}; allowed: {exc.allowed}", file=path) from None
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows = []
    try:
        for rec in reader:
            if not rec or all(not c.strip() for c in rec):
                continue
            if rec[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [h.strip() for h in rec]
                for k, h in enumerate(header):
                    if not h:
                        raise MapError(
                            f"header field {k + 1} is empty; every column needs a name",
                            file=path,
                            line=reader.line_num,
                        )
                    if header.count(h) > 1:
                        raise MapError(
                            "column appears twice in the header; names must be unique",
                            file=path,
                            line=reader.line_num,
                            column=h,
                        )
                continue
            if len(rec) != len(header):
                raise MapError(
                    f"{len(rec)} fields but the header has {len(header)} "
                    f"({', '.join(header)}); allowed: {len(header)} fields per line (quote "
                    "values that contain commas)",
                    file=path,
                    line=reader.line_num,
                )
            rows.append((reader.line_num, {h: v.strip() for h, v in zip(header, rec, strict=True)}))
    except csv.Error as exc:
        raise MapError(f"malformed CSV ({exc})", file=path, line=reader.line_num) from None
    if header is None:
        raise MapError("the file is empty; expected a header line", file=path, line=1)
    return header, rows


def _parse_number(
    value: str,
    *,
    path: Path,
    line: int,
    column: str,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_inclusive: bool = True,
    allowed: str = "a number",
) -> float:
    try:
        x = float(value)
    except ValueError:
        hint = " (use '.' as the decimal separator)" if "," in value else ""
        raise MapError(
            f"{clip_repr(value)} is not a number{hint}; allowed: {allowed}",
            file=path,
            line=line,
            column=column,
        ) from None
    below = x < lo or (x == lo and not lo_inclusive)
    if not math.isfinite(x) or below or x > hi:
        raise MapError(
            f"{clip_repr(value)} is out of range; allowed: {allowed}",
            file=path,
            line=line,
            column=column,
        )
    return x


def edges_beside(nodes_csv: str | Path) -> Path | None:
    """The edges CSV that sits beside a nodes CSV, or None.

    Looked for in the nodes file's folder: the nodes file's name with its last ``nodes``
    replaced by ``edges`` (``valley_nodes.csv`` -> ``valley_edges.csv``), then ``edges.csv``.
    Only regular files count. Used by ``terrinum run --map NODES.csv`` (and ``compare``);
    :func:`load_csv_map` itself takes only the edges file it is given.
    """
    npath = Path(nodes_csv)
    stem = npath.stem
    names = []
    if "nodes" in stem:
        head, _, tail = stem.rpartition("nodes")
        names.append(f"{head}edges{tail}{npath.suffix}")
    names.append("edges.csv")
    for n in names:
        cand = npath.with_name(n)
        if cand != npath and path_state(cand) == "file":
            return cand
    return None


def load_csv_map(
    nodes_csv: str | Path, edges_csv: str | Path | None = None, *, name: str | None = None
) -> TerritoryMap:
    """Load a user map from a nodes CSV and an optional edges CSV.

    Nodes CSV (UTF-8, comma-separated, header on the first line; blank lines and lines starting
    with ``#`` are skipped):

    * required: ``code`` (unique), ``name``, ``population`` (persons, >= 0), ``area_km2`` (> 0),
      and either ``lat,lon`` (degrees) or ``x_km,y_km`` (planar km);
    * optional (an empty cell means "use the default rule"): ``kind`` (one of :data:`KINDS`,
      default from density), ``region``, ``capital`` (1/0, true/false; adds 0.2 amenity),
      ``broadband`` (0..1), ``amenity`` (0..1), ``median_income`` (EUR/yr, > 0),
      ``counters_tax``, ``counters_social``, ``counters_post``, ``france_services``,
      ``tiers_lieux`` (counts >= 0), and free-text ``source``, ``notes``.

    Edges CSV: ``source,target`` (codes) and optional ``travel_min`` (minutes, > 0; empty = the
    travel rule on the distance) and ``notes``. Without an edges file each territory is linked to
    its 3 nearest neighbours and components are joined by their closest pair (kind
    ``"synthetic"``). The map must be connected.

    Args:
        nodes_csv: path of the nodes CSV.
        edges_csv: path of the edges CSV, or None.
        name: map name (default: the nodes file stem).

    Returns:
        The map; values from the file are marked "observed: <file>", the others "imputed: <rule>".

    Raises:
        MapError: naming the file, line (header = line 1), column and what is allowed, for a
            missing column, empty or non-numeric value, value out of range, unknown kind,
            duplicate code, edge to an unknown code, self-loop, duplicate edge or a disconnected
            map (the components are listed).
    """
    npath = Path(nodes_csv)
    header, rows = _read_rows(npath)
    unknown = [h for h in header if h not in _NODE_COLUMNS]
    if unknown:
        raise MapError(
            f"unknown column; allowed columns: {', '.join(_NODE_COLUMNS)}",
            file=npath,
            line=1,
            column=unknown[0],
        )
    for col in _NODE_REQUIRED:
        if col not in header:
            raise MapError(
                f"required column is missing; required: {', '.join(_NODE_REQUIRED)} and "
                "either lat,lon or x_km,y_km",
                file=npath,
                line=1,
                column=col,
            )
    has_ll = "lat" in header or "lon" in header
    has_xy = "x_km" in header or "y_km" in header
    if not has_ll and not has_xy:
        raise MapError(
            "no coordinates; allowed: columns lat,lon (degrees) or x_km,y_km (km)",
            file=npath,
            line=1,
            column="lat",
        )
    for a, b in (("lat", "lon"), ("x_km", "y_km")):
        if (a in header) != (b in header):
            missing = b if a in header else a
            raise MapError(
                f"column '{a if a in header else b}' needs its pair '{missing}'; allowed: "
                "both lat,lon or both x_km,y_km",
                file=npath,
                line=1,
                column=missing,
            )
    coord_cols = ("lat", "lon") if has_ll else ("x_km", "y_km")
    if not rows:
        raise MapError(
            "no territories: the file has a header but no data rows; allowed: at least one "
            "territory per line after the header",
            file=npath,
            line=2,
        )
    if len(rows) > MAX_MAP_TERRITORIES:
        raise MapError(
            f"{len(rows):,} territories; allowed: at most {MAX_MAP_TERRITORIES:,} (the travel-time "
            "matrix grows with the square of the number)",
            file=npath,
        )

    n = len(rows)
    codes, names, region = [], [], []
    pop, area = np.zeros(n), np.zeros(n)
    coords = {c: np.full(n, np.nan) for c in ("lat", "lon", "x_km", "y_km")}
    kind = np.full(n, -1)
    capital = np.zeros(n, dtype=bool)
    optional = {c: np.full(n, np.nan) for c in _NODE_OPTIONAL_NUM if c in header}
    seen: dict[str, int] = {}
    for i, (line, row) in enumerate(rows):
        for col in (*_NODE_REQUIRED, *coord_cols):
            if row[col] == "":
                raise MapError(
                    "empty value; a value is required", file=npath, line=line, column=col
                )
        code = row["code"]
        if code in seen:
            raise MapError(
                f"duplicate code {clip_repr(code)} (first on line {seen[code]}); codes must be "
                "unique",
                file=npath,
                line=line,
                column="code",
            )
        seen[code] = line
        codes.append(code)
        names.append(row["name"])
        region.append(row.get("region", ""))
        pop[i] = _parse_number(
            row["population"],
            path=npath,
            line=line,
            column="population",
            lo=0.0,
            hi=MAX_TERRITORY_POPULATION,
            allowed=f"a number >= 0 and <= {MAX_TERRITORY_POPULATION:,.0f} (persons)",
        )
        area[i] = _parse_number(
            row["area_km2"],
            path=npath,
            line=line,
            column="area_km2",
            lo=0.0,
            lo_inclusive=False,
            allowed="a number > 0 (km²)",
        )
        if has_ll:
            coords["lat"][i] = _parse_number(
                row["lat"],
                path=npath,
                line=line,
                column="lat",
                lo=-90,
                hi=90,
                allowed="degrees in [-90, 90]",
            )
            coords["lon"][i] = _parse_number(
                row["lon"],
                path=npath,
                line=line,
                column="lon",
                lo=-180,
                hi=180,
                allowed="degrees in [-180, 180]",
            )
        for c in ("x_km", "y_km"):
            if c in header and row[c] != "":
                coords[c][i] = _parse_number(
                    row[c], path=npath, line=line, column=c, allowed="a number (km)"
                )
            elif c in header and not has_ll:
                raise MapError("empty value; a value is required", file=npath, line=line, column=c)
        if row.get("kind", ""):
            k = row["kind"].strip().lower()
            if k not in KINDS:
                raise MapError(
                    f"unknown kind {clip_repr(row['kind'])}; allowed: {', '.join(KINDS)} "
                    "(or empty for the density rule)",
                    file=npath,
                    line=line,
                    column="kind",
                )
            kind[i] = KINDS.index(k)
        cap = row.get("capital", "").strip().lower()
        if cap not in _TRUE | _FALSE:
            raise MapError(
                f"{clip_repr(row['capital'])} is not a yes/no value; allowed: 1/0, true/false, "
                "yes/no, or empty",
                file=npath,
                line=line,
                column="capital",
            )
        capital[i] = cap in _TRUE
        for col, (lo, hi, inc, allowed) in _NODE_OPTIONAL_NUM.items():
            if col in optional and row[col] != "":
                optional[col][i] = _parse_number(
                    row[col],
                    path=npath,
                    line=line,
                    column=col,
                    lo=lo,
                    hi=hi,
                    lo_inclusive=inc,
                    allowed=allowed,
                )
    if not pop.sum() > 0:
        raise MapError(
            "every territory has population 0; allowed: at least one territory with a "
            "population > 0 (persons)",
            file=npath,
            column="population",
        )

    pos = {c: i for i, c in enumerate(codes)}
    edges: list[dict] = []
    if edges_csv is not None:
        epath = Path(edges_csv)
        eheader, erows = _read_rows(epath)
        bad = [h for h in eheader if h not in _EDGE_COLUMNS]
        if bad:
            raise MapError(
                f"unknown column; allowed columns: {', '.join(_EDGE_COLUMNS)}",
                file=epath,
                line=1,
                column=bad[0],
            )
        for col in ("source", "target"):
            if col not in eheader:
                raise MapError(
                    "required column is missing; required: source, target (optional: travel_min)",
                    file=epath,
                    line=1,
                    column=col,
                )
        seen_e: dict[tuple[str, str], int] = {}
        for line, row in erows:
            for col in ("source", "target"):
                if row[col] == "":
                    raise MapError(
                        "empty value; a territory code is required",
                        file=epath,
                        line=line,
                        column=col,
                    )
                if row[col] not in pos:
                    raise MapError(
                        f"unknown territory code {clip_repr(row[col])}; allowed: codes of "
                        f"{npath.name}: {_short_list(codes)}",
                        file=epath,
                        line=line,
                        column=col,
                    )
            u, v = row["source"], row["target"]
            if u == v:
                raise MapError(
                    f"self-loop {clip_repr(u)} -> {clip_repr(v)}; an edge must join two "
                    "different territories",
                    file=epath,
                    line=line,
                    column="target",
                )
            key = (min(u, v), max(u, v))
            if key in seen_e:
                raise MapError(
                    f"duplicate edge {u}-{v} (first on line {seen_e[key]}); list each link once",
                    file=epath,
                    line=line,
                    column="target",
                )
            seen_e[key] = line
            t = np.nan
            if row.get("travel_min", ""):
                t = _parse_number(
                    row["travel_min"],
                    path=epath,
                    line=line,
                    column="travel_min",
                    lo=0.0,
                    lo_inclusive=False,
                    allowed="minutes > 0, or empty for the travel rule",
                )
            edges.append({"u": u, "v": v, "kind": "user", "travel_min": t, "line": line})
        edges_label: Path | None = epath
    else:
        xy = (
            np.column_stack(_project(coords["lat"], coords["lon"]))
            if has_ll
            else np.column_stack([coords["x_km"], coords["y_km"]])
        )
        pairs = _connect_nearest(xy, _knn_edges(xy, 3)) if n > 1 else set()
        edges = [{"u": codes[a], "v": codes[b], "kind": "synthetic"} for a, b in sorted(pairs)]
        edges_label = npath

    obs = f"observed: {npath.name}"
    values = {}
    for col, arr in optional.items():
        values[col] = (arr, [obs] * n)
    use_xy = "x_km" in header and np.all(np.isfinite(coords["x_km"]))
    kind_notes = [obs if k >= 0 else "" for k in kind]
    prov = {
        "population": obs,
        "area_km2": obs,
        "lat": obs if has_ll else "none (planar map)",
        "lon": obs if has_ll else "none (planar map)",
        "region": obs if "region" in header else "none",
        "edges": f"observed: {Path(edges_csv).name}"
        if edges_csv is not None
        else "imputed: 3 nearest neighbours, components joined by their closest pair",
    }
    if use_xy:
        prov["x_km"] = prov["y_km"] = obs
    return _assemble(
        name=name or npath.stem,
        codes=codes,
        names=names,
        region=region,
        population=pop,
        area_km2=area,
        lat=coords["lat"] if has_ll else None,
        lon=coords["lon"] if has_ll else None,
        x_km=coords["x_km"] if use_xy else None,
        y_km=coords["y_km"] if use_xy else None,
        edges=edges,
        travel=TravelRule(),
        kind=kind,
        kind_note=kind_notes,
        values=values,
        capital=capital,
        attribution=f"user map: {npath.name}",
        base_provenance=prov,
        edges_file=edges_label,
    )
