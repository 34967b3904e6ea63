"""Writes the saved models that test_saved_models.py loads: tiny Captioners trained for a few steps,
saved with the code of the commit that added this file (before the decoder became a part), and what
they captioned then. Run again only to add a model: the point of these files is that they do not
change.

    python tests/showattend/saved_models/make.py
"""
import json
import pathlib

import keras
import numpy as np

from showattend import Captioner, Vocabulary
from showattend.datasets import shapes

HERE = pathlib.Path(__file__).parent
SMALL = dict(image_size=(32, 32), embed_dim=8, units=16, attention_dim=8, max_length=8)
MODELS = {
    "soft": dict(attention="soft", doubly_stochastic=1.0),
    "hard": dict(attention="hard", reinforce_weight=0.2, entropy_weight=0.01, expectation_probability=0.25),
    "soft_variants": dict(attention="soft", cell="gru", attention_score="general", deep_output=False,
                          init_state="zeros", gate=False, dropout=0.1, doubly_stochastic=0.5),
}
READINGS = {"soft": [{}], "hard": [{}, {"argmax": True}], "soft_variants": [{}]}


def images():
    return shapes("test", num_images=4, seed=5).images


def captions_of(model, name):
    """What the tests compare: per reading and beam size, every caption's words, score, α, β and regions."""
    out = []
    for reading in READINGS[name]:
        for beam_size in (1, 3):
            for caption in model.caption(images(), beam_size=beam_size, return_attention=True, **reading):
                out.append({"reading": reading, "beam_size": beam_size, **caption.to_dict()})
    return out


def main():
    train = shapes("train", num_images=32, seed=4)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    for name, options in MODELS.items():
        keras.utils.set_random_seed(7)
        model = Captioner("small_vgg", vocabulary, seed=7, **SMALL, **options)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(train, epochs=2, batch_size=32, verbose=0)
        model.save(HERE / f"{name}.keras")
        (HERE / f"{name}.json").write_text(json.dumps(captions_of(model, name)) + "\n")
        print(name, (HERE / f"{name}.keras").stat().st_size, "bytes;", model.caption(images()[:1])[0].text)


if __name__ == "__main__":
    main()
