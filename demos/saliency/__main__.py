"""``python -m keras_seq.demos.saliency --model FILE``: the four digit maps of a saved digit model."""

from keras_seq.demos.saliency.pipeline import main

raise SystemExit(main())
