"""Write docs/gallery_224_384.jpg: every corruption at severity 3 on the same photograph at 224 px
(the release) and at 384 px (spatial parameters scaled by 384/224, docs/resolution.md).

    python bench/resolution_gallery.py [--out docs/gallery_224_384.jpg] [--severity 3]

The clean images are made as ``score --generate --resolution R`` makes them (PIL
Resize(round(R*256/224)) + CenterCrop(R) of skimage's astronaut); the same seed draws both.
Both tiles of a pair are shown at the same display size (``--tile`` px), so a scaled corruption
should look the same at both resolutions, only sharper at 384.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

import corruptions
from corruptions.presets import scaled_preset
from robustbench_dm.suites.crop import resize_center_crop

SIZES = (224, 384)


def clean(resolution: int) -> torch.Tensor:
    import skimage.data

    image = resize_center_crop(Image.fromarray(skimage.data.astronaut()), resolution)
    return torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())[None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/gallery_224_384.jpg")
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--tile", type=int, default=192, help="display size of each tile, px")
    args = parser.parse_args()
    names = ("clean",) + corruptions.CORRUPTIONS + corruptions.EXTRA
    pairs_per_row, tile, label, gap = 2, args.tile, 16, 6
    rows = -(-len(names) // pairs_per_row)
    width = pairs_per_row * (2 * tile + 3 * gap) + gap
    sheet = Image.new("RGB", (width, 24 + rows * (tile + label + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((gap, 4), f"severity {args.severity}: left 224 px (released), right 384 px "
                        "(spatial parameters x 384/224); both shown at the same size", fill="black")
    sources = {r: clean(r) for r in SIZES}
    for k, name in enumerate(names):
        x0 = gap + (k % pairs_per_row) * (2 * tile + 3 * gap)
        y0 = 24 + (k // pairs_per_row) * (tile + label + gap)
        draw.text((x0, y0), name, fill="black")
        for j, r in enumerate(SIZES):
            images = sources[r]
            if name != "clean":
                gen = torch.Generator().manual_seed(0)
                images = corruptions.corrupt(images, name, args.severity, generator=gen,
                                             preset=scaled_preset("imagenet", r, r))
            tile_image = Image.fromarray(images[0].permute(1, 2, 0).numpy()).resize((tile, tile), Image.LANCZOS)
            sheet.paste(tile_image, (x0 + j * (tile + gap), y0 + label))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    # photographs: JPEG at quality 90 keeps the sheet a few hundred KB (a PNG was 2.6 MB)
    sheet.save(args.out, quality=90, optimize=True)
    print(f"wrote {args.out} ({sheet.size[0]}x{sheet.size[1]})")


if __name__ == "__main__":
    main()
