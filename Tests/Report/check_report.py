#!/usr/bin/env python3
"""Checks a report rendered by headless Chromium (make test-report), Python stdlib only.

usage: check_report.py [--sweep] SCREENSHOT.png DOM.html CHROMIUM_LOG

The screenshot must be a PNG that is not blank (many distinct colours, some not white); the
DOM Chromium built must hold the report's inline SVG charts and its sections (two runs: the
config-diff table; --sweep, a halving sweep: the leaderboard, a chart per parameter, the top
trials' curves and the rungs); the log must hold no console error or uncaught exception.
"""
import struct
import sys
import zlib


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                sys.exit(f"{path}: unexpected PNG format (depth {depth}, colour type {colour})")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    args = sys.argv[1:]
    sweep = args[:1] == ["--sweep"]
    png, dom, log = args[1:4] if sweep else args[0:3]
    width, height, bpp, rows = png_pixels(png)
    colours, ink = set(), 0
    for row in rows[::4]:
        for x in range(0, width * bpp, bpp * 2):
            px = row[x:x + 3]
            colours.add(px)
            if px != b"\xff\xff\xff":
                ink += 1
    print(f"check_report: {png}: {width}x{height}, {len(colours)} colours, {ink} sampled non-white pixels")
    if len(colours) < 16 or ink < 1000:
        sys.exit(f"{png}: looks blank ({len(colours)} colours, {ink} non-white samples)")
    text = open(dom, encoding="utf-8", errors="replace").read()
    needed = ["Runs compared", "Config keys that differ", 'class="config-diff"', "optimizer.lr",
              "<h3>Diagnosis</h3>", "Resolved config (config.json)", "loss per logged step", "lr_too_low",
              "Test set: per-class figures and confusion matrix", 'class="confusion"']
    if sweep:
        needed = ['class="leaderboard"', "val_accuracy against optimizer.lr", "optimizer.lr (log scale)",
                  "val_accuracy against model.layers.1.units", "Curves of the top 5 trials", "Successive halving rungs",
                  'class="rungs"', "val_accuracy per rung"]
    missing = [n for n in needed if n not in text]
    svgs = text.count("<svg")
    print(f"check_report: {dom}: {svgs} svg elements")
    if missing or svgs < (7 if sweep else 8):
        sys.exit(f"{dom}: missing {missing}, {svgs} svg elements")
    if "<script" in text:
        sys.exit(f"{dom}: holds a script")
    bad = [l for l in open(log, errors="replace") if "Uncaught" in l or "CONSOLE" in l]
    if bad:
        sys.exit("console errors while rendering:\n" + "".join(bad[:10]))
    print("check_report: OK")


main()
