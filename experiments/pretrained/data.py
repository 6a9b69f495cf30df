"""Data of the pretrained-model study: text with known labels from Debian packages, OCR
snippets rendered with Debian fonts, the PP-OCRv4 recognizer's preprocessing and CTC
decoding, and KJV / World English Bible verse pairs for the sentence encoder.

Sources (Debian): bible-kjv (`bible -f`), sword-text-web (`diatheke`, module
engWEB2015eb), fortunes (/usr/share/games/fortunes); fonts-dejavu-core, fonts-liberation.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import html
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = {
    "dejavu-sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "dejavu-serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "liberation-sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "liberation-serif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
}
FORTUNE_DIR = "/usr/share/games/fortunes"

# The 39 + 27 books both Bibles share, in KJV order; WEB's deuterocanon is skipped.
_WEB_SKIP = {"Tobit", "Judith", "Wisdom", "Sirach", "Baruch", "Prayer of Azariah", "Susanna", "Bel and the Dragon",
             "I Maccabees", "II Maccabees", "I Esdras", "Prayer of Manasses", "Additional Psalm", "III Maccabees",
             "II Esdras", "IV Maccabees"}


class UsageError(Exception):
    """Bad command-line input (run.py prints it as one line and exits with code 2)."""


class DataError(RuntimeError):
    """A data source is missing or malformed (the message names it and the fix)."""


def _run(cmd: Sequence[str]) -> str:
    if shutil.which(cmd[0]) is None:
        raise DataError(f"'{cmd[0]}' is not installed (Debian package: "
                        f"{ {'bible': 'bible-kjv', 'diatheke': 'diatheke sword-text-web'}.get(cmd[0], cmd[0])}; "
                        f"scripts/deps.sh installs it)")
    r = subprocess.run(list(cmd), capture_output=True, check=False)
    if r.returncode != 0:
        raise DataError(f"{' '.join(cmd)} failed with exit code {r.returncode}: {r.stderr.decode(errors='replace')[:200]}")
    return r.stdout.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- text sources

def kjv_verses() -> List[Tuple[Tuple[int, int, int], str]]:
    """[((book, chapter, verse), text)] of the King James Bible (Debian bible-kjv)."""
    out, books = [], []
    for line in _run(["bible", "-f", "Gen1:1-Rev22:21"]).splitlines():
        m = re.match(r"(\w+?)(\d+):(\d+) (.*)", line)
        if not m:
            continue
        if not books or books[-1] != m.group(1):
            books.append(m.group(1))
        out.append(((len(books) - 1, int(m.group(2)), int(m.group(3))), m.group(4).strip()))
    if len(books) != 66:
        raise DataError(f"bible -f gave {len(books)} books, expected 66 (is bible-kjv complete?)")
    return out


def web_verses() -> List[Tuple[Tuple[int, int, int], str]]:
    """[((book, chapter, verse), text)] of the World English Bible (sword-text-web via diatheke),
    markup removed, books numbered as in :func:`kjv_verses`."""
    text = _run(["diatheke", "-b", "engWEB2015eb", "-f", "plaintext", "-k", "Gen 1:1-Rev 22:21"])
    out, books = [], []
    for line in text.splitlines():
        m = re.search(r"((?:I{1,3}V? )?[A-Z][A-Za-z ]*?) (\d+):(\d+): (.*)", line)
        if not m or m.group(1) in _WEB_SKIP:
            continue
        if not books or books[-1] != m.group(1):
            books.append(m.group(1))
        body = re.sub(r"<[^>]*>", "", m.group(4))
        body = html.unescape(re.sub(r"\s+", " ", body)).strip()
        out.append(((len(books) - 1, int(m.group(2)), int(m.group(3))), body))
    if len(books) != 66:
        raise DataError(f"diatheke gave {len(books)} shared books, expected 66 (is sword-text-web installed?)")
    return out


def verse_pairs(limit: Optional[int] = None, seed: int = 0) -> List[Tuple[str, str]]:
    """(KJV text, WEB text) of the same verse, for verses present in both; a seeded sample."""
    web = dict(web_verses())
    pairs = [(t, web[k]) for k, t in kjv_verses() if k in web and web[k]]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    return pairs[:limit] if limit else pairs


def fortune_texts() -> List[str]:
    """Paragraphs of the Debian 'fortunes' files (one string per fortune)."""
    if not os.path.isdir(FORTUNE_DIR):
        raise DataError(f"{FORTUNE_DIR} is missing (Debian package: fortunes)")
    out = []
    for name in sorted(os.listdir(FORTUNE_DIR)):
        p = os.path.join(FORTUNE_DIR, name)
        if "." in name or not os.path.isfile(p) or name in ("ascii-art", "art"):
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            for chunk in f.read().split("\n%\n"):
                t = re.sub(r"\s+", " ", chunk).strip()
                if t:
                    out.append(t)
    return out


def text_file_lines(path: str) -> List[str]:
    """A user's text file: one text per non-empty line."""
    with open(path, encoding="utf-8") as f:
        return [re.sub(r"\s+", " ", l).strip() for l in f if l.strip()]


# ---------------------------------------------------------------- OCR labels / snippets

_NORMALIZE = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": "-", "\u2013": "-", "\t": " "}


class Charset:
    """The recognizer's classes: 0 = CTC blank, 1..K = the keys file's lines, K+1 = space."""

    def __init__(self, keys_path: str):
        with open(keys_path, encoding="utf-8") as f:
            keys = f.read().split("\n")
        if keys and keys[-1] == "":
            keys.pop()
        if not keys:
            raise DataError(f"{keys_path}: the character list is empty")
        self.chars = ["<blank>"] + keys + [" "]
        self.index = {c: i for i, c in enumerate(self.chars) if i > 0}

    def __len__(self) -> int:
        return len(self.chars)

    def clean(self, text: str) -> str:
        """The text with typographic quotes/dashes made ASCII; characters outside the set dropped."""
        t = "".join(_NORMALIZE.get(c, c) for c in text)
        return "".join(c for c in t if c in self.index)

    def decode(self, ids: Iterable[int]) -> str:
        """CTC greedy decoding of per-frame argmax ids: merge repeats, drop blanks."""
        out, prev = [], -1
        for i in ids:
            i = int(i)
            if i != prev and i != 0:
                out.append(self.chars[i])
            prev = i
        return "".join(out)


def snippets(texts: Sequence[str], count: int, charset: Charset, seed: int, min_chars: int = 8,
             max_chars: int = 24) -> List[str]:
    """`count` snippets of whole consecutive words (min_chars..max_chars characters) drawn from the texts."""
    rng = random.Random(seed)
    out: List[str] = []
    tries = 0
    while len(out) < count:
        tries += 1
        if tries > 50 * count + 1000:
            raise DataError(f"could not cut {count} snippets of {min_chars}..{max_chars} characters from the texts")
        words = charset.clean(texts[rng.randrange(len(texts))]).split()
        if not words:
            continue
        i = rng.randrange(len(words))
        target = rng.randint(min_chars, max_chars)
        s = words[i]
        j = i + 1
        while j < len(words) and len(s) + 1 + len(words[j]) <= max_chars and len(s) < target:
            s += " " + words[j]
            j += 1
        if min_chars <= len(s) <= max_chars:
            out.append(s)
    return out


@dataclass
class Sample:
    text: str          # the label
    image: np.ndarray  # H x W x 3 uint8, BGR
    source: str
    font: str
    style: str         # clean | hard | user


def render(text: str, font_path: str, style: str, rng: np.random.Generator) -> np.ndarray:
    """Renders one line of text: 'clean' (32 px glyphs, no noise) or 'hard' (11 px glyphs,
    Gaussian blur, pixel noise, random dark-on-light colours). Returns an H x W x 3 BGR uint8 image."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    size = 32 if style == "clean" else 11
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 5)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    if style == "clean":
        bg, fg = (255, 255, 255), (0, 0, 0)
    else:
        bg = tuple(int(v) for v in rng.integers(170, 256, 3))
        fg = tuple(int(v) for v in rng.integers(0, 90, 3))
    img = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=fg)
    if style == "hard":
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.7))))
        a = np.asarray(img, dtype=np.float64)
        a = a + rng.normal(0.0, 12.0, a.shape)
        img = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))
    rgb = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def ocr_samples(count: int, seed: int, charset: Charset, styles: Sequence[str] = ("clean", "hard"),
                sources: Sequence[str] = ("kjv", "fortunes"), fonts: Optional[Sequence[str]] = None) -> List[Sample]:
    """`count` rendered snippets, spread evenly over sources x fonts x styles (round robin)."""
    fonts = list(fonts or FONTS)
    for f in fonts:
        if f not in FONTS or not os.path.isfile(FONTS[f]):
            raise DataError(f"font '{f}' not found ({FONTS.get(f, 'unknown name')}; fonts-dejavu-core and fonts-liberation)")
    texts: Dict[str, List[str]] = {}
    for s in sources:
        if s == "kjv":
            texts[s] = [t for _, t in kjv_verses()]
        elif s == "web":
            texts[s] = [t for _, t in web_verses()]
        elif s == "fortunes":
            texts[s] = fortune_texts()
        else:
            raise DataError(f"unknown text source '{s}' (known: kjv, web, fortunes)")
    combos = [(s, f, st) for s in sources for f in fonts for st in styles]
    per = [count // len(combos) + (1 if i < count % len(combos) else 0) for i in range(len(combos))]
    rng = np.random.default_rng(seed)
    out: List[Sample] = []
    for ci, ((src, font, style), n) in enumerate(zip(combos, per)):
        for t in snippets(texts[src], n, charset, seed * 1000 + ci):
            out.append(Sample(t, render(t, FONTS[font], style, rng), src, font, style))
    random.Random(seed).shuffle(out)  # any prefix mixes sources, fonts and styles
    return out


def samples_from_text_file(path: str, charset: Charset, seed: int, styles: Sequence[str] = ("clean", "hard"),
                           limit: Optional[int] = None) -> List[Sample]:
    """A user's text file rendered: each line (cleaned to the charset; long lines cut into
    snippets of at most 24 characters) in every style, fonts in turn."""
    lines = text_file_lines(path)
    if not lines:
        raise DataError(f"{path}: no text lines")
    rng = np.random.default_rng(seed)
    fonts = list(FONTS)
    out: List[Sample] = []
    k = 0
    for line in lines:
        words, cur = charset.clean(line).split(), ""
        pieces = []
        for w in words:
            if cur and len(cur) + 1 + len(w) > 24:
                pieces.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        if cur:
            pieces.append(cur)
        for p in pieces:
            for st in styles:
                out.append(Sample(p, render(p, FONTS[fonts[k % len(fonts)]], st, rng), "user-text", fonts[k % len(fonts)], st))
                k += 1
                if limit and len(out) >= limit:
                    return out
    return out


def samples_from_images(labels_path: str, limit: Optional[int] = None) -> List[Sample]:
    """A user's images: `labels_path` has one line per image, 'relative/path.png<TAB>label'
    (paths relative to the labels file), as PaddleOCR's recognition lists."""
    from PIL import Image
    base = os.path.dirname(os.path.abspath(labels_path))
    out: List[Sample] = []
    with open(labels_path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise DataError(f"{labels_path}:{no}: expected 'image_path<TAB>label', got {line[:60]!r}")
            path, label = line.split("\t", 1)
            full = path if os.path.isabs(path) else os.path.join(base, path)
            if not os.path.isfile(full):
                raise DataError(f"{labels_path}:{no}: image '{full}' does not exist")
            rgb = np.asarray(Image.open(full).convert("RGB"), dtype=np.uint8)
            out.append(Sample(label, np.ascontiguousarray(rgb[:, :, ::-1]), "user-images", "-", "user"))
            if limit and len(out) >= limit:
                break
    if not out:
        raise DataError(f"{labels_path}: no labelled images")
    return out


# ---------------------------------------------------------------- recognizer input

def preprocess(image_bgr: np.ndarray, height: int = 48, max_width: int = 960) -> np.ndarray:
    """PP-OCR recognition input of one image: resized to `height` with the width by aspect
    ratio (at most max_width), (x / 255 - 0.5) / 0.5, channels BGR first: 3 x height x W float32."""
    from PIL import Image
    h, w = image_bgr.shape[:2]
    new_w = int(min(max_width, max(1, np.ceil(height * w / h))))
    img = Image.fromarray(image_bgr).resize((new_w, height), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def batches(inputs: Sequence[np.ndarray], batch: int) -> List[Tuple[List[int], np.ndarray]]:
    """Groups inputs of similar width (sorted by width), right-padded with 0 (the normalized
    mid-grey, as PaddleOCR pads a batch) to the widest in each batch: [(indices, N x 3 x H x W)]."""
    order = sorted(range(len(inputs)), key=lambda i: inputs[i].shape[2])
    out = []
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        wmax = max(inputs[i].shape[2] for i in idx)
        arr = np.zeros((len(idx), 3, inputs[idx[0]].shape[1], wmax), dtype=np.float32)
        for k, i in enumerate(idx):
            arr[k, :, :, :inputs[i].shape[2]] = inputs[i]
        out.append((idx, arr))
    return out


def cer(pred: str, ref: str) -> float:
    """Character error rate: Levenshtein distance / len(ref) (1 per edit; len(ref) = 0 -> len(pred) > 0)."""
    if not ref:
        return float(len(pred) > 0)
    prev = list(range(len(ref) + 1))
    for i, a in enumerate(pred, 1):
        cur = [i] + [0] * len(ref)
        for j, b in enumerate(ref, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1] / len(ref)
