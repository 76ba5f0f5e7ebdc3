"""What a new user of the on-the-fly suites runs into (``score --generate --clean-root DIR``,
``evaluate(..., generate=True, clean_root=...)``): every suite takes the same options, a
contradictory or misplaced option is refused in one line that names the command's flags, and a
results file left by an interrupted run never claims to cover the whole suite."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn

from formats import write_cifar_pickle, write_fashion_mnist_idx
from imagenet_fixtures import metadata_of, run_cli, write_photo_folder, write_tiny_model
from robustbench_dm import evaluate
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error: ")]
    return line


@pytest.mark.parametrize("suite", ["imagenet-c", "cifar10-c"])
def test_generate_with_a_data_root_other_than_the_clean_set_is_refused(suite, clean, tmp_path):
    source = clean if suite == "imagenet-c" else write_cifar_pickle(tmp_path / "cifar", 4)
    released = tmp_path / "released"
    released.mkdir()
    with pytest.raises(UserError, match="data_root .*released is not read with generate=True") as err:
        get_suite(suite, released, generate=True, clean_root=source, corruptions=["fog"], severities=[1])
    assert set(err.value.params) == {"data_root", "generate", "clean_root"}
    # the clean set named twice is the same source: accepted
    assert get_suite(suite, source, generate=True, clean_root=source, corruptions=["fog"],
                     severities=[1]).metadata()["generated"]


def test_generate_with_a_data_root_names_the_flags_and_writes_nothing(clean, model, tmp_path):
    released = tmp_path / "released"
    released.mkdir()
    line = _error_line(run_cli("score", model, "--suite", "imagenet-c", "--generate", "--clean-root", clean,
                               "--data-root", released, "--out", tmp_path / "out", "--device", "cpu"))
    assert line.startswith(f"error: --data-root {released} is not read with --generate, which makes the "
                           f"suite from --clean-root {clean} only; drop --data-root, or drop --generate"), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,expected", [
    (["--suite", "imagenet-c", "--generate"], "error: --generate needs --clean-root"),
    (["--suite", "imagenet-c", "--generate", "--clean-root", "{clean}", "--resolution", "17"],
     "error: invalid --resolution 17; expected an integer number of pixels >= 32"),
    (["--suite", "imagenet-p", "--generate", "--clean-root", "{clean}", "--resolution", "384"],
     "does not take option(s) --resolution"),
    (["--suite", "imagenet-c", "--data-root", "{clean}", "--resolution", "384"],
     "error: option --resolution applies to suites made on the fly (--generate)"),
    (["--suite", "imagenet-3dcc", "--generate", "--clean-root", "{clean}"],
     "error: ImageNet-3DCC needs depth maps: it is scored from its released files only and cannot be made"),
    (["--suite", "imagenet-c", "--generate", "--clean-root", "{clean}", "--option", "preprocessing=augmix"],
     "error: preprocessing 'augmix' applies to released files; a suite made on the fly is made at 224 px"),
    (["--suite", "fmnist-c", "--data-root", "{fm}", "--clean-root", "{clean}"],
     "error: --clean-root adds the clean cell of a fmnist-c suite written by make-suite; "),
    (["--suite", "imagenet-c", "--generate", "--clean-root", "{clean}", "--option", "clean_decoder=nvjpeg"],
     "error: clean_decoder 'nvjpeg' needs a CUDA GPU to decode on; --device is cpu"),
])
def test_misplaced_on_the_fly_options_are_named_by_their_flags(args, expected, clean, model, tmp_path):
    fm = write_fashion_mnist_idx(tmp_path / "fm", 6)
    args = [a.format(clean=clean, fm=fm) for a in args]
    line = _error_line(run_cli("score", model, *args, "--out", tmp_path / "out", "--device", "cpu"))
    assert expected in line, line
    for name in (" clean_root", "generate=True", " resolution", " data_root"):
        assert name not in line, line


def test_fmnist_c_and_p_generate_from_clean_root_as_the_other_suites(tmp_path):
    idx = write_fashion_mnist_idx(tmp_path / "fmnist", 6)
    for suite in ("fmnist-c", "fmnist-p"):
        generated = get_suite(suite, generate=True, clean_root=idx, limit=4, corruptions=["brightness"])
        as_today = get_suite(suite, idx, limit=4, corruptions=["brightness"])
        assert generated.metadata()["images_key"] == as_today.metadata()["images_key"]
        assert generated.metadata()["generated"]
    with pytest.raises(UserError, match="generate=True needs clean_root") as err:
        get_suite("fmnist-c", generate=True)
    assert err.value.params == ("generate", "clean_root")


def test_fmnist_c_scores_with_generate_and_clean_root_on_the_command_line(tmp_path):
    idx = write_fashion_mnist_idx(tmp_path / "fmnist", 6)
    net = tmp_path / "net.pt"
    write_tiny_model(net, classes=10)
    fly = run_cli("score", net, "--suite", "fmnist-c", "--generate", "--clean-root", idx, "--out",
                  tmp_path / "fly", "--corruptions", "fog", "--severities", "1", "--device", "cpu")
    assert fly.exit_code == 0, fly.output
    today = run_cli("score", net, "--suite", "fmnist-c", "--data-root", idx, "--out", tmp_path / "today",
                    "--corruptions", "fog", "--severities", "1", "--device", "cpu")
    assert today.exit_code == 0, today.output
    assert metadata_of(tmp_path / "fly/results.h5")["images_key"] == \
        metadata_of(tmp_path / "today/results.h5")["images_key"]


@pytest.mark.parametrize("suite,source,resolution,expected", [
    ("imagenet-3dcc", "imagenet", None, "ImageNet-3DCC needs depth maps: it is scored from its released files only"),
    ("cifar10-c", "cifar10", 384, "resolution 384 is available for imagenet-c only"),
])
def test_make_suite_refusals_match_score_generate(suite, source, resolution, expected, clean, tmp_path):
    from robustbench_dm.suites.make_suite import make_suite

    with pytest.raises(UserError, match=expected) as err:
        make_suite(suite, source, clean, tmp_path / "out", resolution=resolution)
    assert err.value.params == (() if resolution is None else ("resolution",))
    assert not (tmp_path / "out").exists()


def test_tiny_imagenet_val_layout_is_refused_in_one_line_saying_what_to_do(tmp_path):
    val = write_photo_folder(tmp_path / "tiny" / "val" / "images", size=64)
    (tmp_path / "tiny/val/val_annotations.txt").write_text("ILSVRC2012_val_00000001.JPEG\tn01440764\t0\t0\t63\t63\n")
    with pytest.raises(UserError, match=r"Tiny-ImageNet's val layout .*expected <root>/<wnid>/<file>\.JPEG"):
        get_suite("tinyimagenet-c", generate=True, clean_root=val.parent, corruptions=["fog"], severities=[1])


class _Interrupted(nn.Module):
    """A fixed model that raises KeyboardInterrupt (Ctrl-C) at its ``stop``-th forward pass."""

    def __init__(self, stop: int | None):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Linear(3, 10)
        self.calls, self.stop = 0, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.stop:
            raise KeyboardInterrupt
        return self.head(x.mean((2, 3)))


def test_an_interrupted_run_is_not_recorded_as_the_whole_suite_until_resumed(tmp_path):
    cifar = write_cifar_pickle(tmp_path / "cifar", 4)
    out = tmp_path / "out"
    run = dict(generate=True, clean_root=cifar, device="cpu", progress=False, out=out, batch_size=4)
    said = []
    with pytest.raises(KeyboardInterrupt):
        evaluate(_Interrupted(stop=5), "cifar10-c", log=said.append, **run)
    assert said[-1] == (f"interrupted: 4 of 76 cells saved in {out / 'results.h5'}; "
                        "re-running the same command resumes")
    held = metadata_of(out / "results.h5")
    assert held["subset"]["complete"] is False
    # resuming a narrower selection leaves it a subset; resuming the whole suite completes it
    evaluate(_Interrupted(stop=None), "cifar10-c", corruptions=["fog"], severities=[1], **run)
    assert metadata_of(out / "results.h5")["subset"]["complete"] is False
    ev = evaluate(_Interrupted(stop=None), "cifar10-c", **run)
    assert metadata_of(out / "results.h5")["subset"]["complete"] is True
    assert len(ev.results.cells()) == 1 + 15 * 5


def test_make_suite_at_another_resolution_says_the_suite_it_wrote(clean, tmp_path):
    made = run_cli("make-suite", "imagenet-c", "--from", "imagenet", "--data-root", clean, "--out",
                   tmp_path / "c384", "--resolution", "48", "--corruptions", "fog", "--severities", "1",
                   "--device", "cpu")
    assert made.exit_code == 0, made.output
    assert "imagenet-c-48px in " in made.stdout and "imagenet-c in" not in made.stdout
    assert "make-suite imagenet-c-48px:" in made.stderr and "(fog/1 done)" in made.stderr


def test_the_printed_table_says_generated_resolution_seed_and_subset(clean, model, tmp_path):
    fly = run_cli("score", model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--resolution",
                  "48", "--corruptions", "fog", "--severities", "1", "--seed", "3", "--out", tmp_path / "fly",
                  "--device", "cpu")
    assert fly.exit_code == 0, fly.output
    title, scope = fly.stdout.splitlines()[1:3]
    assert title.startswith("suite imagenet-c-48px: top-1 error")
    assert scope == "ImageNet-C at 48 px (generated), seed 3; a subset of the suite (only some of its cells)"


def test_a_whole_released_suite_prints_no_scope_line():
    from robustbench_dm.scoring import format_summary

    summary = {"suite": "cifar10-c", "clean_error": 0.1, "mean_error": 0.2, "mce": None, "relative_mce": None,
               "corruptions": {"fog": {"errors": [0.2] * 5, "ce": None, "rms_calibration_error": [None] * 5}}}
    whole = {"subset": {"limit": None, "corruptions": ["fog"], "severities": [1, 2, 3, 4, 5], "complete": True}}
    assert format_summary(summary, whole) == format_summary(summary)
    limited = {"subset": {**whole["subset"], "limit": 10}}
    assert format_summary(summary, limited).splitlines()[1] == "a subset of the suite (at most 10 images per cell)"


def test_published_rows_left_out_for_an_unverified_checkpoint_read_as_english(clean, model, tmp_path):
    import robustbench_dm as rb

    ev = rb.evaluate(str(model), "imagenet-c", generate=True, clean_root=clean, corruptions=["fog"],
                     severities=[1], limit=2, device="cpu", progress=False, allow_mismatch=True)
    rb.report([ev], out=tmp_path / "report", n_boot=100)
    text = (tmp_path / "report/report.md").read_text()
    assert "was scored despite an unverified checkpoint" in text and "despite a unverified" not in text


@pytest.mark.slow  # the report's ImageNet photograph gallery takes ~15 s
def test_released_and_generated_runs_of_one_suite_are_not_titled_generated(tmp_path):
    from reports.build import write_report
    from results_fixtures import c_suite_cells, write_results

    cells = c_suite_cells({("clean", 0): 0.2, ("fog", 1): 0.3}, 200, num_classes=20)
    generated = write_results(tmp_path / "gen.h5", cells, suite="imagenet-c", num_classes=20,
                              metadata={"label": "ImageNet-C (generated)", "generated": True})
    released = write_results(tmp_path / "rel.h5", cells, suite="imagenet-c", num_classes=20)
    doc = write_report([released, generated], tmp_path / "report", labels=["rel", "gen"], n_boot=100)
    titles = [table.title for table in doc.tables if ":" in table.title]
    assert titles and not any("(generated)" in title for title in titles), titles
    alone = write_report([generated], tmp_path / "alone", n_boot=100)
    assert any(t.title.startswith("ImageNet-C (generated):") for t in alone.tables)


def test_the_printed_table_names_byte_changing_options_by_their_flags(clean, model, tmp_path):
    fly = run_cli("score", model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--fast-jpeg",
                  "--corruptions", "fog", "--severities", "1", "--limit", "1", "--out", tmp_path / "fast",
                  "--device", "cpu")
    assert fly.exit_code == 0, fly.output
    assert fly.stdout.splitlines()[2] == ("ImageNet-C (generated), seed 0, --fast-jpeg; a subset of the suite "
                                          "(at most 1 image per cell)")


def test_imagenet_p_on_the_fly_records_the_encoder_build_that_makes_its_bytes(clean):
    from robustbench_dm.suites.released_video import x264_build

    suite = get_suite("imagenet-p", generate=True, clean_root=clean, corruptions=["brightness"], limit=1)
    build = x264_build()
    assert build.startswith("libx264 core ") and build in suite.metadata()["generator"]["final_save"]


def test_imagenet_c_on_the_fly_records_the_jpeg_library_of_its_q85_save(clean):
    import PIL

    from robustbench_dm.suites.released_jpeg import pil_jpeg_build

    suite = get_suite("imagenet-c", generate=True, clean_root=clean, corruptions=["fog"], severities=[1], limit=1)
    assert f"Pillow {PIL.__version__}, libjpeg" in pil_jpeg_build()
    assert pil_jpeg_build() in suite.metadata()["generator"]["final_save"]


def test_resuming_with_another_byte_changing_option_names_the_option_not_a_whole_dict(clean, model, tmp_path):
    common = ["score", model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--corruptions", "fog",
              "--severities", "1", "--limit", "1", "--out", tmp_path / "out", "--device", "cpu"]
    assert run_cli(*common).exit_code == 0
    line = _error_line(run_cli(*common, "--fast-jpeg"))
    assert "generator options fast_jpeg None" in line and "generator options fast_jpeg True" in line, line
    assert "'chunk_size'" not in line and "'seeding'" not in line, line


def test_merged_shards_of_a_generated_suite_print_the_same_scope_line(tmp_path):
    cifar = write_cifar_pickle(tmp_path / "cifar", 4)
    net = tmp_path / "net.pt"
    write_tiny_model(net, classes=10)
    parts = []
    for i in (1, 2):
        part = run_cli("score", net, "--suite", "cifar10-c", "--generate", "--clean-root", cifar, "--corruptions",
                       "fog", "--shard", f"{i}/2", "--out", tmp_path / f"part{i}", "--device", "cpu")
        assert part.exit_code == 0, part.output
        parts.append(tmp_path / f"part{i}")
    merged = run_cli("merge", *parts, "--out", tmp_path / "merged")
    assert merged.exit_code == 0, merged.output
    assert merged.stdout.splitlines()[1] == "generated on the fly, seed 0; a subset of the suite (only some of its cells)"


def test_a_cifar_suite_made_on_the_fly_is_titled_generated_in_reports(tmp_path):
    from reports.build import write_report
    from results_fixtures import c_suite_cells, write_results

    cells = c_suite_cells({("clean", 0): 0.2, ("fog", 1): 0.3}, 200)
    generated = write_results(tmp_path / "gen.h5", cells, metadata={"generated": True})
    released = write_results(tmp_path / "rel.h5", cells)
    alone = write_report([generated], tmp_path / "alone", n_boot=100)
    assert any(t.title.startswith("cifar10-c (generated):") for t in alone.tables)
    both = write_report([released, generated], tmp_path / "both", labels=["rel", "gen"], n_boot=100)
    assert not any("(generated)" in t.title for t in both.tables)


def test_a_class_count_mismatch_on_the_fly_says_the_classes_are_the_clean_folders(clean, tmp_path):
    net = tmp_path / "net.pt"
    write_tiny_model(net, classes=5)
    line = _error_line(run_cli("score", net, "--suite", "imagenet-c", "--generate", "--clean-root", clean,
                               "--corruptions", "fog", "--severities", "1", "--out", tmp_path / "out",
                               "--device", "cpu"))
    assert f"5 classes but the suite has 3 (the <wnid>/ class folders of --clean-root {clean}" in line
    assert "empty ones count): class counts of model and suite must agree" in line
    # the advice holds: two empty class folders more make the 5 classes, in sorted order
    padded = tmp_path / "padded"
    shutil.copytree(clean, padded)
    (padded / "n99999998").mkdir()
    (padded / "n99999999").mkdir()
    ok = run_cli("score", net, "--suite", "imagenet-c", "--generate", "--clean-root", padded, "--corruptions",
                 "fog", "--severities", "1", "--limit", "1", "--out", tmp_path / "padded_out", "--device", "cpu")
    assert ok.exit_code == 0, ok.output


def test_a_checkpoint_of_other_classes_is_refused_before_scoring_saying_where_the_classes_come_from(clean, tmp_path):
    from robustbench_dm.models import NORMALIZATIONS, create_model, save_checkpoint

    net = create_model("small_cnn", 10, NORMALIZATIONS["imagenet"])
    ckpt = save_checkpoint(tmp_path / "c.pt", arch="small_cnn", num_classes=10, normalization=net.normalization,
                           state_dict=net.net.state_dict())
    with pytest.raises(UserError, match=r"has 10 classes but suite 'imagenet-c' has 3 \(the <wnid>/ class folders "
                                        r"of clean_root .*\): class counts must agree") as err:
        evaluate(ckpt, "imagenet-c", generate=True, clean_root=clean, corruptions="fog", severities="1",
                 device="cpu", progress=False, out=tmp_path / "out")
    assert err.value.params == ("clean_root",) and not (tmp_path / "out" / "results.h5").exists()
