"""Dealer root fields: arguments in, one service call, payload or coded error out."""

from __future__ import annotations

from resolvers.origin import audit_actor, client_info
from schema.catalog import Dealer
from schema.context import Info
from schema.dealers import UpdateDealerInput, UpdateDealerPayload
from schema.errors import NotFoundError
from schema.payloads import refusal_errors
from services import dealers


async def update_dealer(info: Info, input: UpdateDealerInput) -> UpdateDealerPayload:
    """Change the given fields of a dealer."""
    ctx = info.context
    dealer_id = input.dealer_key()
    try:
        row = await dealers.update_dealer(
            await ctx.db.for_writes(), ctx.redis, dealer_id, input.changes(),
            actor=audit_actor(ctx.principal), client=client_info(info),
        )  # fmt: skip
    except dealers.DealerNotFoundError:
        raise NotFoundError(f"no dealer with id {input.id}", field="id") from None
    except dealers.DealerRefusedError as error:
        return UpdateDealerPayload(user_errors=refusal_errors(error))
    # Later reads of this dealer in the same operation see the new row.
    ctx.loaders.dealer_by_id.clear(dealer_id).prime(dealer_id, row)
    return UpdateDealerPayload(dealer=Dealer.from_row(row))
