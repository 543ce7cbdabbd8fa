"""Calibration to France's data: targets, territory constants, ABC-SMC (pyabc), report.

Layers: this package sits above ``experiments`` (it uses its result store and engines) and
below ``cli``. ``terrinum calibrate FILE`` runs :func:`simulation.calibration.calibrate.calibrate`;
``terrinum analyse FOLDER`` on its folder writes the report
(:mod:`simulation.calibration.report`).
"""
