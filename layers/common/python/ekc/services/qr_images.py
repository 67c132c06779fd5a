"""QR codes for a print run of 300,000 invoices: the same codes `qrcode` makes, several times faster.

`qrcode` picks the best of eight masks by building the whole symbol eight times and scoring each in
pure Python (~18 ms a link). Here the symbol is built once with mask 0 by `qrcode` itself, its data
modules are recovered, and the eight candidates are scored on rows and columns held as integers
(bit operations instead of module-by-module loops), with `qrcode`'s own penalty rules and tie-break,
so the chosen mask and every module are the ones `qrcode.make` gives (tests compare them). The images
are written straight from the rows: a 1-bit PNG and an SVG path.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

BORDER = 2  # modules of quiet zone around the code, as the cabinet's QR images have
PNG_BOX = 8  # pixels per module: 41 modules (version 5 + border) make 328 px, ~330 dpi at 25 mm


@dataclass(frozen=True, slots=True)
class _Layout:
    """Everything about a version that does not depend on the data."""

    size: int
    full: int  # a row of `size` ones
    data_rows: tuple[int, ...]  # where the data modules are
    data_cols: tuple[int, ...]
    test_rows: tuple[int, ...]  # dark function modules while masks are scored (format bits light)
    test_cols: tuple[int, ...]
    mask_rows: tuple[tuple[int, ...], ...]  # per mask: which data modules it flips
    mask_cols: tuple[tuple[int, ...], ...]
    final_rows: tuple[tuple[int, ...], ...]  # per mask: dark function modules with its format bits
    order: tuple[tuple[int, int], ...]  # (row, column) of each data bit, in the order qrcode places them
    # The same, every line packed into one int, `size + 1` bits apart (the gap stops runs and patterns
    # from crossing lines), so each penalty is a few operations on one int instead of a loop over lines.
    stride: int
    packed_full: int
    packed_test_rows: int
    packed_test_cols: int
    packed_mask_rows: tuple[int, ...]
    packed_mask_cols: tuple[int, ...]
    packed_final_rows: tuple[int, ...]
    run_starts: int  # where a run of five may start: columns 0..size-5 of every line
    finder_starts: int  # where an 11-module pattern may start: columns 0..size-11
    block_starts: int  # top-left corners of 2x2 blocks: rows and columns 0..size-2


def _rows_of(grid: list[list[bool]]) -> tuple[int, ...]:
    return tuple(sum(1 << c for c, dark in enumerate(row) if dark) for row in grid)


def _cols_of(grid: list[list[bool]]) -> tuple[int, ...]:
    return _rows_of([list(col) for col in zip(*grid, strict=True)])


@lru_cache(maxsize=8)
def _layout(version: int, error_correction: int) -> _Layout:
    import qrcode
    from qrcode import util

    symbol = qrcode.QRCode(version=version, error_correction=error_correction)
    n = symbol.modules_count = version * 4 + 17

    def function_modules(test: bool, mask: int) -> list[list[bool | None]]:
        # The steps of QRCode.makeImpl before it places the data.
        symbol.modules = [[None] * n for _ in range(n)]
        symbol.setup_position_probe_pattern(0, 0)
        symbol.setup_position_probe_pattern(n - 7, 0)
        symbol.setup_position_probe_pattern(0, n - 7)
        symbol.setup_position_adjust_pattern()
        symbol.setup_timing_pattern()
        symbol.setup_type_info(test, mask)
        if version >= 7:
            symbol.setup_type_number(test)
        return symbol.modules

    test = function_modules(True, 0)
    is_data = [[cell is None for cell in row] for row in test]
    test_dark = [[bool(cell) for cell in row] for row in test]
    masks = []
    for pattern in range(8):
        flips = util.mask_func(pattern)
        masks.append([[is_data[r][c] and bool(flips(r, c)) for c in range(n)] for r in range(n)])
    finals = [[[bool(cell) for cell in row] for row in function_modules(False, k)] for k in range(8)]
    stride = n + 1

    def pack(lines: tuple[int, ...]) -> int:
        return sum(line << (i * stride) for i, line in enumerate(lines))

    def starts(columns: int, lines: int) -> int:
        return pack(((1 << columns) - 1,) * lines)

    mask_rows = tuple(_rows_of(m) for m in masks)
    mask_cols = tuple(_cols_of(m) for m in masks)
    final_rows = tuple(_rows_of(f) for f in finals)
    return _Layout(
        order=_placement_order(is_data),
        stride=stride,
        packed_full=starts(n, n),
        packed_test_rows=pack(_rows_of(test_dark)),
        packed_test_cols=pack(_cols_of(test_dark)),
        packed_mask_rows=tuple(pack(m) for m in mask_rows),
        packed_mask_cols=tuple(pack(m) for m in mask_cols),
        packed_final_rows=tuple(pack(f) for f in final_rows),
        run_starts=starts(n - 4, n),
        finder_starts=starts(n - 10, n),
        block_starts=starts(n - 1, n - 1),
        size=n,
        full=(1 << n) - 1,
        data_rows=_rows_of(is_data),
        data_cols=_cols_of(is_data),
        test_rows=_rows_of(test_dark),
        test_cols=_cols_of(test_dark),
        mask_rows=mask_rows,
        mask_cols=mask_cols,
        final_rows=final_rows,
    )


def _placement_order(is_data: list[list[bool]]) -> tuple[tuple[int, int], ...]:
    """The data modules in QRCode.map_data's order: two-column strips from the right, up then down."""
    n = len(is_data)
    order = []
    row, step = n - 1, -1
    for right in range(n - 1, 0, -2):
        if right <= 6:
            right -= 1  # the vertical timing pattern's column is skipped
        while True:
            for c in (right, right - 1):
                if is_data[row][c]:
                    order.append((row, c))
            row += step
            if row < 0 or row >= n:
                row -= step
                step = -step
                break
    return tuple(order)


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, for the error correction codewords.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=32)
def _generator(degree: int) -> tuple[int, ...]:
    """The Reed-Solomon generator polynomial (x - a^0)...(x - a^(degree-1)), highest term first."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coefficient in enumerate(poly):
            nxt[j] ^= coefficient
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        poly = nxt
    return tuple(poly)


def _error_correction(data: list[int], degree: int) -> list[int]:
    """The remainder of data * x^degree divided by the generator: the block's EC codewords."""
    generator = [_LOG[g] for g in _generator(degree)[1:]]
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = [*remainder[1:], 0]
        if factor:
            log = _LOG[factor]
            for i, g in enumerate(generator):
                remainder[i] ^= _EXP[g + log]
    return remainder


class _Bits:
    """The part of qrcode's BitBuffer its data segments write to, kept in one int."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, num: int, length: int) -> None:
        self.value = (self.value << length) | (num & ((1 << length) - 1))
        self.length += length

    def put_bit(self, bit: bool) -> None:
        self.put(1 if bit else 0, 1)

    def __len__(self) -> int:
        return self.length


def _codewords(version: int, error_correction: int, data_list: list[object]) -> list[int]:
    """qrcode.util.create_data's codewords (data and EC, interleaved), without its slow polynomials."""
    from qrcode import base, util

    bits = _Bits()
    for segment in data_list:
        bits.put(segment.mode, 4)  # type: ignore[attr-defined]
        bits.put(len(segment), util.length_in_bits(segment.mode, version))  # type: ignore[arg-type,attr-defined]
        segment.write(bits)  # type: ignore[attr-defined]
    blocks = base.rs_blocks(version, error_correction)
    limit = sum(b.data_count * 8 for b in blocks)
    if len(bits) > limit:
        raise ValueError("data too long for a QR code")
    bits.put(0, min(limit - len(bits), 4))  # terminator
    bits.put(0, -len(bits) % 8)
    pad = (limit - len(bits)) // 8
    stream = bits.value.to_bytes(len(bits) // 8, "big") + (bytes((util.PAD0, util.PAD1)) * pad)[:pad]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = list(stream[offset : offset + block.data_count])
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_error_correction(chunk, block.total_count - block.data_count))
    out = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out += [b[i] for b in group if i < len(b)]
    return out


def _packed_score(rows: int, cols: int, layout: _Layout) -> int:
    """qrcode's four penalty rules (util.lost_point) on a candidate's packed rows and columns."""
    full, stride = layout.packed_full, layout.stride
    score = 0
    for lines in (rows, cols):
        for x in (lines, ~lines & full):
            # Rule 1: a run of L >= 5 leaves L-4 bits in `five`, one block; it costs L-2.
            five = x & (x >> 1) & (x >> 2) & (x >> 3) & (x >> 4) & layout.run_starts
            score += five.bit_count() + 2 * (five & ~(five >> 1)).bit_count()
        # Rule 3: 1011101 with four light modules after it, or before it: 40 each.
        nx = ~lines & full
        core = (nx >> 1) & (lines >> 4) & (nx >> 5) & (lines >> 6) & (nx >> 9) & layout.finder_starts
        after = core & lines & (lines >> 2) & (lines >> 3) & (nx >> 7) & (nx >> 8) & (nx >> 10)
        before = core & nx & (nx >> 2) & (nx >> 3) & (lines >> 7) & (lines >> 8) & (lines >> 10)
        score += (after.bit_count() + before.bit_count()) * 40
    # Rule 2: a 2x2 block of one colour: 3 each (row r+1 shifted onto row r).
    for x in (rows, ~rows & full):
        pair = x & (x >> stride)
        score += (pair & (pair >> 1) & layout.block_starts).bit_count() * 3
    # Rule 4: every 5 % the dark share is away from half: 10 (qrcode's float arithmetic).
    percent = float(rows.bit_count()) / (layout.size**2)
    return score + int(abs(percent * 100 - 50) / 5) * 10


def _best_version(data_list: list[object], error_correction: int) -> int:
    """QRCode.best_fit: the smallest version the data fits, the length fields sized for that version."""
    from bisect import bisect_left

    from qrcode import util

    start = 1
    while True:
        sizes = util.mode_sizes_for_version(start)
        bits = _Bits()
        for segment in data_list:
            bits.put(segment.mode, 4)  # type: ignore[attr-defined]
            bits.put(len(segment), sizes[segment.mode])  # type: ignore[arg-type,attr-defined]
            segment.write(bits)  # type: ignore[attr-defined]
        version = bisect_left(util.BIT_LIMIT_TABLE[error_correction], len(bits), start)
        if version == 41:
            raise ValueError("data too long for a QR code")
        if sizes is util.mode_sizes_for_version(version):
            return version
        start = version


def qr_rows(data: str) -> tuple[int, ...]:
    """The QR symbol `qrcode.make(data)` would draw (without border): one int per row, bit c = column c."""
    import qrcode

    symbol = qrcode.QRCode(border=0)
    symbol.add_data(data)
    version = _best_version(symbol.data_list, symbol.error_correction)
    codewords = _codewords(version, symbol.error_correction, symbol.data_list)
    layout = _layout(version, symbol.error_correction)
    n, stride = layout.size, layout.stride
    # The data bits placed, before any mask, as rows and as columns.
    bits_rows, bits_cols = [0] * n, [0] * n
    total = len(codewords) * 8
    for i, (r, c) in enumerate(layout.order):
        if i < total and codewords[i >> 3] >> (7 - (i & 7)) & 1:
            bits_rows[r] |= 1 << c
            bits_cols[c] |= 1 << r
    packed_rows = sum(row << (i * stride) for i, row in enumerate(bits_rows))
    packed_cols = sum(col << (i * stride) for i, col in enumerate(bits_cols))
    best, best_score = 0, -1
    for k in range(8):
        rows = layout.packed_test_rows | packed_rows ^ layout.packed_mask_rows[k]
        cols = layout.packed_test_cols | packed_cols ^ layout.packed_mask_cols[k]
        score = _packed_score(rows, cols, layout)
        if k == 0 or score < best_score:  # the first of equals wins, as in qrcode
            best, best_score = k, score
    symbol_rows = layout.packed_final_rows[best] | packed_rows ^ layout.packed_mask_rows[best]
    line = (1 << n) - 1
    return tuple((symbol_rows >> (i * stride)) & line for i in range(n))


def png(rows: tuple[int, ...], box: int = PNG_BOX, border: int = BORDER) -> bytes:
    """A black-on-white 1-bit greyscale PNG of the symbol, `box` pixels (a multiple of 8) a module."""
    if box % 8:
        raise ValueError("box must be a multiple of 8 pixels: a module is then whole bytes")
    n, per = len(rows), box // 8
    side = (n + 2 * border) * box
    dark, light = b"\x00" * per, b"\xff" * per
    margin = light * border
    light_line = b"\x00" + light * (n + 2 * border)
    lines = [light_line] * (border * box)
    # A row's bits, column 0 first, each turned into its module's bytes in one translate.
    modules = {ord("1"): dark.decode("latin-1"), ord("0"): light.decode("latin-1")}
    for row in rows:
        line = b"\x00" + margin + format(row, f"0{n}b")[::-1].translate(modules).encode("latin-1") + margin
        lines += [line] * box
    lines += [light_line] * (border * box)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale, no interlace
    idat = zlib.compress(b"".join(lines))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def svg(rows: tuple[int, ...], border: int = BORDER) -> bytes:
    """An SVG of the symbol, one module per unit, dark runs of a row as rectangles of one path."""
    n = len(rows)
    side = n + 2 * border
    parts = []
    for r, row in enumerate(rows):
        c = 0
        while c < n:
            if row >> c & 1:
                start = c
                while c < n and row >> c & 1:
                    c += 1
                parts.append(f"M{start + border},{r + border}h{c - start}v1h-{c - start}z")
            else:
                c += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{side}mm" height="{side}mm" '
        f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    ).encode()
