"""Files and folders on disk: Markdown, text, HTML and PDF.

A URL template turns a file into a link people can click ("https://git.example.com/handbook/blob/main/
{relpath}"), so a citation of a file is as useful as a citation of a web page.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from core.errors import CitebotError
from indexing.documents import UnreadableFile, iter_files, load_file
from indexing.site_artefacts import ArtefactFinder
from indexing.sources.base import Harvest, Indexed, ProgressFn, Source

_TEMPLATE_FIELDS = ("relpath", "path", "stem", "name")


def _under(path: str, root: Path) -> bool:
    root_s = str(root)
    return path == root_s or path.startswith(root_s.rstrip(os.sep) + os.sep)


class FileSource(Source):
    """One or more files and folders; a file vanished from a folder is deleted from the index, and so is a
    generator's artefact (`indexing.site_artefacts`), which is reported as skipped."""

    def __init__(self, name: str, paths: Sequence[Path | str], url_template: str | None = None):
        self.name = name
        self.roots = [Path(p).expanduser().resolve() for p in paths]
        self.url_template = url_template
        if url_template:
            try:
                url_template.format(relpath="a", path="/a", stem="a", name="a")
            except (KeyError, IndexError, ValueError) as exc:
                raise CitebotError(f"Source {name!r}: url_template {url_template!r} is not valid; it may use "
                                   f"{', '.join('{' + f + '}' for f in _TEMPLATE_FIELDS)} ({exc}).") from None

    @classmethod
    def adhoc(cls, paths: Sequence[Path], url_template: str | None = None) -> FileSource:
        """Paths given on the command line: the source is named after the (first) path given."""
        missing = [str(p) for p in paths if not Path(p).expanduser().exists()]
        if missing:
            raise CitebotError(f"Path does not exist: {', '.join(missing)}. Nothing was indexed.")
        return cls(str(Path(paths[0]).expanduser().resolve()), paths, url_template)

    def check(self) -> None:
        missing = [str(p) for p in self.roots if not p.exists()]
        if missing:
            raise CitebotError(f"Source {self.name!r}: path does not exist: {', '.join(missing)}. "
                               "Fix `paths` in the config file; nothing was indexed.")

    def _url(self, path: Path, root: Path) -> str | None:
        if not self.url_template:
            return None
        rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
        return self.url_template.format(relpath=rel, path=str(path), stem=path.stem, name=path.name)

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        self.check()
        files, artefacts = [], Counter()
        for root in self.roots:
            finder = ArtefactFinder(root) if root.is_dir() else None
            for path in iter_files(root):
                if why := finder and finder.reason(path):
                    artefacts[why] += 1
                else:
                    files.append((root, path.resolve()))
        for (where, reason), count in artefacts.items():
            harvest.skip(where, f"{reason}: {count} file{'s' * (count > 1)} not indexed")
        for done, (root, path) in enumerate(files, 1):
            try:
                harvest.add(load_file(path, source_id=self.name, url=self._url(path, root)))
            except UnreadableFile as exc:
                harvest.skip(str(path), str(exc), doc_id=str(path))
            progress("reading", done, len(files))

    def owns(self, indexed: Indexed) -> bool:
        # By location, not by name: indexing one file of an already indexed folder is the same document.
        return any(_under(indexed.path, root) for root in self.roots)

    def describe(self) -> str:
        return f"{self.name}: files in {', '.join(map(str, self.roots))}"
