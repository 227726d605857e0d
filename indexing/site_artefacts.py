"""Files a documentation generator writes beside the pages people read, which are not documentation.

A Sphinx HTML build holds, next to `usage/markdown.html`, a copy of its source (`_sources/usage/markdown.rst.txt`),
the highlighted source of the modules it documents (`_modules/`, from sphinx.ext.viewcode), theme files
(`_static/`) and pages it generates (`genindex.html`, `search.html`, `py-modindex.html`). Indexed as they are,
the copies compete with the pages they copy and win citations that open raw reStructuredText, and the
generated pages are lists of links. On the Sphinx manual itself (README, "Numbers") they took the citation
from its pages for 3 of 38 questions. Any static site's `404.html` says only that a page was not found.

A folder is a Sphinx build when it holds `searchindex.js` or `_static/documentation_options.js`, files Sphinx's
HTML builder writes (`objects.inv` alone is not enough: MkDocs writes one too). The files skipped are reported
in the index summary, one line per kind, so nothing disappears without a word.
"""

from __future__ import annotations

import re
from pathlib import Path

SPHINX_MARKERS = ("searchindex.js", "_static/documentation_options.js")
SPHINX_FOLDERS = {
    "_sources": "Sphinx copies of the pages' sources",
    "_modules": "module source highlighted by sphinx.ext.viewcode",
    "_static": "Sphinx theme files",
    "_downloads": "Sphinx download copies",
    "_images": "Sphinx image copies",
}
_SPHINX_PAGES = re.compile(r"^(genindex(-\w+)?|search|[\w-]*modindex)\.html$")  # generated index and search pages
NOT_FOUND_PAGE = "404.html"


class ArtefactFinder:
    """Tells, file by file, whether a file under `top` is a generator's artefact; remembers which folders
    are Sphinx builds, so a tree is probed once per folder."""

    def __init__(self, top: Path):
        self.top = top
        self._builds: dict[Path, bool] = {}

    def _is_build(self, folder: Path) -> bool:
        if folder not in self._builds:
            self._builds[folder] = any((folder / marker).is_file() for marker in SPHINX_MARKERS)
        return self._builds[folder]

    def _build_root(self, path: Path) -> Path | None:
        """The nearest folder at or above the file's, inside `top`, that is a Sphinx build."""
        for folder in path.parents:
            if folder != self.top and self.top not in folder.parents:
                return None
            if self._is_build(folder):
                return folder
        return None

    def reason(self, path: Path) -> tuple[str, str] | None:
        """(where it is reported, why it is not indexed) for an artefact, None for a page people read."""
        if path.name == NOT_FOUND_PAGE:
            return str(path), "a site's page-not-found page"
        build = self._build_root(path)
        if build is None:
            return None
        relative = path.relative_to(build).parts
        if relative[0] in SPHINX_FOLDERS and len(relative) > 1:
            return str(build / relative[0]), SPHINX_FOLDERS[relative[0]]
        if len(relative) == 1 and _SPHINX_PAGES.match(relative[0]):
            return str(build), "Sphinx's generated index and search pages (genindex, search, module index)"
        return None
