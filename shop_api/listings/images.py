"""Checks that an upload really is a picture, and re-encodes it without metadata.

The bytes are sniffed (the client's content type is ignored), dimensions are checked
before decoding so a decompression bomb is refused cheaply, and only pixels survive the
re-encoding: EXIF (which can hold the seller's GPS position), XMP, comments (a JPEG COM
segment, PNG text) and ICC profiles are dropped. Pixels in another colour space than
sRGB are converted to sRGB first, so a photo still looks the same without its profile.

Decoding and re-encoding take a while for a large picture: callers run this before
they take any lock or open a write transaction.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from shop_api.core.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


# What ``Image.info`` may keep through the re-encoding: it is part of the pixels.
PIXEL_INFO = frozenset({"transparency"})
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str


def clean_image(data: bytes, *, max_pixels: int) -> CleanImage:
    if not data:
        raise Unprocessable("The uploaded file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnsupportedMediaType(
            "The file is not a supported image", details={"supported": sorted(FORMATS)}
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PayloadTooLarge(
            f"Image has too many pixels; at most {max_pixels} are accepted"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # a header cut short or mangled
        raise Unprocessable("The image is corrupt or truncated") from exc
    if image.format not in FORMATS:
        raise UnsupportedMediaType(
            f"{image.format} images are not accepted", details={"supported": sorted(FORMATS)}
        )
    width, height = image.size
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"Image is {width}x{height}; at most {max_pixels} pixels are accepted"
        )
    image_format = image.format
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unprocessable("The image is corrupt or truncated") from exc
    image = _in_srgb(image)
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    # The encoders write some of ``info`` back (a JPEG's comment, a PNG's ICC profile).
    image.info = {key: value for key, value in image.info.items() if key in PIXEL_INFO}
    output = io.BytesIO()
    save_options = {"quality": 90} if image_format in ("JPEG", "WEBP") else {"optimize": False}
    image.save(output, format=image_format, **save_options)
    cleaned = output.getvalue()
    content_type, extension = FORMATS[image_format]
    return CleanImage(
        data=cleaned,
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(cleaned).hexdigest(),
    )


def _in_srgb(image: Image.Image) -> Image.Image:
    """The pixels converted from the image's embedded ICC profile to sRGB (the profile
    itself is then dropped); unchanged without a usable profile."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return image
        converted = ImageCms.profileToProfile(image, source, SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels are taken as they are
    assert converted is not None
    return converted
