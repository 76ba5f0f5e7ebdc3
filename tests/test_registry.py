"""The one registry helper (corruptions._registry.Registry) and the registries built on it."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

import corruptions._registry as registry_module
from cli import main
from corruptions._registry import Registry, did_you_mean
from corruptions.registry import corruption_kernel, registered_corruptions
from robustbench_dm.errors import UserError
from robustbench_dm.methods import list_methods
from robustbench_dm.models import list_models
from robustbench_dm.suites import list_suites


class Fake:
    """A fake entry."""


def test_register_get_and_decorator_form():
    reg = Registry("widget")
    reg.register("a", Fake, "first")

    @reg.register("b")
    def b():
        """Second entry."""

    assert reg.get("a") is Fake and reg.get("b") is b
    assert reg.list() == ["a", "b"] and "a" in reg and "c" not in reg
    assert reg.items() == [("a", "first"), ("b", "Second entry.")]
    assert reg.source("a") == "built-in"


def test_duplicate_registration_is_refused_but_re_registering_the_same_object_is_not():
    reg = Registry("widget")
    reg.register("a", Fake)
    reg.register("a", Fake)
    with pytest.raises(ValueError, match="widget 'a' registered twice"):
        reg.register("a", object())


def test_unknown_name_raises_the_callers_error_with_did_you_mean():
    reg = Registry("widget", error=UserError)
    for name in ("gaussian", "glass", "fog"):
        reg.register(name, Fake)
    with pytest.raises(UserError, match=r"unknown widget 'gausian'; did you mean 'gaussian'\? "
                                        r"available: fog, gaussian, glass$"):
        reg.get("gausian")
    with pytest.raises(UserError, match=r"unknown widget 'xyz'; available: fog, gaussian, glass \(hint\)$"):
        reg.get("xyz", hint=" (hint)")
    assert did_you_mean("zzz", ["fog"]) == ""


def test_list_filter_is_fnmatch():
    reg = Registry("widget")
    for name in ("resnet18", "resnext29", "wrn40_2"):
        reg.register(name, Fake)
    assert reg.list("res*") == ["resnet18", "resnext29"]
    assert reg.list("*_2") == ["wrn40_2"]
    assert reg.list("nothing*") == []


def test_entry_points_are_discovered_and_loaded_lazily(monkeypatch):
    module = types.ModuleType("fake_widget_plugin")
    loads = []

    def __getattr__(attr):
        loads.append(attr)
        if attr == "Plugin":
            return type("Plugin", (), {"description": "from a plug-in"})
        raise AttributeError(attr)

    module.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "fake_widget_plugin", module)
    eps = [
        EntryPoint("plugged", "fake_widget_plugin:Plugin", "fake.widgets"),
        EntryPoint("builtin", "fake_widget_plugin:Shadowed", "fake.widgets"),
        EntryPoint("other", "fake_widget_plugin:Other", "other.group"),
    ]
    monkeypatch.setattr(registry_module, "entry_points",
                        lambda group: [ep for ep in eps if ep.group == group])
    reg = Registry("widget", group="fake.widgets")
    reg.register("builtin", Fake)
    assert reg.list() == ["builtin", "plugged"] and "plugged" in reg
    assert loads == []  # listing loads nothing
    assert reg.get("builtin") is Fake  # a built-in wins over an entry point of its name
    plugin = reg.get("plugged")
    assert plugin.description == "from a plug-in" and reg.get("plugged") is plugin
    assert loads == ["Plugin"]
    assert reg.describe("plugged") == "from a plug-in"
    assert Registry("widget").entry_points() == {}  # no group, no entry points


def test_the_four_registries_filter_and_suggest():
    assert registered_corruptions("*_noise") == [
        "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"]
    with pytest.raises(ValueError, match="unknown corruption 'frog'; did you mean 'fog', 'frost'"):
        corruption_kernel("frog")
    assert {name for name, _ in list_suites("cifar10-*")} >= {"cifar10-c", "cifar10-p"}
    assert all(name.startswith("cifar10-") for name, _ in list_suites("cifar10-*"))
    assert [name for name, _, _ in list_methods("*mix*")] == ["augmix", "cutmix", "dynmix", "mixup"]
    assert {"resnet18_cifar", "resnet50"} <= {name for name, _ in list_models("res*")}
    assert all(name.startswith("res") for name, _ in list_models("res*"))


def test_cli_list_takes_a_pattern():
    result = CliRunner().invoke(main, ["list", "models", "resnext*"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "resnext29_32x4d", "resnext29_4x32d", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d"]
