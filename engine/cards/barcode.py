"""Code 128 (code sets B and C) encoder to SVG, and a decoder used by the tests to round-trip symbols.

A symbol is a list of values 0..106: a start code (104 = B, 105 = C), the data values, the checksum
``(start + sum(position * value)) % 103`` and the stop code 106. Digit runs are packed two digits per
value in code set C (a 12-digit member code is start C + 6 values + checksum + stop = 101 modules);
everything else printable ASCII (32..126) goes through code set B. Each value is drawn as six element
widths (bar, space, bar, space, bar, space; eleven modules), the stop as seven (thirteen modules).
"""
from __future__ import annotations

# ISO/IEC 15417 element widths, index = symbol value; 106 is the stop pattern.
PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
START_B, START_C, STOP = 104, 105, 106
CODE_B, CODE_C = 100, 99  # "switch to code set" values (the same value in sets A/B/C where valid)
QUIET_MODULES = 10  # quiet zone on each side, in modules


def _digit_run(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    return end - start


def encode(text: str) -> list[int]:
    """The symbol values (start, data, checksum, stop) for ``text``; ValueError outside ASCII 32..126."""
    if not text:
        raise ValueError("empty barcode text")
    for char in text:
        if not 32 <= ord(char) <= 126:
            raise ValueError(f"character {char!r} cannot be encoded in Code 128 B/C")
    values: list[int] = []
    current: int | None = None  # START_B or START_C while in that set
    i = 0
    while i < len(text):
        run = _digit_run(text, i)
        at_edge = i == 0 or i + run == len(text)
        if run >= 2 and (run == len(text) or run >= (4 if at_edge else 6)):
            if run % 2 and i > 0:  # odd run inside the text: its first digit goes in set B
                current = _switch(values, current, START_B)
                values.append(ord(text[i]) - 32)
                i, run = i + 1, run - 1
            current = _switch(values, current, START_C)
            pairs = run - run % 2  # an odd run at the start leaves its last digit to set B
            values.extend(int(text[j:j + 2]) for j in range(i, i + pairs, 2))
            i += pairs
            continue
        current = _switch(values, current, START_B)
        step = max(run, 1)
        values.extend(ord(char) - 32 for char in text[i:i + step])
        i += step
    checksum = values[0] + sum(pos * value for pos, value in enumerate(values[1:], start=1))
    return [*values, checksum % 103, STOP]


def _switch(values: list[int], current: int | None, wanted: int) -> int:
    if current is None:
        values.append(wanted)
    elif current != wanted:
        values.append(CODE_C if wanted == START_C else CODE_B)
    return wanted


def widths(values: list[int]) -> list[int]:
    """Element widths in modules, bar first, for a list of symbol values."""
    return [int(w) for value in values for w in PATTERNS[value]]


def decode(element_widths: list[int]) -> str:
    """Text from element widths (no quiet zones); ValueError on a bad pattern, checksum or framing."""
    by_pattern = {pattern: value for value, pattern in enumerate(PATTERNS)}
    if len(element_widths) < 6 * 3 + 7 or (len(element_widths) - 7) % 6:
        raise ValueError("wrong number of elements")
    chunks = [element_widths[k:k + 6] for k in range(0, len(element_widths) - 7, 6)]
    values = []
    for chunk in chunks:
        key = "".join(map(str, chunk))
        if key not in by_pattern or by_pattern[key] == STOP:
            raise ValueError(f"unknown pattern {key}")
        values.append(by_pattern[key])
    if "".join(map(str, element_widths[-7:])) != PATTERNS[STOP]:
        raise ValueError("missing stop pattern")
    *body, checksum = values
    if body[0] not in (START_B, START_C):
        raise ValueError("missing start B/C")
    if (body[0] + sum(pos * value for pos, value in enumerate(body[1:], start=1))) % 103 != checksum:
        raise ValueError("bad checksum")
    out, current = [], body[0]
    for value in body[1:]:
        if value == CODE_B and current == START_C or value == CODE_C and current == START_B:
            current = START_B if value == CODE_B else START_C
        elif current == START_C:
            out.append(f"{value:02d}")
        else:
            out.append(chr(value + 32))
    return "".join(out)


def svg(text: str, height: float = 40.0, color: str = "#000") -> str:
    """An SVG document drawing the barcode: one path, one user unit per module, quiet zones included.

    Size it in CSS (width/height of the <img>); ``preserveAspectRatio="none"`` stretches it to the box.
    """
    elements = widths(encode(text))
    total = sum(elements) + 2 * QUIET_MODULES
    x = QUIET_MODULES
    parts = []
    for k, width in enumerate(elements):
        if k % 2 == 0:
            parts.append(f"M{x} 0h{width}v{height:g}h-{width}z")
        x += width
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {height:g}" '
        f'width="{total}" height="{height:g}" preserveAspectRatio="none" shape-rendering="crispEdges">'
        f'<path fill="{color}" d="{"".join(parts)}"/></svg>'
    )
