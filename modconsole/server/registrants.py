"""Registrants: people registered from a list before the event, each with a personal participant token,
and the invitations file a mail merge sends them.

``read_registrants`` reads a CSV (header ``name,email,affiliation,country,gender``, any further columns
tags) and checks every row, reporting every bad one in one pass (row, column, why): a file with one bad row
imports nothing. ``country`` and ``gender`` are checked the same way for a self-registered participant
(``participant_tags``). ``write_invitations`` writes ``name,email,role,token,join_command,link``, every cell
escaped against formula injection.

This module owns that reading and writing. It must never touch the log: the store keeps registrants in
their own table (store.py), and a registrant's tags reach the log when they first join.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from modconsole.core.agenda import Person
from modconsole.core.names import clean_name

from .reports import csv_cell

REQUIRED = ("name", "email", "affiliation", "country", "gender")
MAX_ROWS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TAGS = 20
MAX_TAG_VALUE = 200
PREFER_NOT = "prefer not to say"
NOT_GIVEN = "(not given)"
INVITATION_COLUMNS = ("name", "email", "role", "token", "join_command", "link")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True, slots=True)
class Registrant:
    """One registered person: the email that identifies them, and who they are."""

    email: str  # as written, trimmed; compared casefolded
    person: Person

    @property
    def key(self) -> str:
        return self.email.casefold()


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the file's line number, the header being 1
    column: str
    why: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.why}"


@dataclass
class RegistrantsError(ValueError):
    path: str
    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        shown = "\n".join(f"  {e}" for e in self.errors[:200])
        more = len(self.errors) - 200
        tail = f"\n  (and {more} more)" if more > 0 else ""
        return f"{self.path}: {len(self.errors)} bad row(s); nothing was imported:\n{shown}{tail}"


def person_id(event_id: str, email: str) -> str:
    """A registrant's id: fixed by the event and the email, so that a second import updates the person."""
    digest = hashlib.sha256(f"{event_id}\0{email.casefold()}".encode()).hexdigest()
    return f"r-{digest[:16]}"


def country_code(raw: str | None) -> str | None:
    """A country as its ISO 3166 alpha-2 code, from a code or a name (pycountry's list); None when not
    given or "prefer not to say"; ValueError when it is no country pycountry knows."""
    text = " ".join((raw or "").split())
    if not text or text.casefold() == PREFER_NOT:
        return None
    import pycountry  # deferred: its tables are loaded only when a country is read

    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        found = None
    if found is None:
        raise ValueError(f"unknown country {text[:60]!r} (a name or an ISO code such as CH or CHE)")
    return str(found.alpha_2)


def gender_value(raw: str | None) -> str | None:
    """A gender in the person's own words, trimmed and in lower case; None when not given or "prefer not to
    say"; ValueError when it has control characters or is over 40 characters."""
    text = " ".join((raw or "").split()).casefold()
    if not text or text == PREFER_NOT:
        return None
    if len(text) > 40:
        raise ValueError("at most 40 characters")
    if any(not ch.isprintable() for ch in text):
        raise ValueError("control characters are not allowed")
    return text


def participant_tags(country: str | None, gender: str | None) -> dict[str, str]:
    """The tags of a self-registered participant from what they gave (each optional); ValueError naming the
    field when one is not acceptable."""
    tags: dict[str, str] = {}
    try:
        code = country_code(country)
    except ValueError as exc:
        raise ValueError(f"country: {exc}") from None
    try:
        said = gender_value(gender)
    except ValueError as exc:
        raise ValueError(f"gender: {exc}") from None
    if code is not None:
        tags["country"] = code
    if said is not None:
        tags["gender"] = said
    return tags


def read_registrants(path: Path, event_id: str) -> list[Registrant]:
    """Every row of the CSV at ``path`` as a registrant of ``event_id``; RegistrantsError with every bad row
    when one is bad (then none is imported)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RegistrantsError(str(path), [RowError(0, "-", f"the file is over {MAX_FILE_BYTES // 2**20} MiB")])
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RegistrantsError(str(path), [RowError(0, "-", "not UTF-8 text")]) from None
    except OSError as exc:
        raise RegistrantsError(str(path), [RowError(0, "-", exc.strerror or str(exc))]) from None
    return parse_registrants(text, event_id, str(path))


def parse_registrants(text: str, event_id: str, where: str = "registrants") -> list[Registrant]:
    errors: list[RowError] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise RegistrantsError(where, [RowError(0, "-", f"not a readable CSV file: {exc}")]) from None
    if not rows:
        raise RegistrantsError(where, [RowError(1, "-", f"no header; expected {','.join(REQUIRED)}")])
    header = [h.strip().casefold() for h in rows[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        errors.append(RowError(1, ",".join(missing), f"missing; the header must hold {','.join(REQUIRED)}"))
    extra = [h for h in header if h not in REQUIRED]
    for name in extra:
        if not _TAG_KEY.match(name):
            errors.append(RowError(1, name or "(empty)", "a tag column is named in lower case letters, digits, _"))
    if len(set(header)) != len(header):
        errors.append(RowError(1, "-", "a column is named twice"))
    if len(extra) > MAX_TAGS:
        errors.append(RowError(1, "-", f"at most {MAX_TAGS} tag columns"))
    if len(rows) - 1 > MAX_ROWS:
        errors.append(RowError(1, "-", f"at most {MAX_ROWS:,} rows"))
    if errors:
        raise RegistrantsError(where, errors)
    out: list[Registrant] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            errors.append(RowError(number, "-", f"{len(row)} cells; the header has {len(header)}"))
            continue
        cells = dict(zip(header, row, strict=True))
        bad = len(errors)
        try:
            name = clean_name(cells["name"])
        except ValueError as exc:
            errors.append(RowError(number, "name", str(exc)))
        email = cells["email"].strip()
        if not _EMAIL.match(email) or len(email) > 254:
            errors.append(RowError(number, "email", f"not an email address: {email[:60]!r}"))
        elif email.casefold() in seen:
            errors.append(RowError(number, "email", f"the same email as row {seen[email.casefold()]}"))
        else:
            seen[email.casefold()] = number
        affiliation = " ".join(cells["affiliation"].split())
        if len(affiliation) > 200:
            errors.append(RowError(number, "affiliation", "at most 200 characters"))
        tags: dict[str, str] = {}
        try:
            code = country_code(cells["country"])
            if code is not None:
                tags["country"] = code
        except ValueError as exc:
            errors.append(RowError(number, "country", str(exc)))
        try:
            said = gender_value(cells["gender"])
            if said is not None:
                tags["gender"] = said
        except ValueError as exc:
            errors.append(RowError(number, "gender", str(exc)))
        for key in extra:
            value = " ".join(cells[key].split())
            if len(value) > MAX_TAG_VALUE:
                errors.append(RowError(number, key, f"at most {MAX_TAG_VALUE} characters"))
            elif value:
                tags[key] = value
        if len(errors) == bad:
            person = Person(
                id=person_id(event_id, email), name=name, affiliation=affiliation, tags=tags, participant=True
            )
            out.append(Registrant(email=email, person=person))
    if errors:
        raise RegistrantsError(where, errors)
    return out


@dataclass(frozen=True, slots=True)
class Invitation:
    name: str
    email: str
    role: str
    token: str


def join_url(host: str, port: int, tls: bool = False) -> str:
    return f"{'wss' if tls else 'ws'}://{host}:{port}"


def invitation_link(host: str, port: int, token: str, tls: bool = False) -> str:
    """The browser page with the token after ``#``: a fragment never reaches a server's logs or a referrer."""
    return f"{'https' if tls else 'http'}://{host}:{port}/join#token={token}"


def write_invitations(
    path: Path | None, invitations: Iterable[Invitation], host: str, port: int, tls: bool = False
) -> str:
    """The invitations as CSV (written to ``path`` owner-only when given, as it holds tokens); the text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INVITATION_COLUMNS)
    url = join_url(host, port, tls)
    for invitation in invitations:
        command = f"modconsole join {url} --token {shlex.quote(invitation.token)}"
        row = [
            invitation.name,
            invitation.email,
            invitation.role,
            invitation.token,
            command,
            invitation_link(host, port, invitation.token, tls),
        ]
        writer.writerow([csv_cell(cell) for cell in row])
    text = out.getvalue()
    if path is not None:
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return text
