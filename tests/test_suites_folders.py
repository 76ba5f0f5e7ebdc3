"""Folder suites: ImageNet-C, Tiny-ImageNet-C, ImageNet-3DCC (images) and ImageNet-P (mp4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from formats import write_imagenet_c_folder, write_imagenet_folder, write_imagenet_p
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite

WN = ["n03", "n01", "n02"]  # written unsorted: class index follows the sorted names


def _all(suite, name, level, batch_size=2):
    return [torch.cat(parts) for parts in zip(*suite.iter_cell(name, level, batch_size))]


def _code(name, s, wnid, file_id, size=16):
    """Lossless PNG content encoding (severity, file id, class) in three channels."""
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = s, file_id, int(wnid[1:])
    return image


def test_imagenet_c_as_stored_labels_from_sorted_wnids_and_stable_index(tmp_path):
    write_imagenet_c_folder(tmp_path, ["fog", "snow"], WN, 2, size=16, ext="png", pixels=_code)
    suite = get_suite("imagenet-c", tmp_path, corruptions=["fog", "snow"])
    assert suite.num_classes == 3 and suite.kind == "c"
    assert suite.cells() == [(c, s) for c in ("fog", "snow") for s in range(1, 6)]
    images, labels, index = _all(suite, "snow", 3)
    assert images.shape == (6, 3, 16, 16) and images.dtype == torch.uint8
    assert images[:, 0, 0, 0].eq(3).all()
    file_ids = images[:, 1, 0, 0].tolist()
    assert file_ids == sorted(file_ids)  # validation order: (stem, wnid)
    assert labels.tolist() == [int(w) - 1 for w in images[:, 2, 0, 0].tolist()]
    assert index.tolist() == list(range(6))
    other = _all(suite, "fog", 1)
    assert torch.equal(other[0][:, 1:], images[:, 1:]) and torch.equal(other[2], index)
    meta = suite.metadata()
    assert meta["preprocessing"] == "as stored (no resize, no crop)" and meta["num_classes"] == 3


def test_limit_takes_first_validation_images_across_classes(tmp_path):
    write_imagenet_c_folder(tmp_path, ["fog"], WN, 2, size=16, ext="png", pixels=_code, severities=[1])
    suite = get_suite("imagenet-c", tmp_path, corruptions="fog", severities=[1], limit=3)
    images, labels, _ = _all(suite, "fog", 1)
    assert images[:, 1, 0, 0].tolist() == [1, 2, 3] and sorted(labels.tolist()) == [0, 1, 2]
    assert suite.metadata()["subset"]["limit"] == 3


def test_augmix_preprocessing_and_clean_cell(tmp_path):
    write_imagenet_c_folder(tmp_path / "c", ["fog"], WN, 1, size=224, severities=[2])
    write_imagenet_folder(tmp_path / "val", WN, 1, size=(300, 260))
    suite = get_suite("imagenet-c", tmp_path / "c", corruptions="fog", severities=[2],
                      preprocessing="augmix", clean_root=tmp_path / "val")
    assert suite.cells() == [("clean", 0), ("fog", 2)]
    assert _all(suite, "clean", 0)[0].shape == (3, 3, 224, 224)
    assert _all(suite, "fog", 2)[0].shape == (3, 3, 224, 224)
    assert "Resize(256)" in suite.metadata()["preprocessing"]
    with pytest.raises(UserError, match="preprocessing"):
        get_suite("imagenet-c", tmp_path / "c", corruptions="fog", preprocessing="resize")


def test_tinyimagenet_and_3dcc(tmp_path):
    write_imagenet_c_folder(tmp_path / "tiny", ["pixelate"], WN, 1, size=64, severities=[5])
    tiny = get_suite("tinyimagenet-c", tmp_path / "tiny", corruptions="pixelate", severities=5)
    assert _all(tiny, "pixelate", 5)[0].shape == (3, 3, 64, 64)
    names = ["near_focus", "far_focus", "fog_3d", "flash", "color_quant", "low_light", "xy_motion_blur",
             "z_motion_blur", "iso_noise", "bit_error", "h265_abr", "h265_crf"]
    write_imagenet_c_folder(tmp_path / "3d" / "ImageNet-3DCC", names, WN, 1, size=16, severities=[1])
    suite = get_suite("imagenet-3dcc", tmp_path / "3d", severities=[1])
    assert [c for c, _ in suite.cells()] == names
    with pytest.raises(UserError, match="unknown corruption 'fog'"):
        get_suite("imagenet-3dcc", tmp_path / "3d", corruptions="fog")


def test_folder_bad_input(tmp_path):
    write_imagenet_c_folder(tmp_path, ["fog"], WN, 2, size=16, ext="png", pixels=_code)
    with pytest.raises(UserError, match=r"missing folder .*snow"):
        get_suite("imagenet-c", tmp_path, corruptions="fog,snow")
    with pytest.raises(UserError, match="gaussian_noise"):
        get_suite("imagenet-c", tmp_path)  # the 15 benchmark corruptions by default
    with pytest.raises(UserError, match="does not exist"):
        get_suite("imagenet-c", tmp_path / "none", corruptions="fog")
    bad = tmp_path / "fog" / "4" / "n02" / "ILSVRC2012_val_00000003.png"
    bad.write_bytes(b"not an image")
    suite = get_suite("imagenet-c", tmp_path, corruptions="fog")
    with pytest.raises(UserError, match=f"unreadable image {bad}"):
        _all(suite, "fog", 4)
    # a cell that does not hold the other cells' images is refused when opened, before scoring
    other = write_imagenet_c_folder(tmp_path / "other", ["fog"], WN, 2, size=16, ext="png")
    write_imagenet_folder(other / "fog" / "3", ["n04"], 1, size=16, ext="png")
    with pytest.raises(UserError, match="class folders"):
        get_suite("imagenet-c", other, corruptions="fog")
    (tmp_path / "fog" / "2" / "n01" / "ILSVRC2012_val_00000002.png").unlink()
    with pytest.raises(UserError, match="ILSVRC2012_val_00000002"):
        get_suite("imagenet-c", tmp_path, corruptions="fog")


def test_image_of_other_size_is_refused(tmp_path):
    write_imagenet_c_folder(tmp_path, ["fog"], WN, 1, size=16, ext="png", severities=[1, 2])
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "fog/2/n02/ILSVRC2012_val_00000003.png")
    suite = get_suite("imagenet-c", tmp_path, corruptions="fog", severities=[1, 2])
    with pytest.raises(UserError, match="expected 16x16"):
        _all(suite, "fog", 2)


# ---- ImageNet-P ----

WN_P = ["n03", "n01", "n02", "n05", "n04"]  # the top-5 distance needs at least 5 classes

def test_imagenet_p_decodes_every_frame(tmp_path):
    write_imagenet_p(tmp_path, ["gaussian_noise", "translate", "rotate"], WN_P, 1, difficulties=(1, 2), size=32)
    suite = get_suite("imagenet-p", tmp_path, corruptions="gaussian_noise,translate,rotate", severities="1,2")
    assert suite.kind == "p" and suite.num_classes == 5
    assert suite.cells() == [(p, d) for p in ("gaussian_noise", "translate", "rotate") for d in (1, 2)]
    videos, labels, index = _all(suite, "translate", 1)
    assert videos.shape == (5, 41, 3, 32, 32) and videos.dtype == torch.uint8
    assert _all(suite, "gaussian_noise", 2)[0].shape == (5, 31, 3, 32, 32)
    assert sorted(labels.tolist()) == [0, 1, 2, 3, 4] and index.tolist() == [0, 1, 2, 3, 4]
    # the _2 folder holds other videos; rotate at difficulty 2 reads the same videos as at 1
    assert not torch.equal(_all(suite, "gaussian_noise", 2)[0], _all(suite, "gaussian_noise", 1)[0])
    assert torch.equal(_all(suite, "rotate", 2)[0], _all(suite, "rotate", 1)[0])


def test_imagenet_p_frames_match_written_content(tmp_path):
    import av

    path = tmp_path / "brightness" / "n01" / "ILSVRC2012_val_00000001.mp4"
    path.parent.mkdir(parents=True)
    levels = np.linspace(20, 230, 31).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for v in levels:
            frame = np.full((32, 32, 3), v, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    for wnid in ("n02", "n03", "n04", "n05"):  # empty class folders: 5 classes, one video
        (tmp_path / "brightness" / wnid).mkdir()
    videos = _all(get_suite("imagenet-p", tmp_path, corruptions="brightness"), "brightness", 1)[0]
    means = videos.float().mean(dim=(0, 2, 3, 4)).numpy()
    assert np.abs(means - levels).max() < 4


def test_imagenet_p_bad_input(tmp_path):
    write_imagenet_p(tmp_path, ["shot_noise"], WN_P, 1, size=16, frames=4)
    with pytest.raises(UserError, match="shot_noise_3"):
        get_suite("imagenet-p", tmp_path, corruptions="shot_noise", difficulty=3)
    with pytest.raises(UserError, match=r"missing folder .*gaussian_noise"):
        get_suite("imagenet-p", tmp_path)
    bad = tmp_path / "shot_noise" / "n02" / "ILSVRC2012_val_00000003.mp4"
    bad.write_bytes(b"\0" * 100)
    suite = get_suite("imagenet-p", tmp_path, corruptions="shot_noise")
    with pytest.raises(UserError, match=f"unreadable video {bad}"):
        _all(suite, "shot_noise", 1)
