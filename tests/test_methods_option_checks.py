"""Method options are checked on construction by the rules each method declares (``checks``)
and its rules between options (``check_options``); the message names the value and the rule."""

import pytest

from robustbench_dm.errors import UserError
from robustbench_dm.methods import Check, LossOutput, Method, create_method

BAD = [
    ("augmix", {"severity": 0}, "option severity=0.0 of method 'augmix': expected a level in [0.1, 10]"),
    ("augmix", {"width": 0}, "option width=0 of method 'augmix': expected an integer >= 1"),
    ("augmix", {"depth": 0}, "option depth=0 of method 'augmix': expected -1 (random 1-3) or >= 1"),
    ("augmix", {"alpha": 0}, "option alpha=0.0 of method 'augmix': expected a number > 0"),
    ("augmix", {"lam": -1}, "option lam=-1.0 of method 'augmix': expected a number >= 0"),
    ("dynmix", {"alpha": 0}, "option alpha=0.0 of method 'dynmix': expected a number > 0"),
    ("dynmix", {"lam": -1}, "option lam=-1.0 of method 'dynmix': expected a number >= 0"),
    ("dynmix", {"severity": 11}, "option severity=11.0 of method 'dynmix': expected a level in [0.1, 10]"),
    ("dynmix", {"jsd": False, "single_sample_jsd": True},
     "option single_sample_jsd=True of method 'dynmix': expected False when jsd is False"),
    ("cutmix", {"beta": 0}, "option beta=0.0 of method 'cutmix': expected a number > 0"),
    ("cutmix", {"prob": 2}, "option prob=2.0 of method 'cutmix': expected a probability in [0, 1]"),
    ("mixup", {"alpha": -1}, "option alpha=-1.0 of method 'mixup': expected a number > 0"),
    ("random_autoaugment_star", {"severity": 0.05},
     "option severity=0.05 of method 'random_autoaugment_star': expected a level in [0.1, 10]"),
]


@pytest.mark.parametrize("name, options, message", BAD, ids=[f"{n}-{sorted(o)}" for n, o, _ in BAD])
def test_a_value_outside_its_rule_is_refused_with_the_rule(name, options, message):
    with pytest.raises(UserError) as err:
        create_method(name, **options)
    assert str(err.value) == message


@pytest.mark.parametrize("name, options", [("augmix", {"severity": 0.1, "depth": -1, "lam": 0.0}),
                                           ("dynmix", {"severity": 10.0, "jsd": False}),
                                           ("cutmix", {"prob": 0.0}), ("mixup", {"alpha": 0.01})])
def test_values_on_the_edge_of_their_rule_are_taken(name, options):
    assert create_method(name, **options).options().items() >= options.items()


def test_a_plugin_declares_its_own_checks():
    class Smooth(Method):
        name = "smooth"
        defaults = {"smoothing": 0.1}
        checks = {"smoothing": Check(lambda s: 0 <= s < 1, "a number in [0, 1)")}

        def loss(self, model, images, targets, generator):  # pragma: no cover - not called
            return LossOutput(None, None, targets)

    assert Smooth(smoothing=0.5).options() == {"smoothing": 0.5}
    with pytest.raises(UserError, match=r"option smoothing=1.0 of method 'smooth': expected a number in \[0, 1\)"):
        Smooth(smoothing=1)
