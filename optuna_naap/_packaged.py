"""The published NAAP-440 files: shipped inside the package (gzip-compressed, checked against
their published SHA-256), or fetched from the pinned public repository into a cache folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

__all__ = [
    "NAAP440_SOURCES",
    "NAAPDataError",
    "default_cache_dir",
    "fetch",
    "packaged_naap440_bytes",
    "packaged_naap440_file",
    "sha256_of",
]


# The public NAAP-440 repository (MIT licence), pinned by content: a changed file is refused.
_REPO = "https://raw.githubusercontent.com/talcs/NAAP-440/e15d75c443bab23e368cc87a435495404dea97c6"


NAAP440_SOURCES: dict[int, tuple[str, str]] = {
    1: (
        f"{_REPO}/naap440.csv",
        "ef0b0eb46ca13e813298fb18f3e77122810108e36c7a1524dd3fb6b13efbe7d7",
    ),
    2: (
        f"{_REPO}/naap440v2.csv",
        "a0184f51aa942ce493483fd232719329e620cce3d1150da81a36cf8056749e9a",
    ),
}


# The published files shipped inside the package (gzip-compressed; see its SOURCE.md), by the
# SHA-256 of each published file; naap440.csv is derived from naap440v2.csv.
_PACKAGED_SHA256 = {
    "naap440.csv": NAAP440_SOURCES[1][1],
    "naap440v2.csv": NAAP440_SOURCES[2][1],
    "generated_schemes.json": "83b7209a63c76e31fc2f8330e249f456cff6f9d2a2831ce971e245d105348c66",
    "paper_results.csv": "b8e8f96a96afd1bfe71ab54a06898f68d9bee4918b88bab00ff6f6f314e9bdf9",
}


class NAAPDataError(ValueError):
    """Data that is not in the NAAP-440 CSV layout, or that cannot be had."""


def default_cache_dir() -> Path:
    """Where downloads are cached.

    ``$OPTUNA_NAAP_CACHE``, else ``$XDG_CACHE_HOME/optuna-naap``, else ``~/.cache/optuna-naap``.
    """
    if os.environ.get("OPTUNA_NAAP_CACHE"):
        return Path(os.environ["OPTUNA_NAAP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "optuna-naap"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, sha256: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        got = sha256_of(tmp)
        if got != sha256:
            raise NAAPDataError(
                f"the file downloaded from {url} has SHA-256 {got}, expected {sha256}; "
                "nothing was cached: pass the CSV's path instead"
            )
        tmp.replace(target)  # atomic: a cached file is always a complete, checked one
    except OSError as exc:
        raise NAAPDataError(
            f"could not download NAAP-440 from {url} ({exc}); "
            "download the CSV by hand and pass its path (--naap440 PATH or load_naap440(path))"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def packaged_naap440_bytes(name: str = "naap440v2.csv", *, version: int | None = None) -> bytes:
    """The bytes of a published NAAP-440 file, from the copy shipped inside the package.

    ``name`` is ``naap440v2.csv``, ``naap440.csv`` (derived from v2 byte for byte: the v1 layout
    lacks two columns), ``generated_schemes.json`` or ``paper_results.csv``; ``version`` 1 or 2
    names a CSV instead. Each file is checked against its published SHA-256.

    Args:
        name: The published file's name.
        version: 1 or 2: the CSV of that layout, instead of ``name``.

    Raises:
        NAAPDataError: an unknown name, or a damaged installation (checksum mismatch).
    """
    import gzip
    from importlib import resources

    if version is not None:
        if version not in NAAP440_SOURCES:
            raise ValueError(f"version must be 1 or 2, but got {version=}")
        name = "naap440.csv" if version == 1 else "naap440v2.csv"
    if name not in _PACKAGED_SHA256:
        raise NAAPDataError(
            f"no packaged NAAP-440 file {name!r}; the package holds {', '.join(_PACKAGED_SHA256)}"
        )
    source = "naap440v2.csv" if name == "naap440.csv" else name
    packed = resources.files("optuna_naap").joinpath("naap440_data").joinpath(f"{source}.gz")
    data = gzip.decompress(packed.read_bytes())
    if name == "naap440.csv":
        data = _without_v2_columns(data)
    if hashlib.sha256(data).hexdigest() != _PACKAGED_SHA256[name]:
        raise NAAPDataError(
            f"the packaged {name} does not have the published SHA-256: the installation is "
            "damaged; reinstall optuna-naap"
        )
    return data


def _without_v2_columns(v2: bytes) -> bytes:
    """The v1 CSV: the v2 file's lines without NumSkipConnections and NumPartialRFLayers."""
    lines = v2.split(b"\r\n")
    header = lines[0].split(b",")
    drop = {header.index(b"NumSkipConnections"), header.index(b"NumPartialRFLayers")}
    return b"\r\n".join(
        b",".join(f for i, f in enumerate(line.split(b",")) if i not in drop) if line else line
        for line in lines
    )


def packaged_naap440_file(
    name: str = "naap440v2.csv", *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """A path to a packaged NAAP-440 file (:func:`packaged_naap440_bytes`), written once
    for tools that want a file.

    Args:
        name: The published file's name (as :func:`packaged_naap440_bytes` takes it).
        cache_dir: Where the copy goes (default :func:`default_cache_dir`).
    """
    data = packaged_naap440_bytes(name)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = folder / "packaged" / name
    if target.is_file() and sha256_of(target) == _PACKAGED_SHA256[name]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(part).replace(target)  # atomic: never a half-written copy
    finally:
        Path(part).unlink(missing_ok=True)
    return target
