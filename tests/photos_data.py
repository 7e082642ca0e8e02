"""Pictures for the photo tests, made here: a JPEG with GPS and orientation in its EXIF,
a decompression bomb, bytes that only claim to be a picture, and the upload by presigned
POST a browser would make."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import httpx
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(width: int = 1600, height: int = 1000, *, orientation: int = 6) -> bytes:
    """A JPEG whose EXIF holds a GPS position and says "rotate 90° clockwise" (6)."""
    image = Image.new("RGB", (width, height), (30, 90, 200))
    image.paste((240, 200, 10), (0, 0, width // 4, height // 4))  # a corner to see it turn
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.0), "E", (13.0, 24.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png_bomb(side: int = 10_000) -> bytes:
    """A small PNG (a few KB) whose header promises side x side pixels of 1-bit grey."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )


NOT_A_PICTURE = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20


def upload_form(upload: dict[str, Any], data: bytes) -> httpx.Response:
    """POST the file to the store as a browser form would: the fields, then `file`."""
    fields = {field["name"]: field["value"] for field in upload["fields"]}
    return httpx.post(upload["url"], data=fields, files={"file": ("picture", data)}, timeout=30)
