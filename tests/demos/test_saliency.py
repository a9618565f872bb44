import keras
import numpy as np
import pytest

from keras_seq import saliency
from keras_seq.demos import figures
from keras_seq.demos import saliency as saliency_demo


def test_logits_model_gives_the_scores_before_the_softmax(trained_cnn, mnist_small):
    images = mnist_small[2][:5]
    logits = np.asarray(saliency.logits_model(trained_cnn)(images))
    np.testing.assert_allclose(keras.ops.softmax(logits), trained_cnn(images), atol=1e-5)
    assert trained_cnn.layers[-1].activation is keras.activations.softmax  # original untouched


@pytest.mark.parametrize("method", sorted(saliency_demo.METHODS))
def test_every_method_maps_in_unit_range_and_peaks_on_ink(method, trained_cnn, mnist_small):
    images, labels = mnist_small[2][:6], mnist_small[3][:6]
    options = {"samples": 8} if method == "smoothgrad" else {}
    maps = saliency_demo.METHODS[method](trained_cnn, **options)(images, labels)
    assert maps.shape == (6, 28, 28) and np.all(np.isfinite(maps))
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6
    assert np.all(maps.reshape(6, -1).std(axis=1) > 0.01)  # not constant
    # A trained digit model looks at the strokes: more saliency on ink than on paper.
    assert saliency.ink_contrast(maps, images) > 1.2


def test_gradient_methods_depend_on_the_class(trained_cnn, mnist_small):
    image = mnist_small[2][:1]
    explain = saliency.VanillaSaliency(trained_cnn)
    assert not np.allclose(explain(image, [0]), explain(image, [1]))


def test_smoothgrad_is_reproducible_and_leaves_numpy_random_state_alone(trained_cnn, mnist_small):
    images, labels = mnist_small[2][:2], mnist_small[3][:2]
    np.random.seed(5)
    expected_next = np.random.rand()
    np.random.seed(5)
    first = saliency.SmoothGrad(trained_cnn, samples=3, seed=1)(images, labels)
    assert np.random.rand() == expected_next
    second = saliency.SmoothGrad(trained_cnn, samples=3, seed=1)(images, labels)
    np.testing.assert_array_equal(first, second)


def test_cam_layer_defaults_to_the_last_feature_map(trained_cnn):
    assert saliency.last_feature_map_layer(trained_cnn) == "conv2"
    dense = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match="no convolutional feature-map layer"):
        saliency.GradCAMPlusPlus(dense)
    with pytest.raises(ValueError, match="layer='nope' is not a layer"):
        saliency.ScoreCAM(trained_cnn, layer="nope")


@pytest.mark.parametrize("images, classes, message", [
    (np.zeros((2, 28, 28), np.float32), [1, 2], "has shape"),
    (np.zeros((2, 28, 28, 1), np.float32), [1], "one per image"),
    (np.zeros((2, 28, 28, 1), np.float32), [1, 10], r"lie in \[0, 10\)"),
    (np.full((1, 28, 28, 1), np.nan, np.float32), [1], "NaN"),
    (np.zeros((0, 28, 28, 1), np.float32), [], "empty"),
])
def test_bad_images_or_classes_are_refused(trained_cnn, images, classes, message):
    with pytest.raises(ValueError, match=message):
        saliency.VanillaSaliency(trained_cnn)(images, classes)


def test_bad_options_are_refused(trained_cnn):
    with pytest.raises(ValueError, match="samples=0 is not allowed"):
        saliency.SmoothGrad(trained_cnn, samples=0)
    with pytest.raises(ValueError, match="noise=-1 is not allowed"):
        saliency.SmoothGrad(trained_cnn, noise=-1)
    with pytest.raises(ValueError, match="batch_size=0 is not allowed"):
        saliency.ScoreCAM(trained_cnn, batch_size=0)
    with pytest.raises(ValueError, match="methods='lime' is not allowed; expected one of 'vanilla'"):
        saliency_demo.explain_digits(trained_cnn, np.zeros((1, 28, 28, 1)), [0], methods=("lime",))


def test_explain_digits_writes_one_readable_figure_per_method(trained_cnn, mnist_small, tmp_path):
    images, labels = mnist_small[2][:3], mnist_small[3][:3]
    result = saliency_demo.explain_digits(trained_cnn, images, labels, out=tmp_path, smoothgrad_samples=2)
    assert sorted(p.name for p in result["paths"]) == sorted(saliency_demo.FILE_NAMES.values())
    for path in result["paths"]:
        assert figures.png_size(path) == (round((1.55 * 3 + 1.0) * 100), 400)
    assert result["predicted"].shape == (3,)


def _sequence_model(recurrent):
    inputs = keras.Input((None, 16, 8, 1))
    x = keras.layers.Reshape((-1, 128))(inputs)
    x = keras.layers.Dense(12, activation="tanh")(x)
    if recurrent:
        x = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))(x)
    outputs = keras.layers.Dense(26, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_letter_saliency_sees_context_only_through_the_recurrence(tmp_path):
    word = (np.random.default_rng(0).random((5, 16, 8)) > 0.6).astype(np.float32)
    per_letter = saliency.LetterSaliency(_sequence_model(recurrent=False))(word)
    # Without a recurrence letter t is decided by letter t's pixels alone.
    np.testing.assert_allclose(per_letter["letter_share"], np.eye(5), atol=1e-6)
    bidirectional = saliency.LetterSaliency(_sequence_model(recurrent=True))(word, letters=np.arange(5))
    share = bidirectional["letter_share"]
    assert share.shape == (5, 5) and np.allclose(share.sum(axis=1), 1.0)
    assert share[0, 1:].sum() > 0 and share[4, :4].sum() > 0  # looks right of t=0 and left of t=4
    assert bidirectional["maps"].shape == (5, 5, 16, 8) and bidirectional["maps"].max() == pytest.approx(1.0)
    path = saliency_demo.draw_letter_saliency(word, bidirectional, "abcde", tmp_path / "word.png")
    width, height = figures.png_size(path)
    assert width > 500 and height > 300


def test_letter_saliency_refuses_bad_words():
    explain = saliency.LetterSaliency(_sequence_model(recurrent=False))
    with pytest.raises(ValueError, match="expected"):
        explain(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="one per letter"):
        explain(np.ones((3, 16, 8)), letters=[1, 2])


def test_cam_maps_of_lenet5_line_up_with_the_unpadded_digit(mnist_small):
    from keras_seq.models import lenet5

    model = lenet5("modern")
    assert saliency.field_padding(model) == ((2, 2), (2, 2))
    images = mnist_small[2][:2]
    for method in (saliency.GradCAMPlusPlus(model), saliency.ScoreCAM(model)):
        maps = method(images, [0, 1])
        assert maps.shape == (2, 28, 28) and np.all(np.isfinite(maps))


def test_upsample_to_input_crops_the_padded_field():
    # A map that is 1 on the left half of a 32-wide field, seen through 2 pixels of padding.
    field = np.zeros((1, 4, 4), np.float32)
    field[:, :, :2] = 1
    maps = saliency.upsample_to_input(field, ((2, 2), (2, 2)), (28, 28))
    assert maps.shape == (1, 28, 28)
    assert maps[0, :, :10].min() > 0.99 and maps[0, :, 18:].max() < 0.01
