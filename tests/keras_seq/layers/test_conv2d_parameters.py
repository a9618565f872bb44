import keras


def test_keras_conv2d_has_c_o_times_c_i_h_w_plus_one_parameters():
    # The lecture counts c*h*w + c parameters for ONE output channel over c
    # input channels: one h x w filter per input channel, each with its own
    # bias. The c per-channel results are summed, so their c biases only ever
    # appear as their sum: they act as one bias. Keras (like every framework)
    # keeps that single bias per output channel, so an output channel costs
    # c_i*h*w + 1 and a layer of c_o output channels c_o * (c_i*h*w + 1).
    for c_i, c_o, h, w in [(1, 1, 3, 3), (3, 1, 3, 3), (3, 8, 5, 5), (6, 16, 5, 3)]:
        layer = keras.layers.Conv2D(c_o, (h, w))
        layer.build((None, 12, 12, c_i))
        assert layer.count_params() == c_o * (c_i * h * w + 1)
        # The kernel is the lecture's c_o x c_i x h x w tensor, stored channels last.
        assert tuple(layer.kernel.shape) == (h, w, c_i, c_o)
