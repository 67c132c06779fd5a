"""Read QR images back with a real decoder (zxing-cpp), from the PNG and SVG files a print run writes."""

from __future__ import annotations

import re

import png as pypng
import zxingcpp


def decode_grey(pixels: bytes, width: int, height: int) -> list[str]:
    """Every QR code zxing-cpp finds in an 8-bit greyscale image."""
    view = memoryview(pixels).cast("B", (height, width))
    return [code.text for code in zxingcpp.read_barcodes(view, formats=zxingcpp.BarcodeFormat.QRCode)]


def decode_png(data: bytes) -> list[str]:
    """Decode a PNG (any bit depth, greyscale or colour) through pypng's reader."""
    width, height, rows, info = pypng.Reader(bytes=data).asDirect()
    planes = info["planes"]
    scale = 255 // ((1 << info["bitdepth"]) - 1)
    grey = bytearray()
    for row in rows:
        grey += bytes(row[i] * scale for i in range(0, len(row), planes))
    return decode_grey(bytes(grey), width, height)


_RECT = re.compile(r"M(\d+),(\d+)h(\d+)v1h-\3z")


def decode_svg(data: bytes, scale: int = 6) -> list[str]:
    """Rasterise the print run's SVG (a white square and one path of unit-high rectangles), then decode.

    Fails loudly if the SVG holds anything else, so a change of its drawing cannot pass unread.
    """
    text = data.decode()
    side = int(re.search(r'viewBox="0 0 (\d+) \1"', text)[1])  # type: ignore[index]
    path = re.search(r'<path fill="#000" d="([^"]*)"/>', text)[1]  # type: ignore[index]
    assert _RECT.sub("", path) == "", "the SVG path is not made of the expected rectangles"
    width = side * scale
    grey = bytearray(b"\xff" * width * width)
    for x, y, length in ((int(a), int(b), int(c)) for a, b, c in _RECT.findall(path)):
        for dy in range(scale):
            start = (y * scale + dy) * width + x * scale
            grey[start : start + length * scale] = b"\x00" * (length * scale)
    return decode_grey(bytes(grey), width, width)
