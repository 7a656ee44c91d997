"""The UI's words for one language, given to a page's template so that a key missing from
api/i18n.py fails the page (a server error any test of it sees) instead of rendering as
nothing: Jinja turns a missing dict key into an empty string, but not this error."""

from __future__ import annotations

from api.i18n import TEXT


class MissingText(Exception):
    """A template asked for a UI text that api/i18n.py does not have in this language.
    Not a LookupError or AttributeError, so that Jinja does not swallow it."""


class Words:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._text = TEXT[lang]

    def __getitem__(self, key: str) -> str:
        try:
            return self._text[key]
        except KeyError:
            raise MissingText(f"no UI text {key!r} in {self.lang!r}") from None

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]
