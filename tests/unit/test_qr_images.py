"""The print run's QR codes: exactly qrcode's symbols, and images a real decoder reads back."""

from __future__ import annotations

import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st

from ekc.services.qr_images import _rows_of, png, qr_rows, svg
from tests.qr_decode import decode_png, decode_svg

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:"
VIBER = "viber://pa?chatURI=ekc-kremenchuk&context=AQIAAAAANzc3Nzf6i3Jk2bq9d0b0Q3jWm3mD"
WEB = "https://cabinet.example.ua/#/qr/AQFrVgedMTAwMDAwsZnGFNGmdx2XYHMOWTS98Q"


def _qrcode_rows(data: str) -> tuple[int, ...]:
    symbol = qrcode.QRCode(border=0)
    symbol.add_data(data)
    symbol.make(fit=True)
    return _rows_of(symbol.modules)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=TOKEN_ALPHABET, min_size=1, max_size=60),
        st.text(alphabet="0123456789", min_size=1, max_size=80),  # numeric mode
        st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=80),  # alphanumeric mode
        st.text(min_size=1, max_size=300),  # any text, up to version 10 and beyond
    )
)
def test_qr_rows_equal_qrcode_for_any_data(tail: str) -> None:
    # Given links of every shape the codes may carry, and arbitrary text
    for data in (tail, "viber://pa?chatURI=ekc-kremenchuk&context=" + tail):
        # When the fast symbol is built / Then it is module for module the one qrcode builds
        assert qr_rows(data) == _qrcode_rows(data)


def test_png_and_svg_decode_back_to_the_link() -> None:
    # Given the two links of an invoice
    for link in (VIBER, WEB):
        rows = qr_rows(link)
        # When drawn as PNG and SVG and read by zxing-cpp
        # Then each holds exactly the link
        assert decode_png(png(rows)) == [link]
        assert decode_svg(svg(rows)) == [link]


def test_png_is_a_one_bit_greyscale_of_the_expected_size() -> None:
    # Given a version 5 symbol (37 modules) with a border of 2 and 8 pixels a module
    data = png(qr_rows(VIBER))
    # Then the PNG's header says 328 x 328, 1 bit, greyscale
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[16:24] == (328).to_bytes(4, "big") * 2
    assert data[24:26] == b"\x01\x00"
