"""The picture rules, without a store: types by their bytes, bomb limits, orientation,
metadata stripped, the variant widths and their content-addressed keys."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from pillow_heif import from_pillow

from services.photos.images import ImageLimits, ImageRefusedError, process, read_header
from tests.photos_data import GPS_IFD, NOT_A_PICTURE, jpeg_with_gps, png_bomb

LIMITS = ImageLimits(max_pixels=50_000_000, max_side=12_000)
WIDTHS = (320, 640, 1280, 1920)


def _encoded(fmt: str, size: tuple[int, int] = (800, 500)) -> bytes:
    image = Image.new("RGB", size, (120, 40, 200))
    out = io.BytesIO()
    if fmt == "HEIF":
        from_pillow(image).save(out, quality=80)
    else:
        image.save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
     ("HEIF", "image/heic"), ("AVIF", "image/avif")],
)  # fmt: skip
def test_every_accepted_format_is_known_by_its_bytes(fmt: str, content_type: str) -> None:
    header = read_header(_encoded(fmt), LIMITS)
    assert (header.content_type, header.width, header.height) == (content_type, 800, 500)


@pytest.mark.parametrize("data", [NOT_A_PICTURE, b"", _encoded("GIF"), _encoded("BMP")])
def test_anything_else_is_refused_whatever_it_claims(data: bytes) -> None:
    with pytest.raises(ImageRefusedError) as refused:
        read_header(data, LIMITS)
    assert refused.value.code == "PHOTO_TYPE_NOT_ALLOWED"


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_bomb(10_000)  # 100 million pixels in a few kilobytes
    assert len(bomb) < 100_000
    for refuse in (read_header, lambda data, limits: process(data, widths=WIDTHS, limits=limits)):
        with pytest.raises(ImageRefusedError) as refused:
            refuse(bomb, LIMITS)
        assert refused.value.code == "PHOTO_DIMENSIONS_TOO_LARGE"


def test_a_side_longer_than_allowed_is_refused() -> None:
    with pytest.raises(ImageRefusedError) as refused:
        read_header(_encoded("PNG", (5000, 10)), ImageLimits(max_pixels=10**9, max_side=4000))
    assert refused.value.code == "PHOTO_DIMENSIONS_TOO_LARGE"


def test_variants_are_upright_without_metadata_and_named_by_their_bytes() -> None:
    made = process(jpeg_with_gps(900, 600, orientation=6), widths=(160, 320, 640), limits=LIMITS)
    assert (made.width, made.height) == (600, 900)  # turned by its EXIF orientation
    assert sorted({(v.width, v.height) for v in made.variants}) == [
        (160, 240), (320, 480), (600, 900)
    ]  # fmt: skip
    assert len(made.variants) == 3 * 3
    for variant in made.variants:
        assert variant.key == f"p/{hashlib.sha256(variant.data).hexdigest()}." + {
            "AVIF": "avif", "WEBP": "webp", "JPEG": "jpg"
        }[variant.format]  # fmt: skip
        picture = Image.open(io.BytesIO(variant.data))
        assert picture.format == variant.format
        assert not picture.getexif()
        assert not picture.getexif().get_ifd(GPS_IFD)
        # The corner painted yellow at the top left is now at the top right.
        red, green, blue = picture.convert("RGB").getpixel((picture.width - 3, 3))  # type: ignore[misc]
        assert (red > 180, green > 150, blue < 90) == (True, True, True), variant.format


def test_a_small_picture_keeps_its_own_width_and_a_huge_one_stops_at_the_largest() -> None:
    small = process(_encoded("PNG", (200, 100)), widths=WIDTHS, limits=LIMITS)
    assert {v.width for v in small.variants} == {200}
    large = process(_encoded("JPEG", (1000, 250)), widths=(100, 200), limits=LIMITS)
    assert {v.width for v in large.variants} == {100, 200}


def test_transparency_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    made = process(out.getvalue(), widths=WIDTHS, limits=LIMITS)
    jpeg = next(v for v in made.variants if v.format == "JPEG")
    assert Image.open(io.BytesIO(jpeg.data)).convert("RGB").getpixel((10, 10)) == (255, 255, 255)
