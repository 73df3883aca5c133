#!/usr/bin/env bash
# Screenshots of what people see, from the shipped sample night, into
# docs/img/:
#   report.png           the run report, rendered by headless Chromium
#   workbook-queue.png   an office's workbook printed to PDF by LibreOffice
#                        headless: the Queue sheet's first page
#   workbook-help.png    the same PDF's "How to read" page
#   explain.png          `safeflag explain` of a queued child, as its page
#
#   bash docs/screenshots.sh      # SAFEFLAG=target/release/safeflag by default
#
# Needs Debian's chromium and libreoffice, and the Python package pypdfium2
# to turn PDF pages into PNGs (installed with pip when missing). Nothing
# here fetches anything at run time but that one package.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin=${SAFEFLAG:-$repo/target/release/safeflag}
img=$repo/docs/img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$img"

# The sample night, in a scratch folder so the repository's out/ is untouched.
cp safeflag.toml "$work/"
ln -s "$repo/data-samples" "$work/data-samples"
ln -s "$repo/models" "$work/models"
(cd "$work" && "$bin" nightly --config safeflag.toml -q >/dev/null)
run=$work/out/runs/2025-11-21

chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars "$@" 2>/dev/null
}
chrome --window-size=1000,4600 --screenshot="$img/report.png" "file://$run/report.html"
"$bin" explain C0002470 --run "$run" --html "$work/explain.html" -q >/dev/null
chrome --window-size=1000,1900 --screenshot="$img/explain.png" "file://$work/explain.html"

book=$(ls "$run"/exports/office-xlsx/office-northside-*.xlsx)
soffice --headless --convert-to pdf --outdir "$work/pdf" "$book" >/dev/null
pdf=$work/pdf/$(basename "${book%.xlsx}").pdf
python3 -c 'import pypdfium2' 2>/dev/null || pip install -q pypdfium2
python3 - "$pdf" "$img" <<'EOF'
import struct
import sys
import zlib

import pypdfium2 as pdfium


def save_png(bitmap, path):
    """The rendered page as a PNG, written with the standard library alone."""
    w, h, stride, n = bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
    raw = bytes(bitmap.buffer)
    rows = b"".join(b"\0" + raw[y * stride : y * stride + w * n] for y in range(h))
    kind = {3: 2, 4: 6}[n]

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, kind, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(rows, 9)))
        f.write(chunk(b"IEND", b""))


pdf = pdfium.PdfDocument(sys.argv[1])
print(f"workbook PDF: {len(pdf)} pages")
# Page 1: the queue; the help sheet follows the queue's pages.
help_page = next(
    i for i in range(len(pdf))
    if "How to read this queue" in pdf[i].get_textpage().get_text_range()
)
for index, name in [(0, "workbook-queue.png"), (help_page, "workbook-help.png")]:
    save_png(pdf[index].render(scale=1.6, rev_byteorder=True), f"{sys.argv[2]}/{name}")
EOF
echo "screenshots: $img/{report,explain,workbook-queue,workbook-help}.png"
