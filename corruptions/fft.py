"""Real 2-D FFTs for the FFT-based blurs: scipy's pocketfft on the CPU (about twice as fast as
``torch.fft`` there, single precision kept), ``torch.fft`` on other devices."""

from __future__ import annotations

import scipy.fft
import torch


def fast_fft_length(n: int) -> int:
    """The smallest 2-3-5-smooth length >= n (fast FFT sizes)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def rfft2(x: torch.Tensor, s: tuple[int, int]) -> torch.Tensor:
    """``torch.fft.rfft2(x, s=s)`` over the last two dimensions (zero-padded to ``s``)."""
    if x.device.type != "cpu":
        return torch.fft.rfft2(x, s=s)
    return torch.from_numpy(scipy.fft.rfft2(x.numpy(), s=s, workers=torch.get_num_threads()))


def irfft2(spectrum: torch.Tensor, s: tuple[int, int]) -> torch.Tensor:
    """``torch.fft.irfft2(spectrum, s=s)`` over the last two dimensions."""
    if spectrum.device.type != "cpu":
        return torch.fft.irfft2(spectrum, s=s)
    return torch.from_numpy(scipy.fft.irfft2(spectrum.numpy(), s=s,
                                             workers=torch.get_num_threads()))
