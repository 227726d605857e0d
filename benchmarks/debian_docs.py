"""Fetch a Debian documentation package and unpack its HTML manual into a folder to index.

    python3 -m benchmarks.debian_docs mkdocs-doc /tmp/mkdocs

Uses `apt-get download` (the Debian package registry is reachable here; nothing else is) and
`dpkg-deb -x`. The pages of `python3.11-doc` and `git-doc` are reserved for independent checks, so this
refuses them: no labelled set, fixture or tuning data is built from them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RESERVED = {"python3.11-doc", "git-doc"}


def fetch(package: str, dest: Path) -> Path:
    """Unpack the folder that holds the package's HTML pages into `dest` (replaced if it exists)."""
    if package in RESERVED:
        raise SystemExit(f"{package} is reserved for independent checks; pick another package.")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["apt-get", "download", package], cwd=work, check=True, capture_output=True)
        deb = next(Path(work).glob("*.deb"))
        root = Path(work) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        pages = [str(p.parent) for p in root.rglob("*.html")]
        if not pages:
            raise SystemExit(f"{package} holds no HTML pages.")
        top = Path(os.path.commonpath(pages))  # the manual's root folder
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(top, dest, symlinks=False, ignore_dangling_symlinks=True)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(fetch(sys.argv[1], Path(sys.argv[2])))
