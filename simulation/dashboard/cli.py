"""``terrinum dashboard``: start the workshop dashboard on this computer.

The page is served by Solara (:mod:`simulation.dashboard.server`) on 127.0.0.1; ``--host``
opens it to a room's network, and then the facilitator's page needs a key printed at start
while the participants' phones open ``/v`` (the room's votes, :mod:`simulation.dashboard.room`).
The server is started with telemetry off, no version check and Solara's front-end assets
served from this computer (:func:`simulation.resources.dashboard_assets_dir`: the copy an
installed wheel carries, or in a checkout the local cache filled at install time by
``scripts/fetch_solara_assets.py``): the page never reaches the internet, so it works in rooms
without a connection.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from simulation import resources
from simulation.errors import InputError

APP_PATH = Path(__file__).resolve().parent / "app.py"
DEFAULT_PORT = 8765
FETCH_SCRIPT = resources.fetch_script()
"""The script that checks and fetches the assets (in a checkout, or the wheel's copy)."""


def register(subparsers: Any) -> None:
    """Add the ``dashboard`` subcommand to the ``terrinum`` parser."""
    d = subparsers.add_parser(
        "dashboard", help="start the live workshop dashboard (a web page on this computer)",
        description="Start the workshop dashboard: a local web server showing the map, the "
                    "charts and the levers of a scenario. Open the printed address in a browser; "
                    "every browser tab gets its own run.")
    d.add_argument("scenario", nargs="?", default="baseline",
                   help="built-in scenario name or scenario file (default: baseline)")
    d.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; "
                        "0.0.0.0 opens the page to the room's network)")
    d.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT})")
    d.add_argument("--households", type=int, default=None,
                   help="household agents (default: 20,000 on france-regions, 50,000 on "
                        "france-departements, 10,000 on synthetic, else 5,000; fewer = "
                        "faster steps)")
    d.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's)")
    d.add_argument("--map", default=None,
                   help="another map than the scenario's, e.g. france-regions (faster steps)")
    d.add_argument("--workshop", default=None, metavar="FILE",
                   help="open a workshop saved from the page (JSON) in every new tab: its "
                        "decisions, branches and reference run, replayed to the same numbers")
    d.add_argument("--lang", choices=["fr", "en"], default="fr",
                   help="language the page opens in (default fr; switchable in the page)")
    d.set_defaults(func=cmd_dashboard)


def assets_dir() -> Path:
    """Folder of Solara's front-end assets served to the page.

    The wheel's packaged copy, else Solara's CDN cache folder (filled by
    ``scripts/fetch_solara_assets.py``); see :func:`simulation.resources.dashboard_assets_dir`.
    """
    return resources.dashboard_assets_dir()


def missing_assets(dest: Path) -> list[str]:
    """Front-end packages missing from ``dest`` (empty when the page can load offline).

    Uses the fetch script's own check when the source tree is present; otherwise checks the
    packages the page cannot load without.
    """
    if FETCH_SCRIPT is not None and FETCH_SCRIPT.is_file():
        try:
            spec = importlib.util.spec_from_file_location("_terrinum_fetch", FETCH_SCRIPT)
            mod = importlib.util.module_from_spec(spec)
            assert spec.loader is not None
            spec.loader.exec_module(mod)
            packages, _ = mod.discover(all_variants=False)
            return [p.key for p in packages if not mod.is_complete(dest, p)]
        except Exception:  # fall back to the plain check below
            pass
    needed = ["requirejs@2.3.6", "font-awesome@4.5.0"]
    out = [n for n in needed if not (dest / n).is_dir()]
    widgetti = dest / "@widgetti"
    if not widgetti.is_dir() or not any(p.name.startswith("solara-vuetify")
                                         for p in widgetti.iterdir()):
        out.append("@widgetti/solara-vuetify-app")
    return out


COOKIE_FILTER = ("ignore:Cookies with samesite=none require https:UserWarning:"
                 "solara.server.starlette")
"""``PYTHONWARNINGS`` entry that silences Solara's per-page samesite cookie warning."""


def server_env(args: argparse.Namespace, dest: Path, base: dict[str, str] | None = None
               ) -> dict[str, str]:
    """Environment of the Solara server: offline assets, no telemetry, the session's settings."""
    env = dict(os.environ if base is None else base)
    env.update({
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",   # no usage data sent to mixpanel
        "SOLARA_ASSETS_PROXY": "False",                # never fetch from cdn.jsdelivr.net
        "SOLARA_ASSETS_CDN": f"/static/assets/{dest.name}",
        "SOLARA_ASSETS_EXTRA_LOCATIONS": str(dest.parent),
        "SOLARA_MODE": "production",
        # a closed tab's run is freed after 30 min (Solara's default keeps it 24 h); a tab that
        # reconnects within that time finds its run again
        "SOLARA_KERNEL_CULL_TIMEOUT": "30m",
        "MPLBACKEND": "Agg",
        "TERRINUM_DASHBOARD_SCENARIO": str(_scenario_arg(args.scenario)),
        "TERRINUM_DASHBOARD_LANG": args.lang,
    })
    for key, val in (("TERRINUM_DASHBOARD_HOUSEHOLDS", args.households),
                     ("TERRINUM_DASHBOARD_SEED", args.seed)):
        if val is not None:
            env[key] = str(int(val))
        else:
            env.pop(key, None)
    # Solara warns (12 lines, every page load) that a samesite=none cookie needs https when the
    # host is not literally "localhost" (e.g. 127.0.0.1); it then uses samesite=lax, which is
    # right for a page that is not embedded: silence that one warning at its source module
    kept = [w for w in env.get("PYTHONWARNINGS", "").split(",") if w and w != COOKIE_FILTER]
    env["PYTHONWARNINGS"] = ",".join([*kept, COOKIE_FILTER])
    # the server imports this package from wherever this process found it
    root = str(Path(__file__).resolve().parents[2])
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in parts if p != root]])
    if getattr(args, "map", None):
        env["TERRINUM_DASHBOARD_MAP"] = str(args.map)
    else:
        env.pop("TERRINUM_DASHBOARD_MAP", None)
    for name, val in (("TERRINUM_DASHBOARD_KEY", getattr(args, "key", None)),
                      ("TERRINUM_DASHBOARD_ROOM_URL", getattr(args, "room_url", None))):
        if val:
            env[name] = str(val)
        else:
            env.pop(name, None)
    if getattr(args, "workshop", None):
        env["TERRINUM_DASHBOARD_WORKSHOP"] = str(Path(args.workshop).resolve())
    else:
        env.pop("TERRINUM_DASHBOARD_WORKSHOP", None)
    return env


def _scenario_arg(scenario: str) -> str:
    """A scenario file given by a relative path, made absolute for the server process."""
    p = Path(scenario)
    return str(p.resolve()) if p.is_file() else scenario


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` yet."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host if host not in ("", "::") else "0.0.0.0", port))
        except OSError:
            return False
    return True


def solara_command(host: str, port: int) -> list[str]:
    """The server's command line: Solara's app in production mode plus the room's phone page.

    ``python -m simulation.dashboard.server`` runs what ``solara run APP --production
    --theme-loader plain`` runs, with the participants' routes (``/v``) and the facilitator's
    key check added (:mod:`simulation.dashboard.server`).
    """
    return [sys.executable, "-m", "simulation.dashboard.server", "--host", host,
            "--port", str(port)]


def is_local(host: str) -> bool:
    """True when ``host`` only listens on this computer."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def new_key() -> str:
    """A facilitator key: short enough to type, too long to guess (about 60 bits)."""
    import secrets

    return secrets.token_urlsafe(8)


def addresses(host: str, port: int) -> list[str]:
    """Addresses to type in a browser for a server listening on ``host``."""
    if host not in ("0.0.0.0", "::", ""):
        return [f"http://{host}:{port}/"]
    out = [f"http://127.0.0.1:{port}/"]
    ips = []
    try:  # the address of the interface that routes outwards (a UDP connect sends nothing)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            ips.append(sock.getsockname()[0])
    except OSError:
        pass
    try:
        ips += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                          socket.AF_INET)]
    except OSError:
        pass
    for ip in ips:
        if not ip.startswith("127.") and f"http://{ip}:{port}/" not in out:
            out.append(f"http://{ip}:{port}/")
    return out


class DashboardError(InputError):
    """A problem that stops the dashboard from starting (printed as one line, exit 2)."""


def check_startup(args: argparse.Namespace) -> Path:
    """Check Solara, the scenario, the options and the offline assets; the assets folder.

    Raises:
        DashboardError: with a message saying what to fix.
    """
    try:
        import solara  # noqa: F401
    except ImportError:
        raise DashboardError("the dashboard needs Solara: install the project with its "
                             "dashboard extra (bash setup.sh install, or "
                             "pip install -e '.[dashboard]')") from None
    from simulation.scenarios.files import load_scenario

    try:
        sc = load_scenario(args.scenario)
        if args.map:
            sc.with_overrides(map=args.map).load_map()
    except ValueError as exc:  # ScenarioError, MapError: one clear message
        raise DashboardError(str(exc)) from None
    if getattr(args, "workshop", None):
        from simulation.dashboard.workshop import load_workshop

        try:
            load_workshop(args.workshop)  # replayed once: a bad file fails here, not in a tab
        except ValueError as exc:  # WorkshopError: file, key and what is allowed
            raise DashboardError(str(exc)) from None
    if args.households is not None and args.households < 50:
        raise DashboardError("--households must be at least 50")
    if not 0 < args.port < 65536:
        raise DashboardError(f"--port must be between 1 and 65535, got {args.port}")
    if not port_free(args.host, args.port):
        raise DashboardError(f"port {args.port} on {args.host} is already in use (another "
                             "dashboard?); choose another with --port")
    dest = assets_dir()
    missing = missing_assets(dest)
    if missing:
        raise DashboardError(
            f"Solara's front-end files are missing from {dest} ({', '.join(missing[:4])}); "
            f"without them the page stays blank offline. Fix: {assets_fix()}")
    return dest


def assets_fix() -> str:
    """How to get the missing front-end files, for this kind of install (one sentence)."""
    import solara

    if resources.is_wheel_install():
        built = resources.assets_build_info().get("solara")
        have = getattr(solara, "__version__", "?")
        if resources.packaged_assets_dir() is not None:
            if built and built != have:
                return (f"this Terrinum package carries the files of Solara {built}, but "
                        f"Solara {have} is installed: pip install 'solara=={built}'.")
            return ("this Terrinum package's copy of them is incomplete: reinstall it "
                    "(pip install --force-reinstall --no-deps terrinum-*.whl).")
        script = resources.fetch_script()
        if script is None:
            return "this Terrinum package was built without them: install one built with them."
        return (f"this Terrinum package was built without them; fetch them once, with access "
                f"to the npm registry: {sys.executable} {script}")
    return ("bash setup.sh install "
            f"(or {sys.executable} scripts/fetch_solara_assets.py) once, with access to the "
            "npm registry.")


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the scenario and the offline assets, print the address, run the server.

    Errors are printed here as one line (exit status 2), whichever way ``terrinum`` was
    started (``python -m simulation.cli`` defines its own copy of the CLI's error class).
    """
    try:
        dest = check_startup(args)
    except DashboardError as exc:
        from simulation.cli.common import print_error

        print_error(exc)
        return 2
    urls = addresses(args.host, args.port)
    local = is_local(args.host)
    args.key = None if local else new_key()
    args.room_url = (urls[-1] if len(urls) > 1 else urls[0]) + "v"
    env = server_env(args, dest)
    print("Terrinum dashboard / tableau de bord Terrinum")
    print(f"  scenario: {args.scenario}   language: {args.lang}")
    if local:
        for url in urls:
            print(f"  open / ouvrir : {url}")
        print(f"  room's phones / téléphones de la salle : {args.room_url} (this computer only: "
              "start with --host 0.0.0.0 for a room's network)")
    else:
        for url in urls:
            print(f"  facilitator / animateur : {url}?key={args.key}")
        print(f"  participants' phones / téléphones des participants : {args.room_url}")
        print("  note: keep the facilitator's address (with its key) to yourself; without the "
              "key a phone can only look and vote.")
    print("  Ctrl-C stops the server.", flush=True)
    linux = sys.platform.startswith("linux")
    proc = subprocess.Popen(solara_command(args.host, args.port), env=env,
                            preexec_fn=die_with_parent if linux else None)
    old = _stop_on_signals()
    try:
        return proc.wait()
    except (KeyboardInterrupt, _StopSignalError) as exc:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 128 + exc.signum if isinstance(exc, _StopSignalError) else 130
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class _StopSignalError(Exception):
    """The dashboard command received a termination signal (its ``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_on_signals() -> dict:
    """Turn SIGTERM and SIGHUP into :class:`_StopSignalError` (so the child is stopped too).

    Returns:
        The previous handlers, to restore (empty outside the main thread).
    """
    def handler(signum, _frame):
        raise _StopSignalError(signum)

    old = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: the parent-death signal still applies
            break
    return old


def die_with_parent() -> None:
    """In the child before ``exec`` (Linux): get SIGTERM when the parent dies, whatever kills it.

    ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` through ctypes; does nothing where unavailable.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(scenario: str = "baseline", *, port: int | None = None,
                   households: int | None = None, seed: int | None = None, lang: str = "fr",
                   map_name: str | None = None, key: str | None = None,
                   timeout: float = 120.0) -> Iterator[str]:
    """Run the dashboard server (as ``terrinum dashboard`` does) for tests and benchmarks.

    Yields the page's address once the server answers (with ``?key=`` when a facilitator
    ``key`` is set, as ``--host`` does); always stops the server (its whole process group) on
    exit.

    Raises:
        RuntimeError: the assets are missing, or the server exits or does not answer in time
            (the message ends with the server's log).
    """
    dest = assets_dir()
    missing = missing_assets(dest)
    if missing:
        raise RuntimeError(f"Solara's front-end assets are missing from {dest}: {missing}; "
                           f"{assets_fix()}")
    port = port or free_port()
    args = argparse.Namespace(scenario=scenario, households=households, seed=seed, lang=lang,
                              map=map_name, key=key, room_url=f"http://127.0.0.1:{port}/v")
    env = server_env(args, dest)
    root = str(Path(__file__).resolve().parents[2])
    log = tempfile.NamedTemporaryFile("w+", prefix="terrinum-dashboard-", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen(solara_command("127.0.0.1", port), env=env, cwd=root, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/" + (f"?key={key}" if key else "")

    def tail() -> str:
        log.flush()
        log.seek(0)
        return log.read()[-3000:]

    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dashboard server exited with {proc.returncode}:\n{tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard server did not answer in {timeout:.0f} s:\n{tail()}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)
