"""An absurd layer size is refused at once, from its weight count, before anything is allocated."""

import time

import keras
import pytest

from keras_seq.arguments import MAX_LAYER_WEIGHTS, weight_count
from keras_seq.layers import LSTM, Bottleneck1x1, Elman


def test_lstm_of_a_billion_units_is_refused_at_construction():
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"LSTMCell\(units=1000000000\)'s recurrent kernel would hold 4e\+18 "
                                         r"weights .* at most 2\*\*31 weights per layer"):
        LSTM(10**9)
    assert time.perf_counter() - started < 1.0  # it spent 54 s allocating


def test_a_huge_input_is_refused_at_build_and_real_sizes_pass():
    with pytest.raises(ValueError, match=r"ElmanCell\(units=300\) on 10000000 input features would hold 3e\+09"):
        keras.Sequential([keras.Input((5, 10**7)), Elman(300)])
    with pytest.raises(ValueError, match=r"ElmanCell\(units=50000\)'s recurrent kernel"):
        Elman(50_000)
    model = keras.Sequential([keras.Input((28, 28)), LSTM(1024)])  # well beyond the lecture's sizes
    assert model.count_params() == 4 * (28 * 1024 + 1024 * 1024 + 1024)


def test_the_limit_counts_every_weight_exactly():
    assert weight_count([(2**15, 2**16 - 1), (2**15,)], "w") == MAX_LAYER_WEIGHTS
    with pytest.raises(ValueError, match="w would hold"):
        weight_count([(2**15, 2**16 - 1), (2**15 + 1,)], "w")


def test_a_convolution_kernel_is_counted_too():
    with pytest.raises(ValueError, match=r"Bottleneck1x1's kernel of shape \(1, 1, 4096, 1048576\) would hold"):
        keras.Sequential([keras.Input((2, 2, 4096)), Bottleneck1x1(2**20)])
