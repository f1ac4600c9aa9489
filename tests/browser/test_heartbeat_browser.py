"""The cards' heartbeat strips as Chromium draws them: one element per strip, cut into a bar per round by the
stylesheet's mask, each bar coloured by its round's latency class, in the light and the dark theme."""
from __future__ import annotations

import struct
import zlib

import pytest

from layouts import ids
from layouts.status import HEARTBEAT_SLOTS
from tests.browser.demo_data import DOWN_SERVER

pytest.importorskip("selenium")
CARD = f"a.{ids.CARD_CLASS}"
STEADY_EXCELLENT = "10.50.9.1"  # 24 ms, never loses a packet
STEADY_FAIR = "10.30.4.20"  # 105 ms
RED = (220, 38, 38)  # --lm-down
FAIR_LIGHT, FAIR_DARK = (202, 138, 4), (234, 179, 8)  # --lm-fair in each theme


def png_pixels(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """(width, height, rows of RGB) of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        idat += body if kind == b"IDAT" else b""
        chunks.setdefault(kind, body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    step = 3 if colour == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), width * step, bytearray(width * step), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left, up = line[i - step] if i >= step else 0, prev[i]
            upleft = prev[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else upleft)) & 255
        rows.append([tuple(line[x * step:x * step + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def distance(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def strip_of(dash_duo, server_id: str):
    return dash_duo.find_element(f"{CARD} [data-server='{server_id}'] .lm-heartbeat")


def computed(dash_duo, element, prop: str) -> str:
    return dash_duo.driver.execute_script("return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])",
                                          element, prop)


def rgb(text: str) -> tuple[int, int, int]:
    """'rgb(1, 2, 3)' or 'rgba(1, 2, 3, 0.5)' -> (1, 2, 3)."""
    return tuple(int(float(v)) for v in text[text.index("(") + 1:text.index(")")].split(",")[:3])


def bars_in(dash_duo, server_id: str) -> list[tuple[int, int, int]]:
    """The colour of each bar Chromium drew across the middle of a strip (runs of pixels unlike the card)."""
    strip = strip_of(dash_duo, server_id)
    # Bootstrap makes scrolling smooth: jump instead, so the screenshot shows the strip where its box says.
    box = dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});"
        "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height];", strip)
    left, top, width, height = (round(v) for v in box)
    _, _, rows = png_pixels(dash_duo.driver.get_screenshot_as_png())
    paper = rows[top - 3][left + 1]  # the card just above the strip
    bars, run = [], []
    for pixel in rows[top + height // 2][left:left + width + 1] + [paper]:
        if distance(pixel, paper) > 40:
            run.append(pixel)
        elif run:
            bars.append(run[len(run) // 2])
            run = []
    return bars


def test_each_strip_is_one_element_cut_into_a_bar_per_round(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"{CARD} .lm-heartbeat", timeout=20)
    assert not dash_duo.find_elements(f"{CARD} .lm-heartbeat *")
    steady = bars_in(dash_duo, STEADY_EXCELLENT)
    assert len(steady) == HEARTBEAT_SLOTS
    assert len({c for c in steady}) <= 2  # one green (a pixel may round differently)
    down = bars_in(dash_duo, DOWN_SERVER)
    assert len(down) == HEARTBEAT_SLOTS
    assert distance(down[-1], RED) < 60 and distance(down[0], RED) > 60  # down now, answering before
    title = strip_of(dash_duo, DOWN_SERVER).get_attribute("title")
    assert title.startswith(f"Last {HEARTBEAT_SLOTS} rounds") and "down at" in title
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_strip_colours_follow_the_theme(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"{CARD} .lm-heartbeat", timeout=20)
    fair = strip_of(dash_duo, STEADY_FAIR)
    assert rgb(computed(dash_duo, fair, "background-color")) == FAIR_LIGHT
    dash_duo.driver.execute_script("document.documentElement.setAttribute('data-bs-theme', 'dark')")
    assert rgb(computed(dash_duo, fair, "background-color")) == FAIR_DARK
    assert len(bars_in(dash_duo, STEADY_FAIR)) == HEARTBEAT_SLOTS
