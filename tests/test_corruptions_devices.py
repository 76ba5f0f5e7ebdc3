"""Every corruption kernel on an accelerator (skipped where there is none): the same fidelity
bars as on the CPU, at each preset's own size.

* deterministic kernels: CORRUPTIONS.md §5.2 exact bar against the stored reference outputs
  (snow-like resampler exceptions do not apply: all deterministic kernels meet the exact bar on
  the CPU), and max <= 1 against the CPU path on the same input;
* random kernels: bar (a), the mean PSNR-vs-clean of 8 draws within max(0.3 dB, 3 sigma_ref) of
  the reference's (the device has its own random streams, so outputs differ from the CPU's).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import corruption_reference as ref
import corruptions

DEVICES = ["cuda"] if torch.cuda.is_available() else []
DETERMINISTIC = ("defocus_blur", "zoom_blur", "gaussian_blur", "brightness", "contrast",
                 "pixelate", "jpeg_compression", "saturate")
pytestmark = pytest.mark.skipif(not DEVICES, reason="no accelerator here; the CPU path is "
                                "covered by every other corruption test")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", ref.SIZES)
@pytest.mark.parametrize("name", [n for n in corruptions.CORRUPTIONS + corruptions.EXTRA
                                  if n in DETERMINISTIC])
def test_deterministic_kernels_on_device(name, size, device):
    preset = ref.PRESET_OF_SIZE[size]
    for image in ref.stored_images(size, "det"):
        clean = ref.clean(size, image)
        for severity in range(1, 6):
            ours = corruptions.corrupt(clean.to(device), name, severity, preset=preset)
            assert ours.device.type == device and ours.dtype == torch.uint8
            cpu = corruptions.corrupt(clean, name, severity, preset=preset)
            assert int((ours.cpu().int() - cpu.int()).abs().max()) <= 1, (name, size, severity)
            if severity in ref.stored_severities(size, "det"):
                ref.assert_exact(ours.cpu(), ref.deterministic(size, name, severity, image),
                                 f"{name} {size}px sev {severity} {image} on {device}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", ref.SIZES)
@pytest.mark.parametrize("name", [n for n in corruptions.CORRUPTIONS + corruptions.EXTRA
                                  if n not in DETERMINISTIC])
def test_random_kernels_on_device(name, size, device):
    preset = ref.PRESET_OF_SIZE[size]
    for image in ref.IMAGES:
        clean = ref.clean(size, image)
        for severity in range(1, 6):
            gen = torch.Generator(device=device).manual_seed(severity)
            outs = corruptions.corrupt(clean.expand(8, -1, -1, -1).to(device), name, severity,
                                       preset=preset, generator=gen)
            assert outs.device.type == device and outs.shape == (8, *clean.shape[1:])
            again = corruptions.corrupt(clean.expand(8, -1, -1, -1).to(device), name, severity,
                                        preset=preset,
                                        generator=torch.Generator(device=device).manual_seed(severity))
            assert torch.equal(outs, again), f"{name} is not deterministic for a generator"
            st = ref.stats(size, name, severity, image)
            mean = float(np.mean([ref.psnr(o, clean[0]) for o in outs.cpu()]))
            tol = max(0.3, 3 * st["psnr_vs_clean_std"])
            assert abs(mean - st["psnr_vs_clean_mean"]) <= tol, (
                f"{name} {size}px sev {severity} {image} on {device}: mean PSNR vs clean "
                f"{mean:.3f} dB, reference {st['psnr_vs_clean_mean']:.3f} ± {tol:.3f}")
