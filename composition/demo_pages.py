"""The demo network's page images of its digitised works: a few small SVG pages per work,
generated in code at demo load (no binaries in the repository), in the page folder."""

from __future__ import annotations

from html import escape

from infra.page_folder import FolderPages

PAGES_PER_WORK = 3


def page_svg(title: str, page: int, pages: int) -> bytes:
    lines = "".join(
        f'<line x1="60" y1="{140 + 28 * n}" x2="{540 - 37 * (n % 4)}" y2="{140 + 28 * n}" '
        'stroke="#5b4636" stroke-width="3" stroke-opacity="0.35"/>'
        for n in range(18)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800" viewBox="0 0 600 800">'
        '<rect width="600" height="800" fill="#f3e9d2"/>'
        f'<text x="300" y="80" font-size="22" text-anchor="middle" fill="#3b2a1e">{escape(title)}'
        f"</text>{lines}"
        f'<text x="300" y="760" font-size="18" text-anchor="middle" fill="#3b2a1e">'
        f"Trang {page}/{pages} (bản minh họa)</text></svg>"
    ).encode()


def write_demo_pages(pages: FolderPages, works: dict[str, str]) -> int:
    """Write the pages of each work (code -> title) that has none yet; how many works."""
    written = 0
    for code, title in works.items():
        if pages.count(code):
            continue
        for n in range(1, PAGES_PER_WORK + 1):
            pages.write(code, n, page_svg(title, n, PAGES_PER_WORK), ".svg")
        written += 1
    return written
