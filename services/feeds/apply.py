"""Applying normalised rows to the catalog, a batch at a time, inside the run's transaction.

Per row, in feed order:
- rejected: the row's problems, a second row of an external id or a VIN already seen
  in this feed (the first one is applied), no dealer (neither a `dealer_id` column nor
  the run's dealer) or an unknown one, a VIN another vehicle holds, or a change to a
  vehicle that is RESERVED or SOLD (its order's quote is locked; the same rule as edits);
- created: a new (source, external id);
- updated: any compared value differs, or the vehicle was WITHDRAWN (it is back in the
  feed, so AVAILABLE again); only these rows are written, so `updated_at` moves;
- unchanged: nothing differs; the row is not written at all.
Every external id the feed names, rejected rows' too, counts as present: a malformed
row never withdraws its vehicle. `withdraw_missing` withdraws the source's AVAILABLE
vehicles that the feed did not name (RESERVED and SOLD ones are left to their orders).
Writes use one statement per batch (unnest of column arrays).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.vehicle import VehicleStatus
from services.errors import FieldProblem
from services.feeds.normalise import MAX_EXTERNAL_ID, normalise_row
from services.feeds.parsing import RawRow
from services.feeds.runs import FeedCounts

MAX_STORED_REJECTIONS = 10_000
# Column -> its SQL array type, for unnest.
COLUMN_TYPES: dict[str, str] = {
    "vin": "text", "make": "text", "model": "text", "trim": "text", "year": "int",
    "first_registration": "date", "mileage_km": "int", "fuel": "text", "transmission": "text",
    "body_type": "text", "colour": "text", "power_kw": "int", "co2_g_km": "int",
    "location_country": "text", "location_city": "text", "price_minor": "bigint",
    "currency": "text", "dealer_id": "bigint",
}  # fmt: skip
COMPARED = tuple(COLUMN_TYPES)
_LOCKED = {VehicleStatus.RESERVED.value, VehicleStatus.SOLD.value}


def _unnest(columns: dict[str, str]) -> str:
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns.items())
    return f"unnest({arrays}) AS u({', '.join(columns)})"


_INSERT = sa.text(
    f"INSERT INTO vehicle (source, external_id, status, {', '.join(COMPARED)}) "  # noqa: S608
    f"SELECT :source, u.external_id, 'AVAILABLE', {', '.join(f'u.{c}' for c in COMPARED)} "
    f"FROM {_unnest({'external_id': 'text', **COLUMN_TYPES})} "
    "ON CONFLICT DO NOTHING RETURNING id, external_id"
)
_UPDATE = sa.text(
    f"UPDATE vehicle AS v SET {', '.join(f'{c} = u.{c}' for c in COMPARED)}, "  # noqa: S608
    f"status = 'AVAILABLE', updated_at = now() FROM {_unnest({'id': 'bigint', **COLUMN_TYPES})} "
    "WHERE v.id = u.id"
)
_EXISTING = sa.text(
    f"SELECT id, external_id, status, {', '.join(COMPARED)} FROM vehicle "  # noqa: S608
    "WHERE source = :source AND external_id = ANY(CAST(:ids AS text[]))"
)
# bpchar[]: vin is CHAR(17), and a text[] comparison would skip its unique index.
_VIN_OWNERS = sa.text("SELECT vin, id FROM vehicle WHERE vin = ANY(CAST(:vins AS bpchar[]))")
_DEALERS = sa.text("SELECT id FROM dealer WHERE id = ANY(CAST(:ids AS bigint[]))")
_AVAILABLE = sa.text(
    "SELECT id, external_id FROM vehicle WHERE source = :source AND status = 'AVAILABLE'"
)
_WITHDRAW = sa.text(
    "UPDATE vehicle SET status = 'WITHDRAWN', updated_at = now() "
    "WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'AVAILABLE' RETURNING id"
)
_REJECTIONS = sa.text(
    "INSERT INTO feed_rejection (run_id, line, external_id, reasons) "
    "SELECT :run_id, u.line, u.external_id, CAST(u.reasons AS jsonb) "
    "FROM unnest(CAST(:lines AS int[]), CAST(:external_ids AS text[]), "
    "CAST(:reasons AS text[])) AS u(line, external_id, reasons)"
)


def _problem(field_name: str, code: str, message: str) -> tuple[FieldProblem, ...]:
    return (FieldProblem(field_name, code, message),)


_VIN_TAKEN = _problem("vin", "VIN_TAKEN", "Another vehicle is listed with this VIN.")
_NO_DEALER = _problem("dealer_id", "DEALER_NOT_FOUND", "No such dealer.")
_DEALER_REQUIRED = _problem(
    "dealer_id", "DEALER_REQUIRED", "Name the dealer: a dealer_id column, or the run's dealer."
)


def _locked(status: str) -> tuple[FieldProblem, ...]:
    message = f"The vehicle is {status.lower()}: the feed cannot change it now."
    return _problem("external_id", f"VEHICLE_{status}", message)


def _duplicate(field_name: str, code: str, first: int) -> tuple[FieldProblem, ...]:
    message = f"Line {first} has the same {field_name.replace('_', ' ')}; that row is applied."
    return _problem(field_name, code, message)


@dataclass(slots=True)
class _Candidate:
    line: int
    external_id: str
    values: dict[str, Any]


Rejection = tuple[int, str | None, tuple[FieldProblem, ...]]  # line, external id, reasons


@dataclass(slots=True)
class Screened:
    """A batch screened: the rows to compare with the catalog, and the rows rejected."""

    candidates: list[_Candidate] = field(default_factory=list)
    rows_read: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(slots=True)
class FeedApplier:
    """Applies one run's rows in batches and keeps its counts; one per run and transaction.

    `screen` (normalisation, the feed's own duplicates: CPU only) may run in a thread,
    one batch at a time, while `write` of the previous batch waits on the database.
    """

    conn: AsyncConnection
    source: str
    default_dealer_id: int | None
    counts: FeedCounts
    today: date
    seen: dict[str, int] = field(default_factory=dict)  # external id -> first line
    vins: dict[str, int] = field(default_factory=dict)  # VIN -> first line
    dealers: dict[int, bool] = field(default_factory=dict)  # dealer id -> exists
    changed_ids: list[int] = field(default_factory=list)
    # external id -> the pictures its row lists (fetched after the run by the worker)
    image_urls: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    def reject(
        self, line: int, external_id: str | None, problems: tuple[FieldProblem, ...]
    ) -> None:
        """Count a rejected row and keep its reasons (the first MAX_STORED_REJECTIONS)."""
        self.counts.rejected += 1
        if len(self.rejections) < MAX_STORED_REJECTIONS:
            kept_id = None if external_id is None else external_id[:MAX_EXTERNAL_ID]
            self.rejections.append((line, kept_id, problems))

    def screen(self, rows: Iterable[RawRow]) -> Screened:
        """Normalise a batch and check it against the feed's earlier rows (no database)."""
        batch = Screened()
        for row in rows:
            batch.rows_read += 1
            candidate = self._screen_row(row, batch.rejected)
            if candidate is not None:
                batch.candidates.append(candidate)
        return batch

    def _screen_row(self, row: RawRow, rejected: list[Rejection]) -> _Candidate | None:
        if row.fields is None:
            rejected.append((row.line, None, () if row.problem is None else (row.problem,)))
            return None
        outcome = normalise_row(row.fields, today=self.today)
        external_id = outcome.external_id
        if external_id is not None:
            first = self.seen.setdefault(external_id, row.line)
            if first != row.line:
                duplicate = _duplicate("external_id", "DUPLICATE_EXTERNAL_ID", first)
                rejected.append((row.line, external_id, duplicate))
                return None
        if outcome.listing is None or external_id is None:
            rejected.append((row.line, external_id, outcome.problems))
            return None
        values = {**outcome.listing.values}
        values["dealer_id"] = values["dealer_id"] or self.default_dealer_id
        if values["dealer_id"] is None:
            rejected.append((row.line, external_id, _DEALER_REQUIRED))
            return None
        first = self.vins.setdefault(values["vin"], row.line)
        if first != row.line:
            rejected.append((row.line, external_id, _duplicate("vin", "DUPLICATE_VIN", first)))
            return None
        if outcome.listing.image_urls:
            self.image_urls[external_id] = outcome.listing.image_urls
        return _Candidate(row.line, external_id, values)

    async def _with_known_dealers(self, candidates: list[_Candidate]) -> list[_Candidate]:
        unknown = {c.values["dealer_id"] for c in candidates} - self.dealers.keys()
        if unknown:
            found = set((await self.conn.execute(_DEALERS, {"ids": sorted(unknown)})).scalars())
            self.dealers.update({dealer: dealer in found for dealer in unknown})
        for candidate in candidates:
            if not self.dealers[candidate.values["dealer_id"]]:
                self.reject(candidate.line, candidate.external_id, _NO_DEALER)
        return [c for c in candidates if self.dealers[c.values["dealer_id"]]]

    async def _vin_owners(
        self, candidates: list[_Candidate], existing: dict[str, Any]
    ) -> dict[str, int]:
        vins = [
            c.values["vin"]
            for c in candidates
            if (old := existing.get(c.external_id)) is None or old["vin"] != c.values["vin"]
        ]
        if not vins:
            return {}
        owners = await self.conn.execute(_VIN_OWNERS, {"vins": vins})
        return {row.vin: row.id for row in owners}

    async def apply(self, rows: Iterable[RawRow]) -> None:
        """Screen, compare and write one batch of rows, counting each."""
        await self.write(self.screen(rows))

    async def write(self, batch: Screened) -> None:
        """Count a screened batch, compare its rows with the catalog and write the changes."""
        self.counts.rows_read += batch.rows_read
        for rejection in batch.rejected:
            self.reject(*rejection)
        candidates = await self._with_known_dealers(batch.candidates)
        if not candidates:
            return
        ids = [c.external_id for c in candidates]
        result = await self.conn.execute(_EXISTING, {"source": self.source, "ids": ids})
        existing = {row["external_id"]: row for row in result.mappings()}
        owners = await self._vin_owners(candidates, existing)
        inserts: list[_Candidate] = []
        updates: list[tuple[int, _Candidate]] = []
        for candidate in candidates:
            old = existing.get(candidate.external_id)
            owner = owners.get(candidate.values["vin"])
            if owner is not None and (old is None or owner != old["id"]):
                self.reject(candidate.line, candidate.external_id, _VIN_TAKEN)
            elif old is None:
                inserts.append(candidate)
            elif old["status"] != VehicleStatus.WITHDRAWN and all(
                old[column] == candidate.values[column] for column in COMPARED
            ):
                self.counts.unchanged += 1
            elif old["status"] in _LOCKED:
                self.reject(candidate.line, candidate.external_id, _locked(old["status"]))
            else:
                updates.append((old["id"], candidate))
        await self._insert(inserts)
        await self._update(updates)

    @staticmethod
    def _columns(candidates: list[_Candidate]) -> dict[str, list[Any]]:
        return {name: [c.values[name] for c in candidates] for name in COMPARED}

    async def _insert(self, candidates: list[_Candidate]) -> None:
        if not candidates:
            return
        external_ids = [c.external_id for c in candidates]
        parameters = {
            "source": self.source,
            "external_id": external_ids,
            **self._columns(candidates),
        }
        created = {row[1] for row in (await self.conn.execute(_INSERT, parameters)).all()}
        self.counts.created += len(created)
        for candidate in candidates:
            if candidate.external_id not in created:  # a vehicle with its VIN listed meanwhile
                self.reject(candidate.line, candidate.external_id, _VIN_TAKEN)

    async def _update(self, updates: list[tuple[int, _Candidate]]) -> None:
        if not updates:
            return
        columns = self._columns([candidate for _, candidate in updates])
        await self.conn.execute(
            _UPDATE, {"id": [vehicle_id for vehicle_id, _ in updates], **columns}
        )
        self.counts.updated += len(updates)
        self.changed_ids.extend(vehicle_id for vehicle_id, _ in updates)

    async def withdraw_missing(self) -> None:
        """Withdraw the source's AVAILABLE vehicles that the feed did not name."""
        available = (await self.conn.execute(_AVAILABLE, {"source": self.source})).all()
        gone = [vehicle_id for vehicle_id, external_id in available if external_id not in self.seen]
        if gone:
            withdrawn = list((await self.conn.execute(_WITHDRAW, {"ids": gone})).scalars())
            self.counts.withdrawn += len(withdrawn)
            self.changed_ids.extend(withdrawn)

    async def store_rejections(self, run_id: int) -> None:
        """Write the kept rejected rows with their reasons."""
        if not self.rejections:
            return
        self.rejections.sort(key=lambda rejection: rejection[0])
        reasons = [
            orjson.dumps(
                [{"field": p.field, "code": p.code, "message": p.message} for p in problems]
            ).decode()
            for _, _, problems in self.rejections
        ]
        await self.conn.execute(_REJECTIONS, {
            "run_id": run_id,
            "lines": [line for line, _, _ in self.rejections],
            "external_ids": [external_id for _, external_id, _ in self.rejections],
            "reasons": reasons,
        })  # fmt: skip
