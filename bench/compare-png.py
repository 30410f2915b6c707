#!/usr/bin/python3
# bench/compare-png.py A.png B.png [THRESHOLD]: prints the percentage of
# pixels that differ between two renders of the same size, after both are
# composited on white: a pixel differs when any channel differs by more
# than THRESHOLD/255 (default 24). Used for the level-of-detail check of
# bench/bench-render.sh. Pillow and NumPy if present, else PyQt5.
import sys


def load_pil(path):
    from PIL import Image
    import numpy
    img = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, img).convert("RGB")
    return numpy.asarray(rgb, dtype=numpy.int16)


def count_pil(a_path, b_path, threshold):
    import numpy
    a = load_pil(a_path)
    b = load_pil(b_path)
    if a.shape != b.shape:
        sys.exit(f"compare-png: sizes differ: {a_path} {a.shape[1]}x{a.shape[0]}, "
                 f"{b_path} {b.shape[1]}x{b.shape[0]}")
    differ = (numpy.abs(a - b) > threshold).any(axis=2)
    return int(differ.sum()), differ.size


def load_qt(path):
    from PyQt5.QtGui import QImage, QPainter, QColor
    src = QImage(path)
    if src.isNull():
        sys.exit(f"compare-png: cannot read {path}")
    img = QImage(src.size(), QImage.Format_RGB32)
    img.fill(QColor(255, 255, 255))
    painter = QPainter(img)
    painter.drawImage(0, 0, src)
    painter.end()
    return img


def count_qt(a_path, b_path, threshold):
    a = load_qt(a_path)
    b = load_qt(b_path)
    if a.size() != b.size():
        sys.exit(f"compare-png: sizes differ: {a_path}, {b_path}")
    w, h = a.width(), a.height()
    differ = 0
    for y in range(h):
        ra = bytes(a.constScanLine(y).asarray(w * 4))
        rb = bytes(b.constScanLine(y).asarray(w * 4))
        if ra == rb:
            continue
        for x in range(0, w * 4, 4):
            if (abs(ra[x] - rb[x]) > threshold or abs(ra[x + 1] - rb[x + 1]) > threshold
                    or abs(ra[x + 2] - rb[x + 2]) > threshold):
                differ += 1
    return differ, w * h


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: compare-png.py A.png B.png [THRESHOLD]")
    threshold = int(sys.argv[3]) if len(sys.argv) == 4 else 24
    try:
        import numpy  # noqa: F401
        from PIL import Image  # noqa: F401
        differ, total = count_pil(sys.argv[1], sys.argv[2], threshold)
    except ImportError:
        differ, total = count_qt(sys.argv[1], sys.argv[2], threshold)
    print(f"{100.0 * differ / total:.3f}")


if __name__ == "__main__":
    main()
