"""What the tf-keras-vis based methods share: the class score they maximise, and silence."""

import contextlib
import io
import warnings


def class_score(classes):
    """tf-keras-vis's score ``S_c`` of class ``classes[n]`` for image n."""
    from tf_keras_vis.utils.scores import CategoricalScore

    return CategoricalScore(classes.tolist())


@contextlib.contextmanager
def quiet():
    """Hide tf-keras-vis's Keras progress bars and input-structure warnings."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        yield
