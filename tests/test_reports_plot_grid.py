"""The small-multiples helpers of `reports.plot_style`: grid shape, labels, hidden panels,
markers."""

from reports.plot_style import MARKERS, grid_shape, label_grid, marker, new_figure


def test_grid_shape_is_at_most_five_wide_and_holds_every_panel():
    assert grid_shape(1) == (1, 1)
    assert grid_shape(3) == (1, 3)
    assert grid_shape(5) == (1, 5)
    assert grid_shape(6) == (2, 5)
    assert grid_shape(15) == (3, 5)
    assert grid_shape(16) == (4, 5)
    assert grid_shape(7, most_columns=3) == (3, 3)


def test_label_grid_hides_unused_panels_and_labels_the_outer_axes():
    fig = new_figure(6, 4, layout=None)
    axes = fig.subplots(2, 3, sharex=True, sharey=True, squeeze=False)
    label_grid(axes, 4, xlabel="x", ylabel="y")
    assert [ax.get_visible() for ax in axes.flat] == [True] * 4 + [False] * 2
    assert [ax.get_ylabel() for ax in axes.flat] == ["y", "", "", "y", "", ""]
    assert [ax.get_xlabel() for ax in axes.flat] == ["", "", "", "x", "x", "x"]


def test_markers_repeat_after_the_list():
    assert [marker(i) for i in range(len(MARKERS))] == list(MARKERS)
    assert marker(len(MARKERS) + 1) == MARKERS[1]
