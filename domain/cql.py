"""The part of CQL (the Contextual Query Language of SRU 2.0) our SRU endpoint answers:
search clauses on title, author, ISBN or any field, with the relations =, ==, all, any
and adj, joined by and, or, not, with parentheses. A bare term searches any field."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidInput

# CQL index names -> ours (the cql, dc and bath context sets' usual names).
INDEXES = {
    "title": "title",
    "dc.title": "title",
    "author": "author",
    "creator": "author",
    "dc.creator": "author",
    "isbn": "isbn",
    "bath.isbn": "isbn",
    "any": "any",
    "cql.anywhere": "any",
    "cql.serverchoice": "any",
    "cql.keywords": "any",
}
RELATIONS = ("==", "=", "all", "any", "adj")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|(==|=|<>|<=|>=|<|>)|([^\s()="<>]+))')


class CqlError(InvalidInput):
    """A query we cannot answer: SRU diagnostic 10 (syntax) or 16 (unsupported index)."""

    def __init__(self, detail: str, diagnostic: int = 10) -> None:
        super().__init__(detail)
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class Clause:
    index: str  # title, author, isbn, any
    relation: str
    term: str


@dataclass(frozen=True)
class Boolean:
    op: str  # and, or, not
    left: Node
    right: Node


Node = Clause | Boolean


def _tokens(query: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if not query[pos:].strip():
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            raise CqlError(f"cannot read the query at {query[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            found.append(("(", "("))
        elif m.group(2):
            found.append((")", ")"))
        elif m.group(3) is not None:
            found.append(("term", re.sub(r"\\(.)", r"\1", m.group(3))))
        elif m.group(4):
            found.append(("rel", m.group(4)))
        else:
            found.append(("word", m.group(5)))
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise CqlError("the query ends too early")
        self.at += 1
        return token

    def query(self) -> Node:
        node = self.clause()
        while (
            (t := self.peek()) is not None
            and t[0] == "word"
            and t[1].lower()
            in (
                "and",
                "or",
                "not",
            )
        ):
            self.take()
            node = Boolean(t[1].lower(), node, self.clause())
        return node

    def clause(self) -> Node:
        kind, value = self.take()
        if kind == "(":
            node = self.query()
            if self.take()[0] != ")":
                raise CqlError("a parenthesis is not closed")
            return node
        if kind not in ("word", "term"):
            raise CqlError(f"a search term is expected, not {value!r}")
        following = self.peek()
        is_relation = following is not None and (
            following[0] == "rel" or (following[0] == "word" and following[1].lower() in RELATIONS)
        )
        if kind == "term" or not is_relation:
            return Clause("any", "=", value)
        relation = self.take()[1].lower()
        if relation not in RELATIONS:
            raise CqlError(f"relation {relation!r} is not supported", 19)
        index = INDEXES.get(value.lower())
        if index is None:
            raise CqlError(f"index {value!r} is not supported: title, author, isbn or any", 16)
        term_kind, term = self.take()
        if term_kind not in ("word", "term"):
            raise CqlError(f"a search term is expected after {value} {relation}")
        return Clause(index, relation, term)


def parse(query: str) -> Node:
    tokens = _tokens(query)
    if not tokens:
        raise CqlError("the query is empty")
    parser = _Parser(tokens)
    node = parser.query()
    if parser.peek() is not None:
        raise CqlError(f"cannot read the query from {parser.peek()[1]!r}")  # type: ignore[index]
    return node
