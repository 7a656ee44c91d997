"""The page images of digitised works in a folder (the default page store, ADR 0022):
`<root>/<WORK>/<n>.png` (or .svg), numbered from 1."""

from __future__ import annotations

import re
from pathlib import Path

WORK = re.compile(r"^W-[A-Z0-9-]{1,40}$")
MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}


class FolderPages:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _files(self, work: str) -> list[Path]:
        if not WORK.match(work):
            return []
        folder = self.root / work
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if p.suffix in MEDIA_TYPES and p.stem.isdigit()]
        return sorted(found, key=lambda p: int(p.stem))

    def count(self, work: str) -> int:
        return len(self._files(work))

    def read(self, work: str, page: int) -> tuple[bytes, str] | None:
        """The page's bytes and media type, or None."""
        files = self._files(work)
        if not 1 <= page <= len(files):
            return None
        path = files[page - 1]
        return path.read_bytes(), MEDIA_TYPES[path.suffix]

    def write(self, work: str, page: int, data: bytes, suffix: str = ".png") -> None:
        folder = self.root / work
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{page}{suffix}").write_bytes(data)
