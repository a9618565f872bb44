"""train(): bad options and data are refused before anything is written; one step is the weighted mean loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.training import train
from keras_seq.training.distributed_step import DistributedStep

X = np.random.default_rng(0).random((6, 4), np.float32)
Y = np.arange(6) % 3


def build():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "epochs=0 is not allowed; expected an int >= 1"),
    ({"batch_size": True}, "batch_size=True is not allowed"),
    ({"learning_rate": float("nan")}, "learning_rate=nan is not allowed; expected a finite number > 0"),
    ({"clipnorm": -1.0}, "clipnorm=-1.0 is not allowed"),
    ({"clipnorm": 1.0, "global_clipnorm": 1.0}, "choose one"),
    ({"x": X[:0], "y": Y[:0]}, "the training set is empty"),
    ({"y": Y[:5]}, "x has 6 examples but y has 5"),
    ({"sample_weight": np.ones((6, 2))}, r"sample_weight has shape \(6, 2\)"),
    ({"x": np.full_like(X, np.nan)}, "x holds NaN"),
])
def test_bad_options_and_data_are_refused_before_anything_is_written(options, message, tmp_path):
    arguments = {"x": X, "y": Y, "epochs": 1, **options}
    with pytest.raises(ValueError, match=message):
        train(build, arguments.pop("x"), arguments.pop("y"), out_dir=tmp_path / "run", **arguments)
    assert not (tmp_path / "run").exists()


def test_one_step_is_the_weighted_mean_cross_entropy_and_counts_non_finite_gradients():
    strategy = tf.distribute.get_strategy()
    model = build()
    optimizer = keras.optimizers.SGD(0.0)  # a zero step: the weights stay, so the loss can be checked
    optimizer.build(model.trainable_variables)
    step = DistributedStep(model, optimizer, strategy)
    weights = np.array([1, 1, 0, 1, 0, 1], np.float32)
    probabilities = model(X).numpy()
    expected = -(np.log(probabilities[np.arange(6), Y]) * weights).sum() / weights.sum()
    loss, non_finite = step(X, Y, weights)
    assert loss == pytest.approx(expected, rel=1e-5) and non_finite == 0
    _, non_finite = step(X, Y, np.where(weights > 0, np.nan, 0).astype(np.float32))
    assert non_finite > 0
