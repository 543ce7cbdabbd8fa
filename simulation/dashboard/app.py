"""The workshop dashboard page (Solara).

Start it with ``terrinum dashboard [SCENARIO]`` (see :mod:`simulation.dashboard.cli`), or
directly with ``solara run simulation/dashboard/app.py`` after setting the variables that
command sets (offline assets, no telemetry).

Why Solara directly rather than Mesa's ``SolaraViz``: ``SolaraViz`` owns one model instance,
re-creates it from ``__init__`` keyword sliders on Reset, lays its components out in a
draggable grid and draws spaces from ``model.grid``/``model.space``. The workshop needs a
baseline run and saved branches beside the live run, levers that add timed policies for chosen
territories, a choropleth of real outlines with hover and click, and export. The page follows
Mesa's controller pattern (play loop in a thread, a counter that triggers re-rendering) and
draws everything else with Solara components and two small Vue templates.

Each browser tab gets its own :class:`~simulation.dashboard.state.Session` (component state,
created by ``solara.use_memo``): one participant's choices never reach another's page.
"""

# Solara components are named like classes (PascalCase), as in Solara and Mesa themselves.
# ruff: noqa: N802
from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import ipyvue
import reacton.ipyvuetify as rv
import solara
import traitlets

from simulation.dashboard import beforeafter as ba
from simulation.dashboard import charts as ch
from simulation.dashboard import i18n
from simulation.dashboard import levers as lv
from simulation.dashboard import mapdraw as md
from simulation.dashboard import room as rm
from simulation.dashboard import state as st
from simulation.dashboard import view as vw
from simulation.dashboard import workshop as ws
from simulation.dashboard.i18n import t

ENV_SCENARIO = "TERRINUM_DASHBOARD_SCENARIO"
ENV_HOUSEHOLDS = "TERRINUM_DASHBOARD_HOUSEHOLDS"
ENV_LANG = "TERRINUM_DASHBOARD_LANG"
ENV_SEED = "TERRINUM_DASHBOARD_SEED"
ENV_MAP = "TERRINUM_DASHBOARD_MAP"
ENV_WORKSHOP = "TERRINUM_DASHBOARD_WORKSHOP"

# ------------------------------------------------------------------------------- map widget
MAP_TEMPLATE = r"""
<template>
  <div class="tn-map-wrap">
    <div class="tn-map-head">
      <span class="tn-map-title">{{ title }}</span>
      <span class="tn-map-measure">{{ legend.title }}</span>
    </div>
    <div class="tn-map-box">
      <svg :viewBox="geo.viewbox" class="tn-map" :data-map-step="step" :data-run="run"
           :data-measure="measure" preserveAspectRatio="xMidYMid meet"
           @mouseleave="hover = -1">
        <g class="tn-shapes">
          <path v-for="s in geo.shapes" :key="'s' + s.code" :d="s.d" :fill="fills[s.i]"
                :data-territory="s.code"
                :class="['tn-shape', {'tn-sel': selected.indexOf(s.code) >= 0,
                         'tn-hov': hover === s.i}]"
                @mouseenter="hover = s.i" @click="pick(s.i, s.code)">
            <title>{{ names[s.i] }}</title>
          </path>
        </g>
        <g v-if="show_links" class="tn-links">
          <line v-for="(l, k) in geo.links" :key="'l' + k" :x1="l.x1" :y1="l.y1"
                :x2="l.x2" :y2="l.y2" :class="l.sea ? 'tn-link tn-sea' : 'tn-link'"/>
        </g>
        <g v-if="show_circles && geo.circles.length" class="tn-circles">
          <circle v-for="c in geo.circles" :key="'c' + c.i" :cx="c.x" :cy="c.y" :r="c.r"
                  class="tn-pop"/>
        </g>
        <g v-if="geo.nodes.length" class="tn-nodes">
          <circle v-for="n in geo.nodes" :key="'n' + n.code" :cx="n.x" :cy="n.y" :r="n.r"
                  :fill="fills[n.i]" :data-territory="n.code"
                  :class="['tn-node', {'tn-sel': selected.indexOf(n.code) >= 0,
                           'tn-hov': hover === n.i}]"
                  @mouseenter="hover = n.i" @click="pick(n.i, n.code)">
            <title>{{ names[n.i] }}</title>
          </circle>
        </g>
        <g v-if="show_labels" class="tn-labels">
          <text v-for="l in geo.labels" :key="'t' + l.i" :x="l.x" :y="l.y"
                :font-size="l.size" text-anchor="middle" dominant-baseline="central"
                :data-label="l.text" class="tn-label"><tspan v-for="(ln, j) in l.lines"
                :key="j" :x="l.x" :dy="(j === 0 ? -(l.lines.length - 1) * 0.55 : 1.1) + 'em'"
                >{{ ln }}</tspan></text>
        </g>
        <g v-if="geo.inset" class="tn-inset">
          <rect :x="geo.inset.mark.x" :y="geo.inset.mark.y" :width="geo.inset.mark.w"
                :height="geo.inset.mark.h" class="tn-inset-mark"/>
          <rect :x="geo.inset.x" :y="geo.inset.y" :width="geo.inset.w" :height="geo.inset.h"
                class="tn-inset-frame"/>
          <path v-for="s in geo.inset.shapes" :key="'i' + s.code" :d="s.d" :fill="fills[s.i]"
                :data-inset="s.code"
                :class="['tn-shape', {'tn-sel': selected.indexOf(s.code) >= 0,
                         'tn-hov': hover === s.i}]"
                @mouseenter="hover = s.i" @click="pick(s.i, s.code)">
            <title>{{ names[s.i] }}</title>
          </path>
          <text v-for="l in (show_labels ? geo.inset.labels : [])" :key="'il' + l.i"
                :x="l.x" :y="l.y"
                :font-size="l.size" text-anchor="middle" dominant-baseline="central"
                :data-label="l.text" class="tn-label"><tspan v-for="(ln, j) in l.lines"
                :key="j" :x="l.x" :dy="(j === 0 ? -(l.lines.length - 1) * 0.55 : 1.1) + 'em'"
                >{{ ln }}</tspan></text>
          <text :x="geo.inset.x + 4" :y="geo.inset.y + geo.inset.h + 16" font-size="14"
                class="tn-inset-caption">{{ inset_label }}</text>
        </g>
      </svg>
      <div v-if="shown >= 0 && rows[shown]" class="tn-hover-box">
        <div class="tn-hover-title">{{ names[shown] }}</div>
        <table>
          <tr v-for="(r, k) in rows[shown]" :key="k" :class="k === 2 ? 'tn-hover-main' : ''">
            <td>{{ row_labels[k] }}</td><td class="tn-num">{{ r }}</td>
          </tr>
        </table>
      </div>
      <div v-if="legend.note" class="tn-map-note">{{ legend.note }}</div>
    </div>
    <div class="tn-legend-bar">
      <span class="tn-legend-end">{{ legend.lo }}</span>
      <span class="tn-legend-gradient"
            :style="{background: 'linear-gradient(to right, ' + legend.stops.join(', ') + ')'}">
        <span v-if="legend.mid" class="tn-legend-mid">{{ legend.mid }}</span>
      </span>
      <span class="tn-legend-end">{{ legend.hi }}</span>
    </div>
    <div class="tn-legend-words"><span>← {{ legend.left }}</span>
      <span>{{ legend.right }} →</span></div>
    <div class="tn-map-foot">{{ hint }} <span class="tn-attrib">{{ attribution }}</span></div>
  </div>
</template>
<script>
module.exports = {
  data: function () { return { hover: -1, pinned: -1 }; },
  methods: {
    pick: function (i, code) { this.pinned = (this.pinned === i) ? -1 : i; this.select(code); },
  },
  computed: {
    shown: function () { return this.hover >= 0 ? this.hover : this.pinned; },
    geo: function () { return JSON.parse(this.geo_json); },
    names: function () { return JSON.parse(this.names_json); },
    rows: function () { return JSON.parse(this.rows_json); },
  },
};
</script>
"""


class MapWidget(ipyvue.VueTemplate):
    """SVG map of the territories: colours per territory, hover figures, click to select."""

    template = traitlets.Unicode(MAP_TEMPLATE).tag(sync=True)
    # Big data travels as JSON text: reacton then compares one string instead of walking
    # thousands of nested values at every render.
    geo_json = traitlets.Unicode("{}").tag(sync=True)
    fills = traitlets.List().tag(sync=True)
    names_json = traitlets.Unicode("[]").tag(sync=True)
    row_labels = traitlets.List().tag(sync=True)
    rows_json = traitlets.Unicode("[]").tag(sync=True)
    selected = traitlets.List().tag(sync=True)
    legend = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    run = traitlets.Unicode("live").tag(sync=True)
    measure = traitlets.Unicode("").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    show_links = traitlets.Bool(True).tag(sync=True)
    show_circles = traitlets.Bool(True).tag(sync=True)
    show_labels = traitlets.Bool(True).tag(sync=True)
    inset_label = traitlets.Unicode("").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    attribution = traitlets.Unicode("").tag(sync=True)
    select_callback = traitlets.Any(None)

    def vue_select(self, code: str) -> None:
        """Called by the template when a territory is clicked."""
        if self.select_callback is not None:
            self.select_callback(str(code))


KEY_TEMPLATE = r"""
<template><span class="tn-keys" style="display: none"></span></template>
<script>
module.exports = {
  mounted: function () {
    var self = this;
    this._onkey = function (e) {
      var el = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' ||
                 el.tagName === 'SELECT' || el.isContentEditable)) return;
      if (e.key === 'p' || e.key === 'P') { self.toggle(); }
      else if (e.key === 'Escape') { self.leave(); }
    };
    document.addEventListener('keydown', this._onkey);
  },
  beforeDestroy: function () { document.removeEventListener('keydown', this._onkey); },
};
</script>
"""


UPLOAD_TEMPLATE = r"""
<template>
  <label class="tn-upload v-btn v-btn--outlined theme--light v-size--default primary--text">
    <input type="file" accept=".json,.toml,application/json" class="tn-upload-input"
           style="display: none" @change="read"/>
    <span class="v-btn__content">{{ label }}</span>
  </label>
</template>
<script>
module.exports = {
  methods: {
    read: function (ev) {
      var f = ev.target.files[0];
      if (!f) { return; }
      var me = this;
      var r = new FileReader();
      r.onload = function () { me.upload({name: f.name, text: r.result}); ev.target.value = ""; };
      r.readAsText(f);
    },
  },
};
</script>
"""


class KeyWidget(ipyvue.VueTemplate):
    """Keyboard shortcuts of the page: P toggles presentation mode, Escape leaves it.

    Keys typed in a form field are ignored.
    """

    template = traitlets.Unicode(KEY_TEMPLATE).tag(sync=True)
    on_toggle = traitlets.Any(None)
    on_leave = traitlets.Any(None)

    def vue_toggle(self, data: Any = None) -> None:
        """Called by the template on the P key."""
        if self.on_toggle is not None:
            self.on_toggle()

    def vue_leave(self, data: Any = None) -> None:
        """Called by the template on the Escape key."""
        if self.on_leave is not None:
            self.on_leave()


class UploadWidget(ipyvue.VueTemplate):
    """A button that reads a file chosen on the participant's computer as text."""

    template = traitlets.Unicode(UPLOAD_TEMPLATE).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    upload_callback = traitlets.Any(None)

    def vue_upload(self, data: dict[str, str]) -> None:
        """Called by the template with the file's name and text."""
        if self.upload_callback is not None:
            self.upload_callback(str(data.get("name", "")), str(data.get("text", "")))


LOG_TEMPLATE = r"""
<template>
  <div class="tn-log" :data-step="step">
    <div v-for="r in rows" :key="r.index" :data-log-kind="r.kind" :data-log-step="r.step"
         :data-log-index="r.index" :title="r.back ? hint : ''"
         :class="['tn-log-row', {'tn-log-back': r.back}]" @click="r.back && go(r.index)">
      <span class="tn-log-month">{{ r.month }}</span><span>{{ r.text }}</span>
      <span class="tn-log-status">{{ r.status }}</span>
    </div>
  </div>
</template>
"""


class LogWidget(ipyvue.VueTemplate):
    """The log of choices; a click on a decision goes back to it."""

    template = traitlets.Unicode(LOG_TEMPLATE).tag(sync=True)
    rows = traitlets.List().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    go_callback = traitlets.Any(None)

    def vue_go(self, index: int) -> None:
        """Called by the template when a decision row is clicked."""
        if self.go_callback is not None:
            self.go_callback(int(index))


# ------------------------------------------------------------------------------- styles
CSS = """
.tn-root { font-size: 16px; color: #1b1b1b; }
.v-sheet.tn-header { background: #123b6d; color: white; padding: 10px 20px; align-items: center;
             gap: 18px; flex-wrap: wrap; }
.v-sheet.tn-header .v-sheet { background: transparent !important; color: white; }
.tn-header .tn-title { font-size: 26px; font-weight: 700; letter-spacing: .3px; }
.tn-header .tn-subtitle { font-size: 16px; opacity: .9; max-width: 720px; }
.tn-header .v-btn { font-weight: 700; }
.tn-lang .v-btn { font-size: 16px !important; font-weight: 700; }
.tn-counter { font-size: 24px; font-weight: 700; background: white; color: #123b6d;
              border-radius: 8px; padding: 4px 14px; white-space: nowrap; }
.v-sheet.tn-side { width: 370px; min-width: 370px; max-width: 370px; padding: 10px 12px;
           background: #f4f6f9; border-right: 1px solid #dde3ea; }
.tn-main { flex: 1 1 auto; min-width: 0; padding: 10px 16px; }
.tn-card { background: white; border: 1px solid #dde3ea; border-radius: 10px;
           padding: 10px 12px; margin-bottom: 12px; }
.tn-room-join { display: flex; gap: 10px; align-items: center; margin: 4px 0 8px; }
.tn-room-qr svg { display: block; }
.tn-room-url { font-size: 15px; font-weight: 600; word-break: break-all; }
.tn-room-q { font-size: 16px; font-weight: 600; margin: 4px 0; }
.tn-room-count { position: relative; display: flex; justify-content: space-between;
  padding: 3px 6px; margin: 3px 0; background: #eef2f8; border-radius: 4px; overflow: hidden; }
.tn-room-count span, .tn-room-count b { position: relative; z-index: 1; }
.tn-room-count i { position: absolute; left: 0; top: 0; bottom: 0; background: #c9d6ea; }
.tn-room-result { font-weight: 600; margin: 4px 0; }
.tn-room .v-btn { text-transform: none !important; letter-spacing: 0 !important;
  height: auto !important; min-height: 36px; }
.tn-room .v-btn__content { white-space: normal; flex: 1 1 auto; }
.tn-card h3 { font-size: 18px; margin: 0 0 6px 0; color: #123b6d; }
.tn-help { font-size: 13.5px; color: #4a5563; margin-bottom: 6px; }
.tn-controls .v-btn { min-width: 44px !important; }
.tn-maps { gap: 14px; align-items: flex-start; flex-wrap: nowrap; }
.tn-map-wrap { flex: 1 1 0; min-width: 0; position: relative; }
.tn-map-head { display: flex; justify-content: space-between; align-items: baseline;
               gap: 10px; }
.tn-map-title { font-size: 20px; font-weight: 700; color: #123b6d; }
.tn-map-measure { font-size: 17px; font-weight: 600; }
.tn-map-box { position: relative; }
.tn-map { width: 100%; height: auto; max-height: 74vh; display: block; }
.tn-shape { stroke: white; stroke-width: 0.8; cursor: pointer; }
.tn-shape.tn-hov { stroke: #111; stroke-width: 2.2; }
.tn-shape.tn-sel { stroke: #ff1744; stroke-width: 3; }
.tn-node { stroke: #333; stroke-width: 1.2; cursor: pointer; }
.tn-node.tn-hov { stroke-width: 3; }
.tn-node.tn-sel { stroke: #ff1744; stroke-width: 4; }
.tn-link { stroke: #37474f; stroke-width: 1; opacity: .45; pointer-events: none; }
.tn-sea { stroke-dasharray: 5 4; }
.tn-pop { fill: none; stroke: #263238; stroke-width: 1.1; opacity: .45; pointer-events: none; }
.tn-label { fill: #111; stroke: white; stroke-width: 3px; paint-order: stroke;
            font-weight: 600; pointer-events: none; }
.tn-inset-frame { fill: #f7fbff; stroke: #123b6d; stroke-width: 1.2; }
.tn-inset-mark { fill: none; stroke: #123b6d; stroke-width: 1.2; stroke-dasharray: 3 2; }
.tn-inset-caption { fill: #123b6d; font-weight: 600; }
.tn-hover-box { position: absolute; bottom: 4px; left: 4px; background: rgba(255,255,255,.96);
                border: 1px solid #9aa7b5; border-radius: 8px; padding: 8px 10px;
                font-size: 15px; box-shadow: 0 2px 8px rgba(0,0,0,.15); min-width: 250px;
                pointer-events: none; }
.tn-hover-title { font-weight: 700; font-size: 17px; margin-bottom: 4px; }
.tn-hover-box td { padding: 1px 6px 1px 0; }
.tn-hover-main td { font-weight: 700; font-size: 16px; }
.tn-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tn-map-note { position: absolute; top: 8px; left: 50%; transform: translateX(-50%);
               background: #fff8e1; border: 1px solid #ffcc80; padding: 4px 10px;
               border-radius: 6px; }
.tn-legend-bar { display: flex; align-items: center; gap: 8px; margin-top: 4px;
                 font-size: 15px; font-weight: 600; }
.tn-legend-gradient { flex: 1; height: 16px; border-radius: 4px; position: relative;
                      border: 1px solid #bbb; }
.tn-legend-mid { position: absolute; left: 50%; top: 16px; transform: translateX(-50%);
                 font-size: 13px; }
.tn-legend-words { display: flex; justify-content: space-between; font-size: 13px;
                   color: #4a5563; margin: 2px 60px 0 60px; }
.tn-map-foot { font-size: 12.5px; color: #5b6573; margin-top: 2px; }
.tn-attrib { float: right; font-size: 11px; color: #7b8593; }
.tn-charts-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
.tn-charts-grid.tn-wide { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.tn-chart-cell { background: white; border: 1px solid #e1e6ec; border-radius: 8px;
                 padding: 2px 4px; }
.tn-chart-title { font-size: 16px; font-weight: 700; fill: #123b6d; }
.tn-chart-now { font-size: 16px; font-weight: 700; fill: #1d5fbf; }
.tn-tick { font-size: 12.5px; fill: #444; }
.tn-axis { font-size: 11px; fill: #666; }
.tn-legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 14px; margin: 4px 0; }
.tn-legend-item { display: inline-flex; align-items: center; gap: 5px; }
.tn-figures { border-collapse: collapse; width: 100%; font-size: 15px; }
.tn-figures th { text-align: right; padding: 3px 8px; color: #123b6d;
                 border-bottom: 2px solid #123b6d; }
.tn-figures th:first-child { text-align: left; }
.tn-figures td { padding: 3px 8px; border-bottom: 1px solid #eef1f4; }
.tn-diff { font-weight: 700; }
.tn-log { max-height: 260px; overflow-y: auto; font-size: 14.5px; }
.tn-log-row { display: flex; gap: 10px; padding: 3px 0; border-bottom: 1px solid #eef1f4; }
.tn-log-month { min-width: 74px; font-weight: 700; color: #123b6d; }
.tn-log-back { cursor: pointer; }
.tn-log-back:hover { background: #e3f2fd; }
.tn-upload { cursor: pointer; }
.tn-log-status { color: #2e7d32; white-space: nowrap; margin-left: auto; padding-left: 8px; }
.tn-message { font-size: 14px; padding: 6px 10px; border-radius: 6px; margin-top: 6px; }
.tn-message.tn-error { background: #ffebee; color: #b71c1c; }
.tn-message.tn-ok { background: #e8f5e9; color: #1b5e20; }
.tn-field-label { font-size: 14.5px; font-weight: 600; margin-top: 4px; }
.tn-field-unit { font-weight: 400; color: #5b6573; }
.tn-row-tight { gap: 6px; align-items: center; flex-wrap: wrap; }
.tn-side .v-input--checkbox, .tn-side .v-input--switch { margin-top: 2px; padding-top: 0; }
.tn-side .v-input--checkbox .v-messages, .tn-side .v-input--switch .v-messages { display: none; }
.tn-desc { font-size: 14px; color: #37474f; }
.v-btn.tn-preset { text-transform: none !important; letter-spacing: 0 !important;
                   height: auto !important; min-height: 28px; padding: 3px 6px !important;
                   justify-content: flex-start; white-space: normal; font-size: 14px; }
.v-btn.tn-preset .v-btn__content { white-space: normal; text-align: left; flex: 1 1 auto;
                                   justify-content: flex-start; }
.tn-date { font-size: 18px; font-weight: 600; opacity: .95; white-space: nowrap; }
.tn-header a.tn-present-tab { color: white; font-size: 15px; text-decoration: underline; }
.tn-ba-maps { gap: 10px; align-items: flex-start; flex-wrap: nowrap; }
.tn-ba-text { font-size: 16px; line-height: 1.4; }
.tn-ba-text p { margin: 4px 0; }
.tn-ba-rule { font-size: 13.5px; color: #4a5563; }
/* presentation mode: 1280 x 720 and larger, every text >= 18 px, nothing scrolls */
.tn-present { height: 100vh; width: 100vw; overflow: hidden; display: flex;
              flex-direction: column; font-size: 20px; background: white; color: #1b1b1b;
              box-sizing: border-box; padding: 0 18px 6px 18px; }
.tn-present-top { display: flex; align-items: center; gap: 18px; padding: 8px 0 4px 0;
                  border-bottom: 3px solid #123b6d; flex: 0 0 auto; }
.tn-present-title { font-size: 26px; font-weight: 700; color: #123b6d; flex: 1 1 auto;
                    min-width: 0; white-space: nowrap; overflow: hidden;
                    text-overflow: ellipsis; }
.tn-present-date { font-size: 34px; font-weight: 800; color: #123b6d; white-space: nowrap; }
.tn-present-month { font-size: 20px; color: #37474f; white-space: nowrap; }
.tn-present .v-btn { font-size: 18px !important; text-transform: none !important;
                     letter-spacing: 0 !important; }
.tn-present-body { flex: 1 1 auto; min-height: 0; display: flex; gap: 20px;
                   padding-top: 6px; }
.tn-present-mapcol { flex: 1 1 auto; min-width: 0; display: flex; flex-direction: column; }
.tn-present-mapcol .tn-maps, .tn-present-mapcol .tn-ba-maps { flex: 1 1 auto; min-height: 0; }
.tn-present-charts { flex: 0 0 480px; width: 480px; display: flex; flex-direction: column;
                     gap: 6px; min-height: 0; }
.tn-present-charts .tn-chart-cell { border: none; padding: 0; }
.tn-present-room { border: 2px solid #24406b; border-radius: 10px; padding: 8px 10px;
  font-size: 18px; }
.tn-present-room-join { display: flex; align-items: center; gap: 10px; font-weight: 700;
  word-break: break-all; }
.tn-present-room-q { font-weight: 700; margin: 4px 0; }
.tn-present-room-count { display: flex; justify-content: space-between; }
.tn-present-room-result { font-weight: 600; margin-top: 4px; }
.tn-present-mapcol > .tn-maps, .tn-present-mapcol > .tn-ba-maps {
    align-items: stretch !important; }
.tn-present .tn-map-wrap { display: flex; flex-direction: column; min-height: 0; }
.tn-present .tn-map-box { flex: 1 1 0; min-height: 0; display: flex;
                          flex-direction: column; }
.tn-present .tn-map { flex: 1 1 0; min-height: 0; width: 100%; height: auto;
                      max-height: none; }
.tn-present .tn-map-note { flex: 0 0 auto; align-self: flex-start; }
.tn-present .tn-map-title { font-size: 22px; }
.tn-present .tn-map-measure { font-size: 20px; }
.tn-present .tn-map-head { flex-wrap: wrap; }
.tn-present .tn-ba-maps .tn-map-head { flex-direction: column; gap: 0; min-height: 84px; }
.tn-present .tn-ba-maps .tn-map-measure { font-size: 18px; }
.tn-present .tn-legend-bar, .tn-present .tn-legend-words, .tn-present .tn-legend-mid,
.tn-present .tn-map-note, .tn-present .tn-hover-box, .tn-present .tn-hover-title,
.tn-present .tn-hover-main td, .tn-present .tn-legend { font-size: 18px; }
.tn-present .tn-legend-gradient { height: 20px; }
.tn-present .tn-legend-mid { display: none; }
.tn-present .tn-legend-words { margin: 0; }
.tn-present .tn-map-note { position: static; transform: none; display: inline-block;
                           margin-top: 4px; }
.tn-present .tn-map-foot, .tn-present .tn-inset-caption { display: none; }
.tn-present .tn-chart-title, .tn-present .tn-chart-now { font-size: 20px; }
.tn-present .tn-tick, .tn-present .tn-axis { font-size: 18px; }
.tn-present .tn-legend { margin: 0; gap: 14px; }
.tn-present-text { font-size: 19px; line-height: 1.3; margin-top: 4px; color: #1b1b1b;
                   flex: 0 0 auto; }
.tn-present-text p { margin: 2px 0; }
.tn-present-foot { font-size: 18px; color: #5b6573; flex: 0 0 auto; white-space: nowrap;
                   overflow: hidden; text-overflow: ellipsis; }
.tn-present-gone { font-size: 24px; padding: 40px; }
"""


# ------------------------------------------------------------------------------- helpers
def _env_lang() -> str:
    lang = os.environ.get(ENV_LANG, i18n.DEFAULT_LANG)
    return lang if lang in i18n.LANGS else i18n.DEFAULT_LANG


def _new_session() -> tuple[st.Session | None, str]:
    """A session from the server's settings (environment set by ``terrinum dashboard``)."""
    try:
        if os.environ.get(ENV_WORKSHOP):  # terrinum dashboard --workshop FILE
            return ws.load_workshop(os.environ[ENV_WORKSHOP])[0], ""
        hh = os.environ.get(ENV_HOUSEHOLDS)
        seed = os.environ.get(ENV_SEED)
        return st.Session(scenario=os.environ.get(ENV_SCENARIO, st.DEFAULT_SCENARIO),
                          households=int(hh) if hh else None,
                          seed=int(seed) if seed else None,
                          map_name=os.environ.get(ENV_MAP) or None), ""
    except Exception as exc:  # shown in the page instead of a blank screen
        traceback.print_exc()
        return None, f"{type(exc).__name__}: {exc}"


def _error_text(exc: Exception) -> str:
    if hasattr(exc, "errors"):
        try:
            errs = exc.errors()
            return "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}"
                             for e in errs)
        except Exception:
            pass
    return str(exc)


def Message(msg: tuple[Any, str], lang: str = i18n.DEFAULT_LANG) -> None:
    """A feedback line under a form (ok or error).

    The text may be a function of the language: the message is then re-rendered in the new
    language after a switch, instead of staying in the one it was written in.
    """
    text, kind = msg
    if callable(text):
        text = text(lang)
    if text:
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(text),
                    classes=["tn-message", "tn-error" if kind == "error" else "tn-ok"])


def FieldLabel(label: str, unit: str, extra: str = "") -> None:
    """A form label with its unit and range."""
    bits = f"{ch._esc(label)}"
    tail = ", ".join(x for x in (unit, extra) if x)
    if tail:
        bits += f' <span class="tn-field-unit">({ch._esc(tail)})</span>'
    solara.HTML(tag="div", unsafe_innerHTML=bits, classes=["tn-field-label"])


# ------------------------------------------------------------------------------- components
@solara.component
def NumberField(spec: lv.FieldSpec, value: Any, on_value: Callable[[Any], None], label: str,
                unit: str, lang: str, classes: list[str] | None = None) -> None:
    """A slider plus a number box for a numeric lever field (range from its declaration).

    Both show the value in the field's display units (:meth:`lv.FieldSpec.shown`: a share as
    a percentage, 3 for 0.03) and give ``on_value`` the model value. The box shows it in the
    page's language ("0,7" in French) and reads either style
    (:func:`simulation.dashboard.i18n.parse_number`); a field with a display unit has a
    readout next to it ("2,5 %", "−50 %").
    """
    lo, hi = spec.shown_lo, spec.shown_hi
    shown = spec.shown(value)
    rng = t("range", lang, lo=i18n.fmt_lever(lo, "", lang, spec.signed),
            hi=i18n.fmt_lever(hi, "", lang, spec.signed))
    error = solara.use_reactive(False)
    FieldLabel(label, unit, rng)

    def typed(text: str | None) -> None:
        try:
            v = i18n.parse_number(text or "")
        except ValueError:
            error.set(True)
            return
        error.set(False)
        on_value(spec.from_shown(v))

    with solara.Row(classes=["tn-row-tight"]):
        if spec.slider:
            rv.Slider(v_model=shown, min=lo, max=hi, step=spec.shown_step, hide_details=True,
                      on_v_model=lambda v: on_value(spec.from_shown(spec.snap(float(v)))),
                      style_="flex: 1 1 auto", class_=" ".join(classes or []))
        solara.InputText("", value="" if shown is None else i18n.fmt_plain(shown, lang),
                         on_value=typed, style={"max-width": "120px"},
                         continuous_update=False, classes=["tn-number"],
                         error=t("not_a_number", lang) if error.value else False)
        if spec.unit and value is not None:
            solara.HTML(tag="span", unsafe_innerHTML=ch._esc(spec.readout(value, lang)),
                        classes=["tn-readout"], style="white-space: nowrap")


@solara.component
def PolicyFields(ptype: str, values: dict[str, Any], set_values: Callable[[dict], None],
                 lang: str) -> None:
    """Widgets of one policy type, generated from its declared fields."""
    spec = lv.policy_specs()[ptype]

    def setter(name: str) -> Callable[[Any], None]:
        def set_one(v: Any) -> None:
            set_values({**values, name: v})
        return set_one

    for f in spec.fields:
        label, unit = i18n.field_label(ptype, f.name, lang)
        val = values.get(f.name, f.default)
        if f.kind in ("float", "int"):
            NumberField(f, val, setter(f.name), label, unit, lang,
                        classes=[f"tn-field-{f.name}"])
            if f.presets:  # quick choices of a relative change: close all / half, double
                with solara.Row(classes=["tn-row-tight", "tn-quick-row"]):
                    for key, mv in f.presets:
                        solara.Button(i18n.quick_label(ptype, key, lang),
                                      on_click=lambda f=f, mv=mv: setter(f.name)(mv),
                                      small=True, outlined=val != mv, depressed=val == mv,
                                      color="primary",
                                      classes=["tn-quick", f"tn-quick-{key}"])
        elif f.kind == "optional":
            on = val is not None
            with solara.Row(classes=["tn-row-tight"]):
                solara.Switch(label=f"{label} — {t('set_value', lang)}", value=on,
                              on_value=lambda v, f=f: setter(f.name)(
                                  (f.lo + f.hi) / 4 if v else None))
            if on:
                NumberField(f, val, setter(f.name), label, unit, lang)
        elif f.kind == "bool":
            solara.Switch(label=label, value=bool(val), on_value=setter(f.name))
        elif f.kind == "choice":
            rv.Select(label=label, v_model=val, on_v_model=setter(f.name), dense=True,
                      hide_details=True, class_="mt-2",
                      items=[{"text": i18n.choice_label(c, lang), "value": c}
                             for c in f.choices])
        elif f.kind == "multi":
            FieldLabel(label, unit)
            with solara.Row(classes=["tn-row-tight"]):
                for c in f.choices:
                    cur = list(val or [])
                    solara.Checkbox(
                        label=i18n.choice_label(c, lang), value=c in cur,
                        on_value=lambda on, c=c, cur=cur, f=f: setter(f.name)(
                            [x for x in f.choices if (x in cur and x != c) or (x == c and on)]))


@solara.component
def WhereFields(session: st.Session, where_mode: solara.Reactive[str],
                where_values: solara.Reactive[list[str]], selected: solara.Reactive[list[str]],
                lang: str) -> None:
    """Territory selection of a lever: all, by kind, by region, or chosen on the map."""
    tm = session.tmap
    modes = [("all", t("where_all", lang)), ("kinds", t("where_kinds", lang)),
             ("codes", t("where_codes", lang))]
    regions = sorted({r for r in tm.region if r})
    if regions and tm.n > len(regions):
        modes.insert(2, ("regions", t("where_regions", lang)))
    rv.Select(label=t("where", lang), v_model=where_mode.value, dense=True, hide_details=True,
              on_v_model=where_mode.set, items=[{"text": b, "value": a} for a, b in modes],
              class_="mt-2 tn-where")
    if where_mode.value == "kinds":
        present = {vw.KINDS[int(k)] for k in set(tm.kind.tolist())}
        with solara.Row(classes=["tn-row-tight"]):
            for k in vw.KINDS:
                if k not in present:
                    continue
                cur = list(where_values.value)
                solara.Checkbox(label=i18n.kind_label(k, lang), value=k in cur,
                                on_value=lambda on, k=k, cur=cur: where_values.set(
                                    [x for x in vw.KINDS if (x in cur and x != k)
                                     or (x == k and on)]))
    elif where_mode.value == "regions":
        rn = st.region_names()
        rv.Autocomplete(label=t("where_regions", lang), v_model=list(where_values.value),
                        multiple=True, chips=True, small_chips=True, deletable_chips=True,
                        dense=True, hide_details=True, on_v_model=where_values.set,
                        items=[{"text": rn.get(r, r), "value": r} for r in regions])
    elif where_mode.value == "codes":
        rv.Autocomplete(label=t("selected", lang), v_model=list(selected.value), multiple=True,
                        chips=True, small_chips=True, deletable_chips=True, dense=True,
                        hide_details=True, on_v_model=selected.set, class_="tn-codes",
                        items=[{"text": f"{n} ({c})", "value": c}
                               for c, n in zip(tm.codes, tm.names, strict=True)])


def _bump(version: solara.Reactive[int]) -> None:
    """Tell the components that show the run that it changed."""
    version.set(version.value + 1)


@solara.component
def LeverPanel(session: st.Session, lang: str, map_key: str,
               selected: solara.Reactive[list[str]], version: solara.Reactive[int]) -> None:
    """Policy levers: type, fields, territories, "apply now"; plus examples.

    It does not read ``version``: the form is not re-rendered at every step.
    """
    ptype = solara.use_reactive("tiers_lieux")
    values = solara.use_reactive(lv.policy_specs()["tiers_lieux"].defaults())
    where_mode = solara.use_reactive("codes")
    where_values = solara.use_reactive(cast_list([]))
    msg = solara.use_reactive(("", ""))
    spec = lv.policy_specs()[ptype.value]

    def choose_type(v: str) -> None:
        ptype.set(v)
        values.set(lv.policy_specs()[v].defaults())
        msg.set(("", ""))

    def load_preset(key: str) -> None:
        p = dict(st.presets(session.tmap)[key])
        ptype.set(p["type"])
        vals = lv.policy_specs()[p["type"]].defaults()
        vals.update({k: v for k, v in p.items() if k in vals})
        values.set(vals)
        w = st.preset_where(p)
        where_mode.set(w.mode)
        if w.mode == "codes":
            selected.set(list(w.values))
        else:
            where_values.set(list(w.values))
        msg.set(("", ""))

    def apply() -> None:
        try:
            pol: dict[str, Any] = {"type": ptype.value}
            for f in spec.fields:
                v = f.check(values.value.get(f.name, f.default))
                if v is not None:
                    pol[f.name] = v
            if spec.map_wide:
                pol["territories"] = "all"
            else:
                vals = selected.value if where_mode.value == "codes" else where_values.value
                pol["territories"] = st.Where(where_mode.value, tuple(vals)).to_policy()
            choice = session.pull(pol)
            msg.set((lambda L, c=choice: f"{t('log_month', L, step=c.step)} · "
                     f"{st.describe_policy(c.policy, session.tmap, L)}", "ok"))
            _bump(version)
        except st.LeverConflictError as exc:  # a scenario policy holds that control
            msg.set((exc.message, "error"))  # re-rendered in the page's language
        except lv.LeverError as exc:
            if "territor" in str(exc):
                msg.set((lambda L: t("nothing_selected", L), "error"))
            else:
                msg.set((str(exc), "error"))
        except Exception as exc:
            msg.set((_error_text(exc), "error"))

    with solara.Div(classes=["tn-card", "tn-levers"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("levers", lang)))
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("levers_help", lang)),
                    classes=["tn-help"])
        presets = st.presets(session.tmap)
        with solara.Column(gap="2px"):
            for key in presets:
                solara.Button(i18n.preset_label(key, lang), on_click=lambda k=key: load_preset(k),
                              text=True, small=True, color="primary",
                              classes=["tn-preset", f"tn-preset-{key}"],
                              icon_name="mdi-lightbulb-on-outline")
        rv.Select(label=t("policy_type", lang), v_model=ptype.value, on_v_model=choose_type,
                  dense=True, hide_details=True, class_="mt-3 tn-policy-type",
                  items=[{"text": i18n.policy_label(k, lang), "value": k}
                         for k in lv.policy_specs()])
        PolicyFields(ptype.value, values.value, values.set, lang)
        if spec.map_wide:
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("map_wide", lang)),
                        classes=["tn-help", "mt-2"])
        else:
            WhereFields(session, where_mode, where_values, selected, lang)
        solara.Button(t("apply_now", lang), on_click=apply, color="primary", block=True,
                      classes=["tn-apply", "mt-3"], icon_name="mdi-lightning-bolt")
        Message(msg.value, lang)


def cast_list(x: list[str]) -> list[str]:
    """Typed list for reactive state."""
    return list(x)


@solara.component
def SettingsPanel(session: st.Session, lang: str, version: solara.Reactive[int]) -> None:
    """Map-wide settings generated from the parameters of groups lever and uncertainty."""
    version.value  # noqa: B018  (re-render when the run changes: current value, month 0)
    levers = lv.param_levers()
    name = solara.use_reactive(levers[0].name)
    pending = solara.use_reactive(None)
    msg = solara.use_reactive(("", ""))
    pl = next(x for x in levers if x.name == name.value)
    p = pl.param
    current = session.live.model.p[p.name]
    value = current if pending.value is None else pending.value
    allowed = session.steps == 0 or pl.mid_run

    def choose(v: str) -> None:
        name.set(v)
        pending.set(None)
        msg.set(("", ""))

    def apply() -> None:
        try:
            session.set_param(p.name, value)
            pending.set(None)
            msg.set((lambda L, v=value: f"{i18n.param_label(p.name, L)} → "
                     f"{i18n.fmt_plain(v, L)}", "ok"))
            _bump(version)
        except st.LeverConflictError as exc:  # a scenario policy holds that setting
            msg.set((exc.message, "error"))  # re-rendered in the page's language
        except Exception as exc:
            msg.set((_error_text(exc), "error"))

    with solara.Div(classes=["tn-card", "tn-settings"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("map_settings", lang)))
        rv.Select(label=t("setting", lang), v_model=name.value, on_v_model=choose, dense=True,
                  hide_details=True, class_="tn-setting-name",
                  items=[{"text": i18n.param_label(x.name, lang)
                          + ("" if x.mid_run else " *"), "value": x.name} for x in levers])
        unit = i18n.unit_label(p.unit, lang)
        solara.HTML(tag="div", classes=["tn-help", "mt-1"], unsafe_innerHTML=ch._esc(
            t("current_value", lang, value=f"{i18n.fmt_plain(current, lang)} {unit}".strip())))
        if p.kind == "bool":
            solara.Switch(label=i18n.param_label(p.name, lang), value=bool(value),
                          on_value=pending.set, disabled=not allowed)
        else:
            spec = lv.FieldSpec(p.name, "int" if p.kind == "int" else "float", lo=p.lo, hi=p.hi,
                                step=pl.step, default=current, slider=True)
            NumberField(spec, value, pending.set, i18n.param_label(p.name, lang), unit, lang,
                        classes=["tn-setting-slider"])
        if not allowed or not pl.mid_run:
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc("* " + t("month0_only", lang)),
                        classes=["tn-help"])
        solara.Button(t("apply_now", lang), on_click=apply, disabled=not allowed,
                      color="primary", outlined=True, block=True, classes=["tn-apply-setting"])
        Message(msg.value, lang)


@solara.component
def BranchPanel(session: st.Session, lang: str, version: solara.Reactive[int],
                busy: solara.Reactive[bool]) -> None:
    """Save branches, pick the one compared side by side, go back to a branch's start."""
    version.value  # noqa: B018  (re-render when branches change)
    msg = solara.use_reactive(("", ""))
    name = solara.use_reactive("")

    def save() -> None:
        try:
            br = session.save_branch(name.value or None)
            name.set("")
            msg.set((t("log_branch_saved", lang, name=br.name), "ok"))
            _bump(version)
        except Exception as exc:
            msg.set((_error_text(exc), "error"))

    def compare(v: Any) -> None:
        session.set_compare(None if v in (None, "none") else int(v))
        _bump(version)

    def back(i: int) -> None:
        busy.set(True)
        try:
            session.back_to(i)
            msg.set((t("log_branch_back", lang, name=session.branches[i].name), "ok"))
        except Exception as exc:
            msg.set((_error_text(exc), "error"))
        busy.set(False)
        _bump(version)

    with solara.Div(classes=["tn-card", "tn-branches"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("branches", lang)))
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("branches_help", lang)),
                    classes=["tn-help"])
        solara.InputText(t("branch_name", lang), value=name, continuous_update=True,
                         classes=["tn-branch-name"])
        solara.Button(t("save_branch", lang), on_click=save, color="primary", outlined=True,
                      block=True, icon_name="mdi-source-branch", classes=["tn-save-branch"],
                      disabled=len(session.branches) >= st.MAX_BRANCHES)
        if session.branches:
            items = [{"text": t("compare_none", lang), "value": "none"}] + [
                {"text": f"{t('branch_title', lang, name=b.name)} "
                         f"({t('branch_from', lang, step=b.fork_step)})", "value": str(i)}
                for i, b in enumerate(session.branches)]
            rv.Select(label=t("compare_with", lang), items=items, dense=True,
                      hide_details=True, class_="mt-3 tn-compare",
                      v_model="none" if session.compare is None else str(session.compare),
                      on_v_model=compare)
            for i, b in enumerate(session.branches):
                with solara.Row(classes=["tn-row-tight", "mt-1"]):
                    solara.Text(f"{t('branch_title', lang, name=b.name)} · "
                                f"{t('branch_from', lang, step=b.fork_step)}")
                    solara.Button(t("back_to_fork", lang), on_click=lambda i=i: back(i),
                                  small=True, text=True, color="primary",
                                  classes=[f"tn-back-{i}", f"tn-back-{_slug(b.name)}"],
                                  disabled=busy.value)
        Message(msg.value)


def room_url() -> str:
    """The participants' address (printed at start; this computer's when run locally)."""
    url = os.environ.get("TERRINUM_DASHBOARD_ROOM_URL", "")
    if url:
        return url
    return f"http://127.0.0.1:{os.environ.get('SERVER_PORT', '8765')}/v"


@solara.component
def RoomPanel(session: st.Session, lang: str, version: solara.Reactive[int],
              room_tick: solara.Reactive[int]) -> None:
    """The room's votes: the QR code, the question and its options, live counts, apply.

    See :mod:`simulation.dashboard.room`. Only this panel (the facilitator's page, behind the
    key when the room's network can reach the server) drives the question.
    """
    version.value  # noqa: B018  (the month, for the result)
    room_tick.value  # noqa: B018  (bumped by the page's watcher when a phone votes)
    room = rm.ROOM
    msg = solara.use_reactive(("", ""))
    keys = solara.use_memo(lambda: rm.templates(session), [session.map_name])
    first = keys[0] if keys else None
    tpl = solara.use_reactive(first or "")
    q0, o0, m0 = rm.template(first, lang) if first else ("", [("", None), ("", None)], "")
    text = solara.use_reactive(q0)
    opt_texts = solara.use_reactive([o for o, _ in o0] + [""] * (rm.MAX_OPTIONS - len(o0)))
    opt_actions = solara.use_reactive([p for _, p in o0] + [None] * (rm.MAX_OPTIONS - len(o0)))
    measure = solara.use_reactive(m0 or "none")
    pick = solara.use_reactive(0)

    def act(fn: Callable[[], Any], ok: Callable[[str], str] | None = None) -> None:
        try:
            fn()
            msg.set((ok, "ok") if ok else ("", ""))
        except Exception as exc:  # a refused action: its message says why
            msg.set((_error_text(exc) if not isinstance(exc, rm.RoomError)
                     else (lambda lg, e=exc: e.message(lg)), "error"))
        _bump(room_tick)
        _bump(version)

    def use_template(key: str) -> None:
        tpl.set(key)
        q, opts, m = rm.template(key, lang)
        text.set(q)
        opt_texts.set([o for o, _ in opts] + [""] * (rm.MAX_OPTIONS - len(opts)))
        opt_actions.set([p for _, p in opts] + [None] * (rm.MAX_OPTIONS - len(opts)))
        measure.set(m)

    def set_list(r: solara.Reactive[list], k: int, v: Any) -> None:
        new = list(r.value)
        new[k] = v
        r.set(new)

    def ask() -> None:
        opts = [(o, a) for o, a in zip(opt_texts.value, opt_actions.value, strict=True)
                if o and o.strip()]
        room.ask(text.value, opts, None if measure.value == "none" else measure.value)

    actions = {"none": None}
    for key, spec in st.presets(session.tmap).items():
        actions[key] = spec
    for key in keys:
        for k, (_, p) in enumerate(rm.TEMPLATES[key]["options"]):
            if p is not None:
                actions.setdefault(f"{key}:{k}", p)

    def action_key(p: dict | None) -> str:
        for k, v in actions.items():
            if v == p:
                return k
        return "none"

    def action_text(k: str) -> str:
        if k == "none":
            return rm.rt("p_no_action", lang)
        if ":" in k:
            key, j = k.split(":")
            o = rm.TEMPLATES[key]["options"][int(j)][0]
            return o.get(lang) or o["en"]
        return i18n.preset_label(k, lang)

    attached = room.attached(session)
    q = room.question if attached else None
    with solara.Div(classes=["tn-card", "tn-room"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(rm.rt("p_title", lang)))
        if not attached:
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(
                rm.rt("p_other" if room.session is not None else "p_help", lang)),
                classes=["tn-help"])
            solara.Button(rm.rt("p_attach", lang), on_click=lambda: act(
                lambda: room.attach(session)), color="primary", outlined=True, block=True,
                icon_name="mdi-cellphone-link", classes=["tn-room-attach"])
            Message(msg.value, lang)
            return
        url = room_url()
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<div class="tn-room-qr">{rm.qr_svg(url, 3)}</div>'
            f'<div class="tn-room-url" data-testid="room-url">{ch._esc(url)}</div>'),
            classes=["tn-room-join"])
        if q is None:
            if keys:
                rv.Select(label=rm.rt("p_template", lang), dense=True, hide_details=True,
                          items=[{"text": rm.TEMPLATE_LABELS[k].get(lang, k), "value": k}
                                 for k in keys], v_model=tpl.value, on_v_model=use_template,
                          class_="tn-room-template")
            solara.InputText(rm.rt("p_question", lang), value=text, continuous_update=True,
                             classes=["tn-room-question"])
            for k in range(rm.MAX_OPTIONS):
                with solara.Div(classes=["tn-room-option", f"tn-room-option-{k}"]):
                    solara.InputText(rm.rt("p_option", lang, k=k + 1),
                                     value=opt_texts.value[k], continuous_update=True,
                                     on_value=lambda v, k=k: set_list(opt_texts, k, v))
                    rv.Select(label=rm.rt("p_action", lang, k=k + 1), dense=True,
                              hide_details=True,
                              items=[{"text": action_text(a), "value": a} for a in actions],
                              v_model=action_key(opt_actions.value[k]),
                              on_v_model=lambda v, k=k: set_list(opt_actions, k, actions[v]),
                              class_=f"tn-room-action-{k}")
            rv.Select(label=rm.rt("p_predict", lang), dense=True, hide_details=True,
                      items=[{"text": rm.rt("p_no_predict", lang), "value": "none"}] + [
                          {"text": i18n.measure_label(m, lang), "value": m}
                          for m in ba.map_measures(session)],
                      v_model=measure.value, on_v_model=measure.set, class_="tn-room-measure")
            solara.Button(rm.rt("p_ask", lang), on_click=lambda: act(ask), color="primary",
                          block=True, icon_name="mdi-vote", classes=["tn-room-ask", "mt-2"])
            Message(msg.value, lang)
            return
        phase = rm.rt("p_phase", lang, p=rm.rt("ph_" + q.phase, lang))
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<div class="tn-room-q">{ch._esc(q.text)}</div>'
            f'<div class="tn-help">{ch._esc(phase)}'
            f' · <span data-testid="room-voters">'
            f'{ch._esc(rm.rt("p_counts", lang, v=len(q.ballots), p=len(q.predictions)))}'
            f'</span></div>'), classes=["tn-room-status"],
            attributes={"data-phase": q.phase, "data-voters": str(len(q.ballots))})
        counts = q.counts()
        total = max(sum(counts), 1)
        rows = "".join(
            f'<div class="tn-room-count" data-option="{k}" data-count="{n}">'
            f'<span>{ch._esc(o.text)}</span><b>{n}</b>'
            f'<i style="width:{100 * n / total:.0f}%"></i></div>'
            for k, (o, n) in enumerate(zip(q.options, counts, strict=True)))
        if q.measure:
            pc = q.prediction_counts()
            rows += ('<div class="tn-help tn-room-preds">' + " · ".join(
                f"{ch._esc(rm.rt(p, lang))} {pc[p]}" for p in rm.PREDICTIONS) + "</div>")
        solara.HTML(tag="div", unsafe_innerHTML=rows, classes=["tn-room-counts"])
        if q.phase == "predict":
            solara.Button(rm.rt("p_open_vote", lang), on_click=lambda: act(room.open_vote),
                          color="primary", block=True, classes=["tn-room-open-vote"])
        elif q.phase == "vote":
            solara.Button(rm.rt("p_close", lang), on_click=lambda: act(room.close),
                          color="primary", block=True, classes=["tn-room-close"])
        elif q.phase == "closed":
            lead = q.leaders()
            k = q.winner if q.winner is not None else (pick.value if pick.value in lead
                                                         else lead[0])
            if q.winner is None:
                rv.Select(label=rm.rt("tie", lang, options=", ".join(
                    q.options[i].text for i in lead)), dense=True, hide_details=True,
                    items=[{"text": q.options[i].text, "value": i} for i in lead],
                    v_model=k, on_v_model=pick.set, class_="tn-room-tie")
            solara.Button(rm.rt("p_apply", lang, o=q.options[k].text),
                          on_click=lambda: act(lambda: room.apply(k)), color="primary",
                          block=True, classes=["tn-room-apply", "mt-2"])
            if q.options[k].policy is not None:
                solara.Button(rm.rt("p_apply_branch", lang),
                              on_click=lambda: act(lambda: room.apply(k, as_branch=True)),
                              color="primary", outlined=True, block=True,
                              classes=["tn-room-apply-branch", "mt-1"])
        elif q.phase in ("applied", "result"):
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(rm.rt(
                "p_applied", lang, step=q.applied_step, o=q.options[q.applied_option or 0].text)),
                classes=["tn-help"])
            if q.result:
                solara.HTML(tag="div", unsafe_innerHTML=ch._esc(q.result.get("text", "")),
                            classes=["tn-room-result"])
            else:
                solara.HTML(tag="div", unsafe_innerHTML=ch._esc(rm.rt("p_wait_result", lang)),
                            classes=["tn-help"])
            solara.Button(rm.rt("p_result", lang),
                          on_click=lambda: act(lambda: room.show_result(lang)),
                          color="primary", outlined=True, block=True,
                          classes=["tn-room-result-btn", "mt-1"])
        if q.phase not in ("predict", "vote"):
            solara.Button(rm.rt("p_end", lang), on_click=lambda: act(room.end), text=True,
                          color="primary", block=True, classes=["tn-room-end", "mt-1"])
        Message(msg.value, lang)


def _slug(name: str) -> str:
    """A branch name as a CSS class or file name part (letters, digits, - and _)."""
    return "".join(ch_ if ch_.isascii() and (ch_.isalnum() or ch_ in "-_") else "_"
                   for ch_ in name).strip("_") or "branch"


@solara.component
def WorkshopPanel(session: st.Session, lang: str, version: solara.Reactive[int],
                  on_open: Callable[[str, str], tuple[str, str]]) -> None:
    """Save the whole workshop to a file (JSON), or open a saved workshop or exported file."""
    version.value  # noqa: B018  (the file holds the current month)
    msg = solara.use_reactive(("", ""))

    def opened(name: str, text: str) -> None:
        msg.set(on_open(name, text))

    with solara.Div(classes=["tn-card", "tn-workshop"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("workshop", lang)))
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("workshop_help", lang)),
                    classes=["tn-help"])
        with solara.Row(classes=["tn-row-tight"]):
            with solara.FileDownload(lambda: ws.workshop_json(session, lang).encode("utf-8"),
                                     filename=f"{session.scenario_name}_atelier.json",
                                     mime_type="application/json"):
                solara.Button(t("save_workshop", lang), icon_name="mdi-content-save",
                              color="primary", outlined=True, classes=["tn-save-workshop"])
            UploadWidget.element(label=t("load_workshop", lang), upload_callback=opened)
        Message(msg.value)


@solara.component
def ExportPanel(session: st.Session, lang: str, version: solara.Reactive[int],
                charts: solara.Reactive[list[str]]) -> None:
    """Download the session as a scenario file, and the charts as PNG (made on click)."""
    version.value  # noqa: B018  (one button per branch)
    with solara.Div(classes=["tn-card", "tn-export"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("export", lang)))
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("export_help", lang)),
                    classes=["tn-help"])
        with solara.Row(classes=["tn-row-tight"]):
            with solara.FileDownload(lambda: session.export_toml(lang).encode("utf-8"),
                                     filename=f"{session.scenario_name}_atelier.toml",
                                     mime_type="application/toml"):
                solara.Button(t("export_scenario", lang), icon_name="mdi-file-download",
                              color="primary", outlined=True, classes=["tn-export-toml"])
            with solara.FileDownload(lambda: ch.export_charts_png(session, charts.value, lang),
                                     filename=f"{session.scenario_name}_courbes.png",
                                     mime_type="image/png"):
                solara.Button(t("export_charts", lang), icon_name="mdi-chart-line",
                              color="primary", outlined=True, classes=["tn-export-png"])
        for i, b in enumerate(session.branches):
            with solara.FileDownload(lambda i=i: session.export_toml(lang, branch=i).encode(
                    "utf-8"), filename=f"{session.scenario_name}_branche_{_slug(b.name)}.toml",
                    mime_type="application/toml"):
                solara.Button(t("export_branch", lang, name=b.name),
                              icon_name="mdi-source-branch", color="primary", outlined=True,
                              small=True, classes=["mt-1", f"tn-export-branch-{i}"])


@solara.component
def Controls(session: st.Session, lang: str, version: solara.Reactive[int],
             playing: solara.Reactive[bool], speed: solara.Reactive[str],
             busy: solara.Reactive[bool], run_error: solara.Reactive[str],
             on_load: Callable[[str], None], on_reset: Callable[[], None]) -> None:
    """Play, pause, step, reset, speed and the scenario picker."""

    def do_step() -> None:
        try:
            session.step()
            run_error.set("")
        except Exception as exc:
            traceback.print_exc()
            run_error.set(f"{type(exc).__name__}: {exc}")
        _bump(version)

    confirm = solara.use_reactive(False)
    undo_msg = solara.use_reactive(("", ""))

    def do_undo() -> None:
        busy.set(True)
        try:
            c = session.undo()
            undo_msg.set((t("undone_msg", lang, text=st.choice_text(session, c, lang)), "ok"))
        except lv.LeverError:
            undo_msg.set((t("nothing_to_undo", lang), "error"))
        except Exception as exc:
            traceback.print_exc()
            undo_msg.set((_error_text(exc), "error"))
        busy.set(False)
        _bump(version)

    def confirmed() -> None:
        confirm.set(False)
        undo_msg.set(("", ""))
        on_reset()

    names = solara.use_memo(st.scenario_names, [])
    with solara.Div(classes=["tn-card", "tn-controls"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("controls", lang)))
        with solara.Row(classes=["tn-row-tight"]):
            if playing.value:
                solara.Button(t("pause", lang), icon_name="mdi-pause",
                              on_click=lambda: playing.set(False), color="primary",
                              classes=["tn-pause"])
            else:
                solara.Button(t("play", lang), icon_name="mdi-play",
                              on_click=lambda: playing.set(True), color="primary",
                              classes=["tn-play"], disabled=busy.value)
            solara.Button(t("step", lang), icon_name="mdi-skip-next", on_click=do_step,
                          color="primary", outlined=True, classes=["tn-step"],
                          disabled=playing.value or busy.value)
            solara.Button(t("undo", lang), icon_name="mdi-undo", on_click=do_undo,
                          text=True, classes=["tn-undo"], disabled=playing.value or busy.value)
            solara.Button(t("reset", lang), icon_name="mdi-restart",
                          on_click=lambda: confirm.set(True), text=True, classes=["tn-reset"],
                          disabled=busy.value)
        if confirm.value:
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("reset_confirm", lang)),
                        classes=["tn-message", "tn-error", "tn-reset-confirm"])
            with solara.Row(classes=["tn-row-tight"]):
                solara.Button(t("reset_yes", lang), on_click=confirmed, color="error",
                              small=True, classes=["tn-reset-yes"])
                solara.Button(t("reset_no", lang), on_click=lambda: confirm.set(False),
                              small=True, outlined=True, classes=["tn-reset-no"])
        rv.Select(label=t("speed", lang), v_model=speed.value, on_v_model=speed.set,
                  dense=True, hide_details=True, class_="mt-3 tn-speed",
                  items=[{"text": t(f"speed_{k}", lang), "value": k} for k in st.SPEEDS])
        rv.Select(label=t("scenario", lang), v_model=session.scenario_name,
                  items=[{"text": vw.scenario_title(n, lang), "value": n} for n in names],
                  on_v_model=on_load, dense=True, hide_details=True,
                  class_="mt-4 tn-scenario", disabled=busy.value or playing.value)
        solara.HTML(tag="div", classes=["tn-help", "mt-1"], unsafe_innerHTML=ch._esc(
            f"{t('map_label', lang)} {session.map_name} · "
            f"{t('households_agents', lang, n=i18n.fmt_number(session.households, lang, 0))}"
            f" · {t('seed', lang, seed=session.seed)}"))
        if run_error.value:
            Message((run_error.value, "error"))
        Message(undo_msg.value)


@solara.component
def Header(session: st.Session, lang: solara.Reactive[str], version: solara.Reactive[int],
           present: solara.Reactive[bool]) -> None:
    """Title, the scenario's question, the month and date, presentation, the language switch."""
    version.value  # noqa: B018  (the counter follows the run)
    L = lang.value
    token = ba.share(session).token
    with solara.Row(classes=["tn-header"], style={"align-items": "center"}):
        with solara.Column(gap="0px"):
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("app_title", L)),
                        classes=["tn-title"])
            question = getattr(session.scenario, f"question_{L}", "") or \
                st.scenario_description(session.scenario, L)
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(
                f"{session.scenario.title(L)} — {question}"), classes=["tn-subtitle"])
        solara.v.Spacer()
        with solara.Column(gap="2px", style={"align-items": "flex-end"}):
            solara.HTML(tag="div", classes=["tn-counter"], attributes={
                "data-testid": "step-counter", "data-step": str(session.steps)},
                unsafe_innerHTML=ch._esc(vw.month_text(session.steps, L)))
            solara.HTML(tag="div", classes=["tn-date"], attributes={"data-testid": "date"},
                        unsafe_innerHTML=ch._esc(
                            ba.month_year(session.steps, ba.start_year(session), L)))
        with solara.Column(gap="2px", style={"align-items": "flex-start"}):
            solara.Button(t("present", L), icon_name="mdi-projector-screen",
                          on_click=lambda: present.set(True), color="white", outlined=True,
                          classes=["tn-present-btn"])
            solara.HTML(tag="a", unsafe_innerHTML=ch._esc(t("present_tab", L)),
                        classes=["tn-present-tab"],
                        attributes={"href": f"?present={token}", "target": "_blank",
                                    "rel": "noopener", "title": t("present_help", L)})
        solara.ToggleButtonsSingle(value=lang, classes=["tn-lang"], mandatory=True,
                                   children=[solara.Button(x.upper(), value=x,
                                                           classes=[f"tn-lang-{x}"])
                                             for x in i18n.LANGS])


@solara.component
def MapRow(session: st.Session, maps: list[vw.MapView], lang: str,
           selected: solara.Reactive[list[str]], show: dict[str, bool],
           classes: tuple[str, ...] = ("tn-maps",)) -> None:
    """Maps side by side (one per :class:`~simulation.dashboard.view.MapView`)."""
    layout = solara.use_memo(lambda: json.dumps(md.map_layout(session.tmap).as_props(),
                                                separators=(",", ":")),
                             [session.map_name, len(session.tmap.codes)])
    names = solara.use_memo(lambda: json.dumps(vw.territory_names(session),
                                               ensure_ascii=False),
                            [session.map_name, len(session.tmap.codes)])

    def toggle(code: str) -> None:
        cur = list(selected.value)
        selected.set([c for c in cur if c != code] if code in cur else [*cur, code])

    with solara.Row(classes=list(classes)):
        for mv in maps:
            MapWidget.element(
                geo_json=layout, fills=mv.fills, names_json=names, row_labels=mv.row_labels,
                rows_json=json.dumps(mv.rows, ensure_ascii=False),
                selected=list(selected.value), legend=mv.legend, title=mv.title, run=mv.key,
                measure=mv.measure, step=mv.step,
                show_links=show["links"], show_circles=show["circles"],
                show_labels=show["labels"], inset_label=t("inset_paris", lang),
                hint=t("hover_hint", lang),
                attribution=session.tmap.attribution[:160], select_callback=toggle)


@solara.component
def MapPanel(session: st.Session, view: vw.PageView, lang: str,
             selected: solara.Reactive[list[str]], show: dict[str, bool]) -> None:
    """One map per run shown (live, and the compared branch), coloured on one shared scale."""
    MapRow(session, view.maps, lang, selected, show)


def _texts_html(texts: list[str], cls: str) -> str:
    return "".join(f'<p class="{cls}">{ch._esc(x)}</p>' for x in texts)


@solara.component
def BeforeAfterPanel(session: st.Session, lang: str, version: solara.Reactive[int],
                     measure: str, selected: solara.Reactive[list[str]],
                     show: dict[str, bool]) -> None:
    """Reference | now | difference of ``measure``, and what changed since each decision."""
    maps, texts = solara.use_memo(
        lambda: (ba.before_after(session, measure, lang),
                 [d.text for d in ba.decision_summaries(session, None, lang)][::-1]),
        [version.value, measure, lang])
    MapRow(session, maps, lang, selected, show, classes=("tn-ba-maps",))
    with solara.Div(classes=["tn-card", "tn-ba"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(ba.tx("title", lang)))
        body = _texts_html(texts, "tn-ba-line") if texts else \
            f'<p class="tn-ba-none">{ch._esc(ba.tx("no_decision", lang))}</p>'
        solara.HTML(tag="div", unsafe_innerHTML=body, classes=["tn-ba-text"],
                    attributes={"data-step": str(session.steps)})
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(ba.tx("rule", lang)),
                    classes=["tn-ba-rule"])


def _present_room_html(session: st.Session, lang: str) -> str:
    """The room's box in presentation mode: the QR code, the address, the question, counts.

    Empty unless the room shows this session and a question is open (the projected screen
    invites the room to vote; counts appear once the vote is closed).
    """
    room = rm.ROOM
    q = room.question
    if not room.attached(session) or q is None:
        return ""
    url = room_url()
    parts = [f'<div class="tn-present-room" data-phase="{q.phase}">'
             f'<div class="tn-present-room-join">{rm.qr_svg(url, 4)}'
             f'<span>{ch._esc(url)}</span></div>'
             f'<div class="tn-present-room-q">{ch._esc(q.text)}</div>']
    if q.phase in ("predict", "vote"):
        n = len(q.predictions) if q.phase == "predict" else len(q.ballots)
        key = "ph_predict" if q.phase == "predict" else "ph_vote"
        parts.append(f'<div>{ch._esc(rm.rt(key, lang))} · {n}</div>')
    else:
        for o, n in zip(q.options, q.counts(), strict=True):
            parts.append(f'<div class="tn-present-room-count"><span>{ch._esc(o.text)}</span>'
                         f'<b>{n}</b></div>')
        if q.result:
            parts.append(f'<div class="tn-present-room-result">'
                         f'{ch._esc(q.result.get("text", ""))}</div>')
    return "".join(parts) + "</div>"


def _present_charts(charts: list[tuple[str, str]],
                    question: rm.Question | None) -> list[tuple[str, str]]:
    """The charts beside the projected map: all of them, or one while the room's box is shown.

    With a question open the box (QR code, question, counts) takes the upper half of the
    column; the chart kept is that of the measure the room predicts, else the first one, so
    that every text stays at 18 px and nothing overlaps on a 1280 x 720 projector.
    """
    if question is None:
        return charts
    for m, svg in charts:
        if m == question.measure:
            return [(m, svg)]
    return charts[:1]


@solara.component
def PresentArea(session: st.Session, lang: str, version: solara.Reactive[int],
                seen: dict[str, Any], on_exit: Callable[[], None] | None,
                room_tick: solara.Reactive[int] | None = None) -> None:
    """Presentation mode: one large map and its legend, 2 or 3 large charts, the date.

    No control: the run is driven from the facilitator's page (this tab or another one,
    see :func:`simulation.dashboard.beforeafter.share`). At month 0 a measure with no value
    yet (a flow) would give a grey map: month 1 is computed first.
    """
    rec = ba.share(session)
    measure = rec.measure or ba.map_measures(session)[0]

    def first_month() -> None:
        if ba.first_screen_needs_a_month(session, measure):
            session.step()
            _bump(version)

    solara.use_effect(first_month, [])

    def compute() -> ba.PresentView:
        seen["fp"] = ba.fingerprint(session)
        return ba.present_view(session, measure, rec.mode, lang)

    pv = solara.use_memo(compute, [version.value, measure, rec.mode, lang])
    tick = room_tick.value if room_tick is not None else 0
    room_box = solara.use_memo(lambda: _present_room_html(session, lang), [tick, version.value,
                                                                            lang])
    show = {"links": False, "circles": False, "labels": False}
    selected = solara.use_reactive(cast_list([]))
    with solara.Div(classes=["tn-present"], attributes={"data-step": str(pv.step)}):
        with solara.Div(classes=["tn-present-top"]):
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(pv.title),
                        classes=["tn-present-title"])
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(pv.date),
                        classes=["tn-present-date"],
                        attributes={"data-testid": "present-date", "data-step": str(pv.step)})
            solara.HTML(tag="div", unsafe_innerHTML=ch._esc(pv.month),
                        classes=["tn-present-month"])
            if on_exit is not None:
                solara.Button(t("present_exit", lang), icon_name="mdi-close",
                              on_click=on_exit, outlined=True, color="primary",
                              classes=["tn-present-exit"])
        with solara.Div(classes=["tn-present-body"]):
            with solara.Div(classes=["tn-present-mapcol"]):
                MapRow(session, pv.maps, lang, selected, show,
                       classes=("tn-ba-maps",) if len(pv.maps) > 1 else ("tn-maps",))
                if pv.texts:
                    solara.HTML(tag="div", unsafe_innerHTML=_texts_html(pv.texts, "tn-ba-line"),
                                classes=["tn-present-text"])
            if pv.charts or room_box:
                shown = _present_charts(pv.charts, rm.ROOM.question if room_box else None)
                cells = "".join(f'<div class="tn-chart-cell" data-chart-cell="{m}">{svg}</div>'
                                for m, svg in shown)
                solara.HTML(tag="div", unsafe_innerHTML=room_box + (
                    pv.chart_legend + cells if shown else ""), classes=["tn-present-charts"])
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(
            f"{t('attribution', lang)} : {pv.attribution}" if lang == "fr"
            else f"{t('attribution', lang)}: {pv.attribution}"), classes=["tn-present-foot"])


@solara.component
def ChartsPanel(view: vw.PageView, wide: bool) -> None:
    """Line charts of the map-level measures (live, baseline, compared branch)."""
    # one HTML element for all charts: one message per step instead of one per chart
    cells = "".join(f'<div class="tn-chart-cell" data-chart-cell="{m}">{svg}</div>'
                    for m, svg in view.charts)
    grid = "tn-charts-grid tn-wide" if wide else "tn-charts-grid"
    solara.HTML(tag="div", unsafe_innerHTML=f'{view.chart_legend}<div class="{grid}">{cells}</div>',
                classes=["tn-charts"])


@solara.component
def LogPanel(view: vw.PageView, lang: str, session: st.Session | None = None,
             version: solara.Reactive[int] | None = None) -> None:
    """The log of choices, newest first; a click on a decision goes back to it."""
    def go(index: int) -> None:
        if session is None:
            return
        try:
            session.go_back(index)
        except lv.LeverError:
            return  # not a decision of the current run (the page was one step behind)
        if version is not None:
            _bump(version)

    with solara.Div(classes=["tn-card"]):
        solara.HTML(tag="h3", unsafe_innerHTML=ch._esc(t("log", lang)))
        solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("log_back_hint", lang)),
                    classes=["tn-help"])
        LogWidget.element(rows=view.log, step=view.step, hint=t("log_back_hint", lang),
                          go_callback=go)


@solara.component
def MainArea(session: st.Session, lang: str, version: solara.Reactive[int],
             selected: solara.Reactive[list[str]], charts: solara.Reactive[list[str]],
             seen: dict[str, Any] | None = None) -> None:
    """Map(s), charts, key figures and log: the part that follows every step.

    The measure and mode picked here are also those of the presentation (this tab's or
    another tab's, :func:`simulation.dashboard.beforeafter.share`).
    """
    rec = ba.share(session)  # the measure and mode survive a trip to presentation mode
    first = rec.measure or ba.map_measures(session)[0]
    measure = solara.use_reactive(first if first in st.MAP_MEASURE_CHOICES
                                  else st.DEFAULT_MAP_MEASURE)
    mode = solara.use_reactive(rec.mode)
    show_links = solara.use_reactive(True)
    show_circles = solara.use_reactive(True)
    show_labels = solara.use_reactive(True)
    rec.set(measure.value, mode.value, lang)
    before_after = mode.value == "beforeafter"
    opts = vw.ViewOptions(lang=lang, measure=measure.value,
                          mode="value" if before_after else mode.value,
                          charts=tuple(charts.value))

    def compute() -> vw.PageView:
        if seen is not None:
            seen["fp"] = ba.fingerprint(session)
        return vw.build_view(session, opts)

    view = solara.use_memo(compute, [version.value, opts])
    comparing = len(view.maps) > 1
    show = {"links": show_links.value, "circles": show_circles.value,
            "labels": show_labels.value}
    with solara.Column(classes=["tn-main"], gap="8px"):
        with solara.Row(classes=["tn-row-tight"], style={"gap": "14px"}):
            rv.Select(label=t("show_on_map", lang), v_model=measure.value,
                      on_v_model=measure.set, dense=True, hide_details=True,
                      class_="tn-measure", style_="max-width: 340px",
                      items=[{"text": i18n.measure_label(m, lang), "value": m}
                             for m in st.MAP_MEASURE_CHOICES])
            rv.Select(label=t("map_mode", lang), v_model=mode.value, on_v_model=mode.set,
                      dense=True, hide_details=True, class_="tn-mode",
                      style_="max-width: 340px",
                      items=[{"text": t("mode_value", lang), "value": "value"},
                             {"text": t("mode_diff", lang), "value": "diff",
                              "disabled": not session.has_choices()}]
                      + ([{"text": t("mode_branch", lang), "value": "branch"}]
                         if session.compared() is not None else [])
                      + [{"text": t("mode_beforeafter", lang), "value": "beforeafter"}])
            solara.Checkbox(label=t("links", lang), value=show_links)
            solara.Checkbox(label=t("circles", lang), value=show_circles)
            solara.Checkbox(label=t("labels", lang), value=show_labels)
        if before_after:
            BeforeAfterPanel(session, lang, version, measure.value, selected, show)
            ChartsPanel(view, wide=True)
        elif comparing:
            MapPanel(session, view, lang, selected, show)
            ChartsPanel(view, wide=True)
        else:
            with solara.Row(style={"gap": "16px", "align-items": "flex-start",
                                   "flex-wrap": "nowrap"}):
                with solara.Column(style={"flex": "11 1 0", "min-width": "0"}):
                    MapPanel(session, view, lang, selected, show)
                with solara.Column(style={"flex": "9 1 0", "min-width": "0"}):
                    ChartsPanel(view, wide=False)
        with solara.Row(style={"gap": "16px", "align-items": "flex-start",
                               "flex-wrap": "nowrap"}):
            with solara.Column(style={"flex": "11 1 0", "min-width": "0"}):
                with solara.Div(classes=["tn-card"]):
                    solara.HTML(tag="div", unsafe_innerHTML=view.figures)
                    rv.Select(label=t("charts_pick", lang), v_model=list(charts.value),
                              on_v_model=lambda v: charts.set(
                                  [m for m in st.CHART_CHOICES if m in v] or
                                  list(st.DEFAULT_CHARTS)),
                              multiple=True, chips=True, small_chips=True, dense=True,
                              hide_details=True, class_="mt-3 tn-charts-pick",
                              items=[{"text": i18n.measure_label(m, lang), "value": m}
                                     for m in st.CHART_CHOICES])
            with solara.Column(style={"flex": "9 1 0", "min-width": "0"}):
                LogPanel(view, lang, session, version)


def _shared_or_new(token: str) -> tuple[st.Session | None, str, bool]:
    """The session shared under ``token`` (a presentation tab), else a new session."""
    if token:
        found = ba.find_shared(token)
        if found is not None:
            return found, "", True
        return None, "gone", True
    session, error = _new_session()
    return session, error, False


@solara.component
def Page() -> None:
    """The dashboard: one session per browser tab, or a presentation of another tab's.

    Only the components that show the run read ``version`` (bumped after every change), so
    a step re-renders the map, the charts, the counter and the small side panels, not the
    lever form. A tab opened at ``?present=TOKEN`` (the header's link) shows the
    presentation of the facilitator's session; a watcher thread re-renders it when that
    session changes (:func:`simulation.dashboard.beforeafter.fingerprint`), and the
    facilitator's page the same way when the presentation computed month 1.
    """
    router = solara.use_router()
    token = ba.token_from_search(router.search)
    session, error, shared_tab = solara.use_memo(lambda: _shared_or_new(token), [])
    lang = solara.use_reactive(_env_lang())
    version = solara.use_reactive(0)
    scenario_rev = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(st.DEFAULT_SPEED)
    selected = solara.use_reactive(cast_list([]))
    busy = solara.use_reactive(False)
    run_error = solara.use_reactive("")
    charts = solara.use_reactive(list(st.DEFAULT_CHARTS))
    present = solara.use_reactive(shared_tab)
    seen = solara.use_memo(lambda: {"fp": None}, [])
    room_tick = solara.use_reactive(0)

    def play_loop(cancel: threading.Event) -> None:
        while session is not None and playing.value and not cancel.is_set():
            t0 = time.perf_counter()
            try:
                session.step()
            except Exception as exc:
                traceback.print_exc()
                run_error.set(f"{type(exc).__name__}: {exc}")
                playing.set(False)
                break
            _bump(version)
            wait = st.SPEEDS.get(speed.value, 0.35) - (time.perf_counter() - t0)
            time.sleep(max(wait, 0.06))

    def watch(cancel: threading.Event) -> None:
        """Re-render when another tab changed the session (presentation, facilitator)."""
        last = version.value
        while session is not None and not cancel.is_set() and not playing.value:
            time.sleep(0.25)
            if version.value != last:  # this tab changed something: its render records it
                last = version.value
                continue
            if seen["fp"] is not None and ba.fingerprint(session) != seen["fp"]:
                seen["fp"] = ba.fingerprint(session)
                _bump(version)
                last = version.value
            elif rm.ROOM.attached(session) and rm.ROOM.rev != seen.get("room"):
                seen["room"] = rm.ROOM.rev  # a phone voted: only the room panel re-renders
                _bump(room_tick)

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)
    solara.use_thread(watch, dependencies=[playing.value], intrusive_cancel=False)
    solara.Style(CSS)
    solara.Title("Terrinum")
    L = lang.value
    if session is None:
        with solara.Column(classes=["tn-root"], style={"padding": "24px"}):
            if error == "gone":
                solara.HTML(tag="div", unsafe_innerHTML=ch._esc(t("present_gone", L)),
                            classes=["tn-present-gone"])
            else:
                solara.Error(f"{t('error', L)}: {error}")
        return
    if shared_tab:  # in the facilitator's language
        PresentArea(session, ba.share(session).lang, version, seen, None, room_tick)
        return

    def reset() -> None:
        playing.set(False)
        session.reset()
        selected.set([])
        _bump(version)

    def load(name: str) -> None:
        playing.set(False)
        busy.set(True)
        try:
            session.load(name)
            ba.share(session).set(ba.map_measures(session)[0], "value")  # the new question
            selected.set([])
            run_error.set("")
        except Exception as exc:
            run_error.set(_error_text(exc))
        busy.set(False)
        scenario_rev.set(scenario_rev.value + 1)
        _bump(version)

    def open_file(name: str, text: str) -> tuple[str, str]:
        """Open a saved workshop (JSON) or an exported scenario file (TOML) from the page."""
        playing.set(False)
        busy.set(True)
        try:
            if text.lstrip().startswith("{"):
                new, saved_lang = ws.load_workshop_text(text, name or "<upload>")
                session.adopt(new)
                lang.set(saved_lang)
            else:
                import tempfile
                from pathlib import Path

                with tempfile.TemporaryDirectory(prefix="terrinum-upload-") as tmp:
                    path = Path(tmp) / (Path(name).name or "scenario.toml")
                    path.write_text(text, encoding="utf-8")
                    session.load(str(path))
            selected.set([])
            run_error.set("")
            out = (t("workshop_loaded", lang.value, name=session.scenario_name,
                     step=session.steps), "ok")
        except Exception as exc:  # a bad file: its message names the file and the key
            out = (_error_text(exc), "error")
        busy.set(False)
        scenario_rev.set(scenario_rev.value + 1)
        _bump(version)
        return out


    KeyWidget.element(on_toggle=lambda: present.set(not present.value),
                      on_leave=lambda: present.set(False))
    if present.value:
        PresentArea(session, L, version, seen, lambda: present.set(False), room_tick)
        return
    map_key = f"{session.scenario_name}:{session.map_name}:{scenario_rev.value}"
    with solara.Column(classes=["tn-root"], gap="0px", style={"min-height": "100vh"}):
        Header(session, lang, version, present)
        with solara.Row(gap="0px", style={"align-items": "stretch", "flex-wrap": "nowrap"}):
            with solara.Column(classes=["tn-side"], gap="0px"):
                Controls(session, L, version, playing, speed, busy, run_error, load, reset)
                LeverPanel(session, L, map_key, selected, version).key(f"lever-{map_key}")
                SettingsPanel(session, L, version)
                BranchPanel(session, L, version, busy)
                RoomPanel(session, L, version, room_tick)
                WorkshopPanel(session, L, version, open_file)
                ExportPanel(session, L, version, charts)
            MainArea(session, L, version, selected, charts, seen).key(f"main-{map_key}")


__all__ = ["Page", "MapWidget", "KeyWidget"]
