"""Pictures checked by their bytes and turned into responsive variants (pure, no I/O).

Only JPEG, PNG, WebP, HEIC/HEIF and AVIF are opened (Pillow is told which decoders it may
use, so nothing else is ever parsed). The header's dimensions are checked before any
pixel is decoded: more than `max_pixels` pixels, or a side longer than `max_side`, is a
decompression bomb or an absurd picture and is refused. The decoded picture is turned
upright by its EXIF orientation, then copied pixel by pixel into a new image, so that
no metadata (EXIF with its GPS position, XMP, comments) reaches a variant. Variants are
made at each configured width below the original's (and at the original's own width,
up to the largest configured), in AVIF and WebP with a JPEG fallback; each is named by
the SHA-256 of its bytes, so its key is content-addressed and can be cached forever.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Pillow format name -> the content type it is served as.
FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}
CONTENT_TYPES = frozenset({*FORMATS.values(), "image/heif"})
PUBLIC_PREFIX = "p/"
# Output formats, best first: (name, content type, extension, Pillow save options).
OUTPUTS: tuple[tuple[str, str, str, dict[str, object]], ...] = (
    ("AVIF", "image/avif", "avif", {"quality": 60, "speed": 8}),
    ("WEBP", "image/webp", "webp", {"quality": 78, "method": 4}),
    ("JPEG", "image/jpeg", "jpg", {"quality": 82, "optimize": True, "progressive": True}),
)


class ImageRefusedError(Exception):
    """The bytes are not a picture we accept: `code` says why (a UserErrorCode value)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int
    max_side: int


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class EncodedVariant:
    width: int
    height: int
    format: str
    content_type: str
    key: str
    data: bytes

    def describe(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "key": self.key,
            "bytes": len(self.data),
        }


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    width: int
    height: int
    blurhash: str
    variants: list[EncodedVariant]


def content_hash(data: bytes) -> str:
    """The SHA-256 of a picture's original bytes: its identity everywhere."""
    return hashlib.sha256(data).hexdigest()


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow's own bomb guard (Image.MAX_IMAGE_PIXELS) is a warning first: a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(limits) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise ImageRefusedError(
                "PHOTO_TYPE_NOT_ALLOWED", "The file is not a JPEG, PNG, WebP, HEIC or AVIF picture."
            ) from None
    width, height = image.size
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        image.close()
        raise _too_large(limits)
    return image


def _too_large(limits: ImageLimits) -> ImageRefusedError:
    return ImageRefusedError(
        "PHOTO_DIMENSIONS_TOO_LARGE",
        f"The picture is larger than {limits.max_pixels:,} pixels or "
        f"{limits.max_side:,} pixels on a side.",
    )


def read_header(data: bytes, limits: ImageLimits) -> ImageHeader:
    """The picture's real format and size from its first bytes, or a refusal."""
    image = _open(data, limits)
    with image:
        fmt = str(image.format)
        return ImageHeader(fmt, FORMATS[fmt], image.width, image.height)


def _widths(original: int, configured: Sequence[int]) -> list[int]:
    wanted = sorted({w for w in configured if w < original})
    top = min(original, max(configured))
    if top not in wanted:
        wanted.append(top)
    return wanted


def _upright_pixels(image: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(image)
    if upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright.convert("RGB")
    clean = Image.new("RGB", flat.size)  # a new image: no EXIF, XMP, ICC or comments
    clean.paste(flat)
    return clean


def process(data: bytes, *, widths: Sequence[int], limits: ImageLimits) -> ProcessedImage:
    """Decode (within `limits`), turn upright, strip metadata, make every variant."""
    image = _open(data, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
        clean = _upright_pixels(image)
    except ImageRefusedError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageRefusedError("PHOTO_UNREADABLE", "The picture's data is damaged.") from None
    finally:
        image.close()
    variants: list[EncodedVariant] = []
    for width in _widths(clean.width, widths):
        height = max(1, round(clean.height * width / clean.width))
        scaled = clean
        if width != clean.width:
            scaled = clean.resize((width, height), Image.Resampling.LANCZOS)
        for fmt, content_type, extension, options in OUTPUTS:
            buffer = io.BytesIO()
            scaled.save(buffer, format=fmt, **options)
            encoded = buffer.getvalue()
            key = f"{PUBLIC_PREFIX}{content_hash(encoded)}.{extension}"
            variants.append(EncodedVariant(width, height, fmt, content_type, key, encoded))
    thumbnail = clean.copy()
    thumbnail.thumbnail((64, 64))
    placeholder = blurhash.encode(thumbnail, 4, 3)
    return ProcessedImage(clean.width, clean.height, placeholder, variants)
