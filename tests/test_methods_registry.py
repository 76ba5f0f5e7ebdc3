"""Registry: built-ins, module:Class specs, entry points, option handling."""

import sys
import textwrap

import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.methods import Method, create_method, list_methods, load_method
from robustbench_dm.methods.dynmix import DynamicMixup

BUILTINS = {"standard", "mixup", "cutmix", "autoaugment_star", "random_autoaugment_star", "augmix", "dynmix"}


def test_list_methods_shows_every_builtin_with_source():
    rows = {name: (desc, source) for name, desc, source in list_methods()}
    assert BUILTINS <= set(rows)
    assert all(rows[n][1] == "built-in" and rows[n][0] for n in BUILTINS)


def test_builtins_load_by_name():
    for name in BUILTINS:
        cls = load_method(name)
        assert issubclass(cls, Method) and cls.name == name


def test_module_class_spec_and_errors(tmp_path, monkeypatch):
    (tmp_path / "my_methods_mod.py").write_text(textwrap.dedent("""
        from robustbench_dm.methods import Method
        class Mine(Method):
            name = "mine"
            description = "mine"
        NotAMethod = int
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_method("my_methods_mod:Mine").name == "mine"
    with pytest.raises(UserError, match="not a robustbench_dm.methods.Method"):
        load_method("my_methods_mod:NotAMethod")
    with pytest.raises(UserError, match="has no attribute 'Nope'"):
        load_method("my_methods_mod:Nope")
    with pytest.raises(UserError, match="cannot import module 'no_such_mod_xyz'"):
        load_method("no_such_mod_xyz:Cls")
    with pytest.raises(UserError, match="unknown method 'nope'; available: augmix"):
        load_method("nope")


def test_module_in_current_directory_is_found(tmp_path, monkeypatch):
    (tmp_path / "cwd_methods_mod.py").write_text(
        "from robustbench_dm.methods.standard import Standard\nclass S2(Standard):\n    name = 's2'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert load_method("cwd_methods_mod:S2").name == "s2"


def test_entry_point_methods_are_listed_with_their_package(tmp_path, monkeypatch):
    (tmp_path / "ep_methods_mod.py").write_text(
        "from robustbench_dm.methods import Method\nclass EP(Method):\n    name = 'epm'\n    description = 'from a package'\n")
    dist = tmp_path / "fake_methods_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-methods-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[robustbench_dm.methods]\nepm = ep_methods_mod:EP\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = {name: (desc, source) for name, desc, source in list_methods()}
    assert rows["epm"] == ("from a package", "package fake-methods-pkg")
    assert load_method("epm").name == "epm"


def test_options_defaults_coercion_and_errors():
    assert DynamicMixup.option_defaults()["severity"] == 3.0
    assert DynamicMixup.option_defaults("imagenet")["severity"] == 1.0
    m = create_method("dynmix", jsd="false", alpha="0.5", weights="independent", **{"linear-only": "1"})
    assert m.options()["jsd"] is False and m.options()["alpha"] == 0.5 and m.options()["linear_only"] is True
    assert create_method("mixup", scale="imagenet").options() == {"alpha": 0.2}
    with pytest.raises(UserError, match="unknown option 'beta' for method 'mixup'; valid options: alpha"):
        create_method("mixup", beta=1)
    with pytest.raises(UserError, match="weights='both'.*complementary, independent"):
        create_method("dynmix", weights="both")
    with pytest.raises(UserError, match="alpha='x'.*expected a float"):
        create_method("dynmix", alpha="x")
    with pytest.raises(UserError, match="prob=1.5"):
        create_method("cutmix", prob=1.5)
    with pytest.raises(UserError, match="scale 'tiny'"):
        create_method("standard", scale="tiny")


def test_default_loss_is_base_transform_plus_cross_entropy():
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(6)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    out = create_method("standard").loss(net, x, y, torch.Generator().manual_seed(0))
    assert out.loss.shape == () and out.logits.shape == (6, 10) and torch.equal(out.targets, y)
    assert out.loss.requires_grad
