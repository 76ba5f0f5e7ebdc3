"""Published baseline constants, keyed by corruption name (never by position).

AlexNet's ImageNet-C top-1 errors (fractions), full 50,000-image set, torchvision AlexNet
(``alexnet-owt-4df8aa71.pth``; hendrycks/robustness issue #38: "We used the torchvision
pretrained model").

Source: hendrycks/robustness ``README.md`` at commit 76d9393 (2019-10-10, "Add AlexNet errors on
ImageNet-C"), section "AlexNet ImageNet-C Error", present up to commit 5aa129e (2020-05-05).
The per-corruption means equal google-research/augmix ``imagenet.py`` ``ALEXNET_ERR`` to six
decimals (the 15 benchmark corruptions).

There are deliberately no ImageNet-P (flip probability / top-5 distance) AlexNet constants: they
were only ever published in a Google Sheet (hendrycks/robustness issue #49), so mFR / mT5D need a
baseline measured by the user (see :func:`robustbench_dm.metrics.mfr`).
"""

from __future__ import annotations

from types import MappingProxyType

# Source: hendrycks/robustness README.md @ 76d9393, "AlexNet ImageNet-C Error", severities 1..5.
# Non-monotonic rows (snow, elastic_transform, saturate) are in the source; do not "fix" them.
ALEXNET_ERRORS: MappingProxyType[str, tuple[float, ...]] = MappingProxyType({
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.94870, 0.98720, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.58430, 0.70048, 0.82108, 0.89750, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.91870, 0.94952),
    "frost": (0.61390, 0.79734, 0.88790, 0.89942, 0.93430),
    "fog": (0.67474, 0.76050, 0.84378, 0.87260, 0.94500),
    "brightness": (0.45140, 0.48502, 0.54048, 0.62166, 0.72440),
    "contrast": (0.64548, 0.76150, 0.88874, 0.97760, 0.99270),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.54620, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
    "speckle_noise": (0.66192, 0.74440, 0.90246, 0.94548, 0.97268),
    "gaussian_blur": (0.54732, 0.70444, 0.82574, 0.89864, 0.95940),
    "spatter": (0.47196, 0.62194, 0.75052, 0.84132, 0.90182),
    "saturate": (0.59342, 0.65514, 0.51174, 0.70834, 0.82260),
})

# Mean over the 5 severities of each row above; for the 15 benchmark corruptions these are
# augmix imagenet.py ``ALEXNET_ERR`` (0.886428, 0.894468, ..., 0.606500).
ALEXNET_MEAN_ERRORS: MappingProxyType[str, float] = MappingProxyType(
    {name: sum(row) / len(row) for name, row in ALEXNET_ERRORS.items()}
)

# torchvision AlexNet_Weights.IMAGENET1K_V1 (the weights above): acc@1 56.522 -> error 0.43478.
# Source: https://pytorch.org/vision/stable/models/generated/torchvision.models.alexnet.html
# No Hendrycks source publishes a clean-error constant; reports must say this value was used.
ALEXNET_CLEAN_ERROR: float = 0.43478


def list_baselines() -> list[tuple[str, str]]:
    """The normalisation baselines `score`/`report` accept, with one-line descriptions."""
    return [
        ("alexnet", "AlexNet ImageNet-C errors, 19 corruptions x 5 severities "
                    "(hendrycks/robustness README, Oct 2019); default for imagenet-c"),
        ("alexnet-clean", f"AlexNet clean top-1 error {ALEXNET_CLEAN_ERROR} "
                          "(torchvision IMAGENET1K_V1, 56.522% top-1); for relative mCE"),
        ("none", "no normalisation: mean error (CIFAR-C convention) and unnormalised mFP/mT5D"),
        ("PATH/results.h5", "another model's results file as the baseline, any suite: "
                            "CE/mCE, FR/mFR, T5D/mT5D relative to that model"),
    ]
