"""Relay's node(id:) and nodes(ids:): any Node by its global ID."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from schema.catalog import Dealer, Vehicle
from schema.context import Info
from schema.errors import BadUserInputError
from schema.ids import decode_int_id, from_global_id
from schema.node import Node
from schema.pricing import Quote

MAX_NODES = 100


async def node(info: Info, id: str) -> Node | None:
    """The object with this global ID; null when there is none, as Relay expects."""
    type_name, _ = from_global_id(id)
    loaders = info.context.loaders
    if type_name == "Vehicle":
        row = await loaders.vehicle_by_id.load(decode_int_id(id, "Vehicle"))
        if row is not None:
            return Vehicle.from_row(row)
    elif type_name == "Dealer":
        row = await loaders.dealer_by_id.load(decode_int_id(id, "Dealer"))
        if row is not None:
            return Dealer.from_row(row)
    elif type_name == "Quote":
        stored = await loaders.quote_by_id.load(decode_int_id(id, "Quote"))
        if stored is not None:
            return Quote.from_stored(stored)
    return None


async def nodes(info: Info, ids: Sequence[str]) -> list[Node | None]:
    """Objects by global ID, in order; every ID is checked before anything is read."""
    if len(ids) > MAX_NODES:
        raise BadUserInputError(f"ids: at most {MAX_NODES} at once", field="ids")
    for index, global_id in enumerate(ids):
        type_name, _ = from_global_id(global_id, field=f"ids[{index}]")
        decode_int_id(global_id, type_name, field=f"ids[{index}]")
    return list(await asyncio.gather(*(node(info, global_id) for global_id in ids)))
