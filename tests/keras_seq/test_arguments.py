import numpy as np
import pytest

from keras_seq import arguments


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "3", None])
def test_positive_int_refuses_with_the_one_message(value):
    with pytest.raises(ValueError, match=r"^units=.* is not allowed; expected an int >= 1$"):
        arguments.positive_int(value, "units")


def test_numpy_ints_pass_as_python_ints():
    value = arguments.positive_int(np.int64(3), "units")
    assert value == 3 and type(value) is int
    assert arguments.positive_int(None, "batch_size", allow_none=True) is None


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan"), True, "0.5"])
def test_fraction_is_half_open(value):
    with pytest.raises(ValueError, match=r"expected a finite number >= 0 and < 1"):
        arguments.fraction(value, "dropout")
    assert arguments.fraction(0, "dropout") == 0.0


def test_integer_bounds_and_real_bounds():
    with pytest.raises(ValueError, match=r"expected an int >= 1 and <= 8"):
        arguments.integer(9, "num_threads", minimum=1, maximum=8)
    with pytest.raises(ValueError, match=r"expected a finite number > 0"):
        arguments.positive_real(0.0, "clipnorm")
    assert arguments.positive_real(np.float32(0.5), "clipnorm") == 0.5


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_boolean_coerces_nothing(value):
    with pytest.raises(ValueError, match=r"expected True or False"):
        arguments.boolean(value, "use_bias")
    assert arguments.boolean(np.bool_(True), "use_bias") is True


def test_choice_lists_what_is_allowed():
    with pytest.raises(ValueError, match=r"merge_mode='avg' is not allowed; expected one of 'concat', 'sum'"):
        arguments.choice("avg", "merge_mode", ("concat", "sum"))
