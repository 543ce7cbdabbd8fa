#!/usr/bin/env python3
"""Fill Solara's CDN cache from the npm registry so the dashboard works with no internet.

Solara (1.64) does not ship its front-end JavaScript. Its page asks for files such as
``@widgetti/solara-vuetify-app@10.1.1/dist/solara-vuetify-app8.min.js`` under a "CDN" URL; by
default the Solara server proxies those requests to cdn.jsdelivr.net and keeps every success in
``solara.server.settings.assets.proxy_cache_dir`` (``<venv>/share/solara/cdn``).

This script reads the list of packages from Solara's own installed source (the page template,
the ``.vue`` widgets and the Python components that build CDN URLs), downloads each package's
tarball from the npm registry (Python's urllib, no Node.js needed; ``npm pack`` is the fallback),
unpacks it into that cache directory, and checks that every file Solara refers to is there.

With the cache filled, the Solara server answers every asset request from disk, in both modes:

* default mode (``SOLARA_ASSETS_PROXY=True``): ``/_solara/cdn/<pkg>@<ver>/<file>`` is served from
  the cache; only a file missing from the cache would be fetched from the internet;
* strict offline mode, used by ``terrinum``: print the variables with ``--print-env``. The page
  then loads assets from ``/static/assets/cdn/...`` (the same directory, served as a Solara
  assets location) and a missing file is a 404, never an internet request.

Run it with the Python of the environment that has Solara::

    .venv/bin/python scripts/fetch_solara_assets.py            # fetch what is missing
    .venv/bin/python scripts/fetch_solara_assets.py --check    # exit 1 if something is missing
    .venv/bin/python scripts/fetch_solara_assets.py --list     # what Solara refers to
    .venv/bin/python scripts/fetch_solara_assets.py --print-env

Exit status: 0 when every package is present and verified, 1 when something could not be
fetched or verified (the message says what and how to fix it), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
MARKER = ".terrinum-fetched.json"
USER_AGENT = "terrinum-fetch-solara-assets/1 (+python urllib)"
TIMEOUT = 30
RETRIES = 3

# A reference to the CDN in Solara's source, e.g.
#   {{cdn}}/@widgetti/solara-vuetify-app@10.1.1/dist/main{{ipywidget_major_version}}.css
#   ${this.getCdn()}/requirejs@2.3.6/require.js
#   ${this.getCdn()}/echarts@${version}/dist/echarts.js
#   ${this.getCdn()}/codemirror@${cmVersion}
_REF = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/"
    r"(?P<name>(?:@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+)"
    r"@(?P<spec>\$\{\w+\}|[A-Za-z0-9.^~*+-]+)"
    r"(?P<path>/[^\s\"'`?#]*)?"
)
# `const version = "5.4.0";` / `const cmVersion = '5.65.3';` in the same file
_JS_CONST = r"""(?:const|let|var)\s+{var}\s*=\s*["']([^"']+)["']"""
_TEMPLATE_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_EXACT = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class FetchError(Exception):
    """A package could not be fetched, unpacked or verified."""


@dataclasses.dataclass
class Package:
    """One npm package as Solara's page asks for it (``name@spec``)."""

    name: str
    spec: str
    files: set[str] = dataclasses.field(default_factory=set)
    sources: set[str] = dataclasses.field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.spec}"


# --------------------------------------------------------------------------- discovery


def solara_dir() -> Path:
    spec = importlib.util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise FetchError(
            "solara is not installed in this Python "
            f"({sys.executable}). Run this script with the project's venv, e.g. "
            "`.venv/bin/python scripts/fetch_solara_assets.py` "
            "(create it with `bash setup.sh install`)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _source_files(root: Path):
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        # the documentation website and the test helpers are not part of an app's page
        if rel and rel[0] in {"website", "test", "__pycache__"}:
            continue
        if path.suffix in {".j2", ".vue", ".py", ".html", ".js"} and path.is_file():
            yield path


def _uses_vue3() -> bool | None:
    """Mirror ``solara.server.server.vue3`` (``ipyvue.__version__.startswith("3")``)."""
    try:
        import ipyvue
    except Exception:
        return None
    return str(ipyvue.__version__).startswith("3")


def _template_vars() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        import ipywidgets

        values["ipywidget_major_version"] = str(ipywidgets.__version__).split(".")[0]
    except Exception:
        pass
    return values


def _fontawesome_path() -> str | None:
    try:
        import solara.server.settings as server_settings
    except Exception:
        return None
    if not server_settings.assets.fontawesome_enabled:
        return None
    return server_settings.assets.fontawesome_path


def discover(
    root: Path | None = None, *, all_variants: bool = False
) -> tuple[list[Package], list[str]]:
    """Return the npm packages Solara's installed source refers to, and warnings."""
    root = root or solara_dir()
    warnings: list[str] = []
    packages: dict[str, Package] = {}
    tvars = _template_vars()
    vue3 = None if all_variants else _uses_vue3()

    def add(name: str, spec: str, path: str | None, source: str) -> None:
        if vue3 is not None:
            # the page template loads one of two front-end bundles, chosen by ipyvue's version
            if name == "@widgetti/solara-vuetify3-app" and not vue3:
                return
            if name == "@widgetti/solara-vuetify-app" and vue3:
                return
        pkg = packages.setdefault(f"{name}@{spec}", Package(name, spec))
        pkg.sources.add(source)
        if path and path.strip("/"):
            path = path.strip("/")
            unresolved = False

            def sub(m: re.Match) -> str:
                nonlocal unresolved
                if m.group(1) in tvars:
                    return tvars[m.group(1)]
                unresolved = True
                return m.group(0)

            path = _TEMPLATE_VAR.sub(sub, path)
            if "${" in path or unresolved:
                warnings.append(
                    f"{source}: cannot check file {path!r} of {name}@{spec} (unknown variable)"
                )
            else:
                pkg.files.add(path)

    for file in _source_files(root):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = str(file.relative_to(root.parent))
        for m in _REF.finditer(text):
            name, spec, path = m.group("name"), m.group("spec"), m.group("path")
            if spec.startswith("${"):
                var = spec[2:-1]
                found = re.search(_JS_CONST.format(var=re.escape(var)), text)
                if not found:
                    warnings.append(f"{rel}: skipped {name}@{spec} (version variable not found)")
                    continue
                spec = found.group(1)
            add(name, spec, path, rel)

    fa = _fontawesome_path()
    if fa:
        m = re.match(r"^/?((?:@[^/]+/)?[^/@]+)@([^/]+)(/.*)?$", fa)
        if m:
            add(
                m.group(1), m.group(2), m.group(3), "solara.server.settings.assets.fontawesome_path"
            )
        else:
            warnings.append(f"fontawesome_path {fa!r} does not name an npm package; not fetched")

    if not any(p.name.startswith("@widgetti/solara-vuetify") for p in packages.values()):
        raise FetchError(
            f"found no reference to Solara's front-end bundle in {root} (solara's source layout "
            "changed?). Update scripts/fetch_solara_assets.py for this solara version."
        )
    return sorted(packages.values(), key=lambda p: p.key), warnings


# --------------------------------------------------------------------------- registry


def _registry() -> str:
    reg = (
        os.environ.get("TERRINUM_NPM_REGISTRY")
        or os.environ.get("npm_config_registry")
        or os.environ.get("NPM_CONFIG_REGISTRY")
        or DEFAULT_REGISTRY
    )
    return reg if reg.endswith("/") else reg + "/"


_unreachable: list[str] = []  # set once the registry cannot be reached: stop retrying it


def _get(url: str, accept: str | None = None) -> bytes:
    if _unreachable:
        raise FetchError(f"GET {url} skipped: {_unreachable[0]}")
    last: Exception | None = None
    for attempt in range(RETRIES):
        if attempt:
            time.sleep(2**attempt)
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            last = e
            if 400 <= e.code < 500 and e.code != 429:
                break
        except (urllib.error.URLError, OSError) as e:
            last = e
    if not isinstance(last, urllib.error.HTTPError):
        _unreachable.append(f"{urllib.parse.urlsplit(url).netloc or url} unreachable ({last})")
    raise FetchError(f"GET {url} failed: {last}")


def _version_key(v: str):
    main, _, pre = v.partition("-")
    nums = tuple(int(x) if x.isdigit() else 0 for x in main.split("+")[0].split("."))
    return nums, pre == "", pre


def resolve_version(spec: str, packument: dict) -> str:
    """Pick the version for ``spec`` from registry metadata.

    Understands exact versions, dist-tags and the simple ranges ``N``, ``N.x`` and ``N.M``.
    """
    versions = list(packument.get("versions", {}))
    if spec in packument.get("versions", {}):
        return spec
    tags = packument.get("dist-tags", {})
    if spec in tags:
        return tags[spec]
    if _EXACT.match(spec):
        raise FetchError(f"version {spec} of {packument.get('name')} is not in the registry")
    m = re.fullmatch(r"(\d+)(?:\.(\d+|x|\*))?(?:\.(x|\*))?", spec)
    if not m:
        raise FetchError(f"cannot resolve version range {spec!r} without npm")
    major, minor = m.group(1), m.group(2)
    ok = []
    for v in versions:
        if "-" in v:
            continue
        parts = v.split(".")
        if parts[0] != major:
            continue
        if minor not in (None, "x", "*") and (len(parts) < 2 or parts[1] != minor):
            continue
        ok.append(v)
    if not ok:
        raise FetchError(f"no version of {packument.get('name')} matches {spec!r}")
    return max(ok, key=_version_key)


def _check_integrity(data: bytes, dist: dict, what: str) -> None:
    integrity = dist.get("integrity") or ""
    for item in integrity.split():
        algo, _, b64 = item.partition("-")
        if algo in {"sha512", "sha384", "sha256"}:
            got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
            if got != b64:
                raise FetchError(f"{what}: {algo} checksum mismatch (corrupt download?)")
            return
    if dist.get("shasum"):
        if hashlib.sha1(data).hexdigest() != dist["shasum"]:
            raise FetchError(f"{what}: sha1 checksum mismatch (corrupt download?)")


def download_with_urllib(pkg: Package, registry: str) -> tuple[bytes, str]:
    url = registry + urllib.parse.quote(pkg.name, safe="@")
    meta = json.loads(
        _get(url, accept="application/vnd.npm.install-v1+json; q=1.0, application/json")
    )
    version = resolve_version(pkg.spec, meta)
    dist = meta["versions"][version].get("dist", {})
    tarball = dist.get("tarball")
    if not tarball:
        raise FetchError(f"{pkg.name}@{version}: registry gave no tarball URL")
    data = _get(tarball)
    _check_integrity(data, dist, f"{pkg.name}@{version}")
    return data, version


def download_with_npm(pkg: Package) -> tuple[bytes, str]:
    npm = shutil.which("npm")
    if not npm:
        raise FetchError("npm is not installed (fallback unavailable)")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [npm, "pack", "--json", "--pack-destination", tmp, pkg.key],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise FetchError(f"npm pack {pkg.key} failed: {proc.stderr.strip()[-500:]}")
        files = list(Path(tmp).glob("*.tgz"))
        if len(files) != 1:
            raise FetchError(f"npm pack {pkg.key} produced {len(files)} tarballs")
        version = pkg.spec
        try:
            version = json.loads(proc.stdout)[0]["version"]
        except Exception:
            pass
        return files[0].read_bytes(), version


# --------------------------------------------------------------------------- install


def package_dir(dest: Path, pkg: Package) -> Path:
    return dest.joinpath(*pkg.name.split("/")[:-1], f"{pkg.name.split('/')[-1]}@{pkg.spec}")


def missing_files(directory: Path, pkg: Package) -> list[str]:
    """Files Solara refers to that are not in ``directory`` (plus package.json)."""
    wanted = sorted(pkg.files | {"package.json"})
    return [f for f in wanted if not (directory / f).is_file()]


def is_complete(dest: Path, pkg: Package) -> bool:
    d = package_dir(dest, pkg)
    return (d / MARKER).is_file() and not missing_files(d, pkg)


def _members(tf: tarfile.TarFile):
    for m in tf.getmembers():
        if not (m.isfile() or m.isdir()):
            continue  # npm tarballs hold plain files; skip links and devices
        parts = m.name.lstrip("./").split("/", 1)
        if len(parts) < 2 or not parts[1]:
            continue
        yield m.replace(name=parts[1], deep=False)


def add_minified_aliases(directory: Path, pkg: Package) -> list[str]:
    """Provide ``X.min.js`` / ``X.min.css`` that Solara asks for but the package lacks.

    jsDelivr minifies files on the fly, so Solara can ask for ``requirejs@2.3.6/require.min.js``
    although the npm package only has ``require.js``. The unminified file behaves the same.
    """
    made = []
    for f in sorted(pkg.files):
        target = directory / f
        m = re.fullmatch(r"(.+)\.min\.(js|css)", f)
        if target.exists() or not m:
            continue
        plain = directory / f"{m.group(1)}.{m.group(2)}"
        if plain.is_file():
            shutil.copyfile(plain, target)
            made.append(f)
    return made


def _drop_source_maps(directory: Path) -> None:
    # Source maps are only requested by browser developer tools; they are ~40% of the bytes.
    for p in directory.rglob("*.map"):
        if p.is_file():
            p.unlink()


def unpack(data: bytes, target: Path, pkg: Package, version: str, source: str) -> None:
    """Unpack an npm tarball into ``target`` (atomically replacing it) and verify it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
            tf.extractall(tmp, members=list(_members(tf)), filter="data")
        _drop_source_maps(tmp)
        synthesized = add_minified_aliases(tmp, pkg)
        missing = missing_files(tmp, pkg)
        if missing:
            raise FetchError(
                f"{pkg.name}@{version} unpacked but lacks {', '.join(missing[:5])} that solara "
                f"uses ({', '.join(sorted(pkg.sources))})"
            )
        (tmp / MARKER).write_text(
            json.dumps(
                {
                    "name": pkg.name,
                    "spec": pkg.spec,
                    "version": version,
                    "source": source,
                    "files": sorted(pkg.files),
                    "minified_aliases": synthesized,
                },
                indent=1,
            )
        )
        for d in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            d.chmod(0o755)  # mkdtemp makes 0700; the server may run as another user
        # Replace any older or partial copy (e.g. single files solara's proxy cached earlier).
        old = None
        if target.exists():
            old = target.parent / f".old-{target.name}-{os.getpid()}"
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_one(pkg: Package, dest: Path, registry: str, use_npm: str) -> str:
    errors = []
    attempts = []
    if use_npm != "only":
        attempts.append(("registry", lambda: download_with_urllib(pkg, registry)))
    if use_npm != "never":
        attempts.append(("npm pack", lambda: download_with_npm(pkg)))
    for how, fn in attempts:
        try:
            data, version = fn()
            unpack(data, package_dir(dest, pkg), pkg, version, how)
            return f"{pkg.key} -> {version} ({len(data) / 1e6:.1f} MB via {how})"
        except FetchError as e:
            errors.append(f"{how}: {e}")
        except (tarfile.TarError, OSError, ValueError, KeyError) as e:
            errors.append(f"{how}: {type(e).__name__}: {e}")
    raise FetchError(f"{pkg.key}: " + "; ".join(errors))


# --------------------------------------------------------------------------- CLI


def default_dest() -> Path:
    try:
        import solara.server.settings as server_settings
    except Exception as e:  # pragma: no cover - depends on the environment
        raise FetchError(
            f"cannot import solara.server.settings with {sys.executable} ({e}). Run this script "
            "with the project's venv: `.venv/bin/python scripts/fetch_solara_assets.py`."
        ) from e
    return Path(server_settings.assets.proxy_cache_dir)


def offline_env(dest: Path) -> dict[str, str]:
    """Environment for a Solara server that never reaches the internet."""
    return {
        "SOLARA_ASSETS_PROXY": "False",
        "SOLARA_ASSETS_CDN": f"/static/assets/{dest.name}",
        "SOLARA_ASSETS_EXTRA_LOCATIONS": str(dest.parent),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_MODE": "production",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Fill Solara's CDN cache from the npm registry (offline dashboard).",
    )
    ap.add_argument("--dest", type=Path, help="cache directory (default: solara's proxy_cache_dir)")
    ap.add_argument(
        "--registry",
        help=f"npm registry URL (default: $TERRINUM_NPM_REGISTRY, "
        f"$npm_config_registry or {DEFAULT_REGISTRY})",
    )
    ap.add_argument(
        "--check", action="store_true", help="only check; exit 1 if anything is missing"
    )
    ap.add_argument("--list", action="store_true", help="list the packages solara refers to")
    ap.add_argument("--force", action="store_true", help="download again even if present")
    ap.add_argument(
        "--all-variants",
        action="store_true",
        help="fetch both the Vuetify 2 and Vuetify 3 front-end bundles",
    )
    ap.add_argument(
        "--npm",
        choices=["fallback", "never", "only"],
        default="fallback",
        help="use `npm pack`: as a fallback (default), never, or only",
    )
    ap.add_argument(
        "--print-env",
        action="store_true",
        help="print the environment for a strict offline Solara server and exit",
    )
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    _unreachable.clear()

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    try:
        dest = (args.dest or default_dest()).resolve()
        if args.print_env:
            for k, v in offline_env(dest).items():
                print(f"{k}={v}")
            return 0
        packages, warnings = discover(all_variants=args.all_variants)
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    if args.list:
        for p in packages:
            state = "ok" if is_complete(dest, p) else "missing"
            print(f"{p.key:45} {state:8} {', '.join(sorted(p.files)) or '-'}")
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        return 0

    todo = [p for p in packages if args.force or not is_complete(dest, p)]
    if args.check:
        if todo:
            print(
                f"error: Solara assets missing in {dest}: {', '.join(p.key for p in todo)}.\n"
                "Fix: run `bash setup.sh install` "
                "(or `.venv/bin/python scripts/fetch_solara_assets.py`).",
                file=sys.stderr,
            )
            return 1
        say(f"Solara assets complete: {len(packages)} packages in {dest}")
        return 0

    for w in warnings:
        say(f"warning: {w}")
    if not todo:
        say(f"Solara assets already present: {len(packages)} packages in {dest}")
        return 0

    registry = args.registry or _registry()
    if not registry.endswith("/"):
        registry += "/"
    say(f"Fetching {len(todo)} of {len(packages)} packages from {registry} into {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    failures = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(fetch_one, p, dest, registry, args.npm): p for p in todo}
        for fut in concurrent.futures.as_completed(futures):
            try:
                say("  " + fut.result())
            except FetchError as e:
                failures.append(str(e))
    if failures:
        print("error: could not fetch Solara's front-end assets:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        print(
            f"Fix: make {registry} reachable (or set TERRINUM_NPM_REGISTRY to a "
            "mirror, or install Node.js so `npm pack` can use your npm configuration), then run "
            "this script again. Without these files the dashboard page stays blank offline.",
            file=sys.stderr,
        )
        return 1
    say(f"Done in {time.monotonic() - started:.1f} s: {len(packages)} packages in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
