"""An outside ISO 18626 peer: a library that is not on libshare (the National Library, a
university on Koha, FOLIO/ReShare or Alma) with which our libraries lend and borrow over
ISO 18626 XML. The network administrator configures it, as events: its agency id (type
and value), the URL its messages go to, how it authenticates (a shared secret header, or
mutual TLS) and the schema generation it speaks (2021, or 2017 "v1_2"). It stands in our
network as a library of its own code (registered as any library is), so that a rota can
reach it and a request can name it. Its secret material never enters the event log, only
the secret's id (the secret itself: infra/partner_secrets.py)."""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.library import CODE_PATTERN
from domain.text import one_line

SCHEMAS = ("2021", "2017")
AUTHS = ("shared-secret", "mutual-tls")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_AGENCY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$")
_IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
MAX_PINS = 2  # a rotation's cut-over: the old certificate and the new one


def _checked(agency_id_type: str, agency_id_value: str, url: str, auth: str, schema: str) -> None:
    for what, value in (("agency_id_type", agency_id_type), ("agency_id_value", agency_id_value)):
        if not _AGENCY_PART.match(value):
            raise InvalidInput(f"{what} {value!r} must be 1-50 letters, digits or ._:-")
    if not _URL.match(url):
        raise InvalidInput(f"url {url!r} must be an http:// or https:// address")
    if auth not in AUTHS:
        raise InvalidInput(f"auth {auth!r} is not one of: {', '.join(AUTHS)}")
    if auth == "mutual-tls" and not url.startswith("https://"):
        raise InvalidInput("mutual TLS needs an https:// url")
    if schema not in SCHEMAS:
        raise InvalidInput(f"schema {schema!r} is not one of: {', '.join(SCHEMAS)}")


class IsoPeer(Aggregate):
    TYPE_NAME = "iso-peer"

    class Configured(Aggregate.Created):
        library: str
        name: str
        agency_id_type: str
        agency_id_value: str
        url: str
        auth: str
        schema: str

    def __init__(
        self,
        library: str,
        name: str,
        agency_id_type: str,
        agency_id_value: str,
        url: str,
        auth: str,
        schema: str,
    ) -> None:
        self.library = library
        self.name = name
        self.agency_id_type = agency_id_type
        self.agency_id_value = agency_id_value
        self.url = url
        self.auth = auth
        self.schema = schema
        self.secret_ids: list[str] = []
        # mutual TLS: the client certificates it may present (two during a rotation)
        self.certificate_sha256s: list[str] = []
        # the name of our client certificate presented to it ("": the network-wide one)
        self.client_identity = ""

    @staticmethod
    def id_for(library: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:iso-peer:{library}")

    @classmethod
    def configure(
        cls,
        library: str,
        name: str,
        agency_id_type: str,
        agency_id_value: str,
        url: str,
        auth: str = "shared-secret",
        schema: str = "2021",
    ) -> IsoPeer:
        library = library.strip().upper()
        if not CODE_PATTERN.match(library):
            raise InvalidInput(f"library code {library!r} is not a library code")
        _checked(agency_id_type, agency_id_value, url, auth, schema)
        return cls._create(
            cls.Configured,
            id=cls.id_for(library),
            library=library,
            name=one_line(name, "a peer's name", 200) if name.strip() else library,
            agency_id_type=agency_id_type,
            agency_id_value=agency_id_value,
            url=url,
            auth=auth,
            schema=schema,
        )

    def same_configuration(self, other: IsoPeer) -> bool:
        fields = ("name", "agency_id_type", "agency_id_value", "url", "auth", "schema")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    def reconfigure(self, other: IsoPeer) -> None:
        """Take `other`'s settings (a change of URL, schema, authentication, agency id)."""
        if not self.same_configuration(other):
            self._reconfigured(
                name=other.name,
                agency_id_type=other.agency_id_type,
                agency_id_value=other.agency_id_value,
                url=other.url,
                auth=other.auth,
                schema=other.schema,
            )

    @event("Reconfigured")
    def _reconfigured(
        self,
        name: str,
        agency_id_type: str,
        agency_id_value: str,
        url: str,
        auth: str,
        schema: str,
    ) -> None:
        self.name, self.agency_id_type, self.agency_id_value = name, agency_id_type, agency_id_value
        self.url, self.auth, self.schema = url, auth, schema

    def set_secret(self, secret_id: str) -> None:
        """The shared secret both sides send from now on (the previous one stops)."""
        self._secret_set(secret_id=secret_id)

    @event("SecretSet")
    def _secret_set(self, secret_id: str) -> None:
        self.secret_ids = [secret_id]

    def pin_certificates(self, sha256s: list[str]) -> None:
        """Mutual TLS: from now on the peer proves itself with a client certificate of one
        of these SHA-256 fingerprints (signed by a CA our TLS trusts), and no other. Two
        during a rotation's cut-over (the old and the new); pinning the new one alone
        afterwards refuses the old."""
        if not 1 <= len(sha256s) <= MAX_PINS:
            raise InvalidInput(f"a peer has 1 to {MAX_PINS} pinned client certificates")
        if any(not _FINGERPRINT.match(sha256) for sha256 in sha256s):
            raise InvalidInput("a certificate's SHA-256 fingerprint is 64 hex digits")
        pins = list(dict.fromkeys(sha256s))
        if pins != self.certificate_sha256s:
            self._certificates_pinned(sha256s=pins)

    @event("CertificatesPinned")
    def _certificates_pinned(self, sha256s: list[str]) -> None:
        self.certificate_sha256s = list(sha256s)

    @event("CertificatePinned")
    def _certificate_pinned(self, sha256: str) -> None:
        """(Recorded before rotations had two pins: one pin, replaced by the next.)"""
        self.certificate_sha256s = [sha256]

    def choose_client_identity(self, name: str) -> None:
        """The client certificate of ours, by its name in our settings, that we present
        to this peer ("": the network-wide one). The name, not the certificate: the
        key stays out of the event log, and a renewed file keeps its name."""
        if name and not _IDENTITY.match(name):
            raise InvalidInput(
                f"client certificate name {name!r} must be 1-50 letters, digits or ._-"
            )
        if name != self.client_identity:
            self._client_identity_chosen(name=name)

    @event("ClientIdentityChosen")
    def _client_identity_chosen(self, name: str) -> None:
        self.client_identity = name


class IsoAgency(Aggregate):
    """Which peer an ISO 18626 agency id (type and value) names: how an inbound message's
    sender is found. Its id is derived from the agency id."""

    TYPE_NAME = "iso-agency"

    class Claimed(Aggregate.Created):
        library: str

    def __init__(self, library: str) -> None:
        self.library = library

    @staticmethod
    def id_for(agency_id_type: str, agency_id_value: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:iso-agency:{agency_id_type}:{agency_id_value}")

    @classmethod
    def claim(cls, agency_id_type: str, agency_id_value: str, library: str) -> IsoAgency:
        return cls._create(
            cls.Claimed, id=cls.id_for(agency_id_type, agency_id_value), library=library
        )

    def reassign(self, library: str) -> None:
        if library != self.library:
            self._reassigned(library=library)

    @event("Reassigned")
    def _reassigned(self, library: str) -> None:
        self.library = library
