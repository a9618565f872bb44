import numpy as np
import pytest

from keras_seq.datasets import DatasetFileError, ocr_words


@pytest.fixture(scope="module")
def words():
    return ocr_words.load_words()


def test_counts_match_the_dataset_readme(words):
    assert len(words) == 6877
    assert words.lengths.sum() == 52152
    assert words.lengths.min() == 3 and words.lengths.max() == 14
    assert np.bincount(words.folds).tolist() == [626, 704, 684, 698, 693, 651, 739, 717, 690, 675]
    assert words.images[0].shape[1:] == (16, 8)
    assert set(np.unique(words.images[0])) <= {0, 1}


def test_labels_spell_the_transcriptions(words):
    for i in range(0, len(words), 97):
        assert ocr_words.decode(words.labels[i]) == words.texts[i]


def test_split_holds_out_exactly_one_fold(words):
    train, test = words.split(test_fold=3)
    assert len(test) == 698 and len(train) == 6877 - 698
    assert set(test.folds) == {3} and 3 not in set(train.folds)


@pytest.mark.parametrize("fold", [-1, 10, 2.0, "1", True])
def test_bad_fold_is_a_value_error(words, fold):
    with pytest.raises(ValueError, match="fold"):
        words.split(fold)


def test_padding_gives_batch_labels_and_mask(words):
    sub = words.subset([0, 1, 2])
    x, y, mask = sub.padded()
    longest = sub.lengths.max()
    assert x.shape == (3, longest, 16, 8, 1) and x.dtype == np.float32
    assert y.shape == (3, longest) and mask.shape == (3, longest)
    assert mask.sum(axis=1).tolist() == sub.lengths.tolist()
    for i in range(3):
        n = sub.lengths[i]
        np.testing.assert_array_equal(x[i, :n, ..., 0], sub.images[i])
        assert not x[i, n:].any() and not y[i, n:].any()
        assert ocr_words.decode(y[i], mask[i]) == sub.texts[i]


def test_padding_refuses_empty_and_overlong_input(words):
    with pytest.raises(ValueError, match="at least one word"):
        ocr_words.pad_words([])
    with pytest.raises(ValueError, match="empty word"):
        ocr_words.pad_words([np.zeros((0, 16, 8))])
    with pytest.raises(ValueError, match="maxlen"):
        ocr_words.pad_words(words.images[:50], maxlen=3)
    with pytest.raises(ValueError, match="shape"):
        ocr_words.pad_words([np.zeros((4, 28, 28))])


def test_corrupt_file_is_refused(tmp_path):
    bad = tmp_path / "ocr_words.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DatasetFileError, match="ocr_words.npz"):
        ocr_words.load_words(path=bad)
