import numpy as np
import pytest

from keras_seq.demos import figures
from keras_seq.demos.occlusion import map_correlation, occlusion_vs_gradient
from keras_seq.saliency import OcclusionSensitivity, ink_contrast


def _corner_classifier(batch):
    """p(class 1) grows with the ink in the top-left 6x6 corner; nothing else matters."""
    corner = batch[:, :6, :6, 0].sum(axis=(1, 2))
    p1 = 1 / (1 + np.exp(-(corner - 34.0)))
    return np.stack([1 - p1, p1], axis=1)


def test_occlusion_is_zero_where_the_model_does_not_look():
    image = np.ones((1, 12, 12, 1), np.float32)
    maps = OcclusionSensitivity(_corner_classifier, patch=2, stride=2)(image, [1])
    assert maps.shape == (1, 12, 12)
    assert np.all(maps[0, :6, :6] > 0)
    np.testing.assert_array_equal(maps[0, 6:, :], 0)
    np.testing.assert_array_equal(maps[0, :, 6:], 0)


def test_patch_positions_cover_every_pixel():
    corners = OcclusionSensitivity(_corner_classifier, patch=4, stride=3).positions(11, 11)
    covered = np.zeros((11, 11), bool)
    for r, c in corners:
        covered[r:r + 4, c:c + 4] = True
    assert covered.all()


def test_occlusion_of_a_trained_cnn_sits_on_the_strokes(trained_cnn, mnist_small):
    images, labels = mnist_small[2][:4], mnist_small[3][:4]
    maps = OcclusionSensitivity(lambda b: trained_cnn(b).numpy())(images, labels)
    assert np.all(maps.reshape(4, -1).std(axis=1) > 0)
    assert ink_contrast(np.clip(maps, 0, None), images) > 1.5


def test_occlusion_beside_gradient_writes_the_figure(trained_cnn, mnist_small, tmp_path):
    images, labels = mnist_small[2][:2], mnist_small[3][:2]
    result = occlusion_vs_gradient(trained_cnn, lambda b: trained_cnn(b).numpy(), images, labels,
                                   out=tmp_path, edge_name="same model")
    assert result["occlusion"].shape == result["gradient"].shape == (2, 28, 28)
    assert np.all(result["correlation"] > 0)  # both explanations favour the same strokes
    assert figures.png_size(result["path"]) == (round((1.6 * 2 + 1.6) * 100), 590)


def test_map_correlation_of_a_map_with_itself_is_one():
    maps = np.random.default_rng(0).random((3, 5, 5))
    np.testing.assert_allclose(map_correlation(maps, maps), 1.0)
    np.testing.assert_allclose(map_correlation(maps, -maps), -1.0)


@pytest.mark.parametrize("options, message", [
    ({"patch": 2, "stride": 3}, "larger than patch"),
    ({"patch": 0}, "patch=0 is not allowed"),
    ({"fill": np.nan}, "fill=nan is not allowed"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        OcclusionSensitivity(_corner_classifier, **options)


def test_bad_calls_are_refused():
    with pytest.raises(ValueError, match="callable"):
        OcclusionSensitivity("model.tflite")
    occlusion = OcclusionSensitivity(_corner_classifier, patch=20)
    with pytest.raises(ValueError, match="larger than the 12x12"):
        occlusion(np.ones((1, 12, 12, 1)), [1])
    with pytest.raises(ValueError, match="outside"):
        OcclusionSensitivity(_corner_classifier)(np.ones((1, 12, 12, 1)), [5])
    broken = OcclusionSensitivity(lambda b: np.zeros(len(b)))
    with pytest.raises(ValueError, match="expected \\(N, classes\\)"):
        broken(np.ones((1, 12, 12, 1)), [0])
