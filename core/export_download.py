"""GET /gdpr/exports/{id}?expires=…&signature=…: a finished personal-data export.

The link is the credential (services/gdpr/links.py): signed, time-limited, handed to the
account holder or staff by `dataExport { downloadUrl }`. A bad or expired link is 403,
an export that is not ready or already removed 404; the document is served once per
request with `Cache-Control: no-store`, and every download is audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.settings import Settings
from services.audit.log import ClientInfo
from services.gdpr.exports import download
from services.gdpr.links import link_is_valid


def _refused(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


class ExportDownloadEndpoint:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._key = settings.personal_data_key

    async def handle(self, request: Request) -> Response:
        try:
            export_id = uuid.UUID(request.path_params["export_id"])
            expires = int(request.query_params["expires"])
            given = request.query_params["signature"]
        except (KeyError, ValueError):
            return _refused(400, "BAD_USER_INPUT", "Not an export download link.")
        if not link_is_valid(self._key, export_id, expires, given):
            return _refused(403, "FORBIDDEN", "The link is invalid or has expired.")
        client = ClientInfo(
            request.client.host if request.client else None, request.headers.get("user-agent")
        )
        document = await download(self._engine, export_id, client=client)
        if document is None:
            return _refused(404, "NOT_FOUND", "The export is not ready or was removed.")
        return Response(
            document,
            media_type="application/json",
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="personal-data-{export_id}.json"',
            },
        )
