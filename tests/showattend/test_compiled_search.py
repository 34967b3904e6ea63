"""A Captioner's search compiled whole: the captions and scores of the step-by-step reference on the
shapes test set, soft and hard, beam 1/3/5; one trace per (batch, beam, max length)."""
import keras
import numpy as np
import pytest

from showattend import Captioner, Vocabulary
from showattend.datasets import shapes
from tests.showattend.reference_search import reference_captions


@pytest.fixture(scope="module")
def trained():
    """A soft and a hard captioner trained two epochs on shapes: their captions end, and differ."""
    train = shapes("train", num_images=400, seed=0)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    models = {}
    for attention in ("soft", "hard"):
        keras.utils.set_random_seed(1)
        model = Captioner("small_vgg", vocabulary, attention=attention, embed_dim=32, units=64, attention_dim=32,
                          max_length=16, seed=1)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(train, epochs=2, batch_size=32, verbose=0)
        models[attention] = model
    return models


@pytest.fixture(scope="module")
def test_regions(trained):
    images = shapes("test", num_images=40, seed=2).images
    return {kind: model.encode(images).numpy() for kind, model in trained.items()}


@pytest.mark.parametrize("attention", ["soft", "hard"])
@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_same_captions_and_scores_as_the_step_by_step_reference(trained, test_regions, attention, beam_size):
    model, regions = trained[attention], test_regions[attention]
    captions = model.caption_features(regions.reshape(len(regions), *model.grid_shape, -1), beam_size=beam_size,
                                      return_attention=True, batch_size=40)
    expected = reference_captions(model, regions, beam_size, model.max_length)
    ended = sum(h.finished for h in expected)
    assert ended >= 20  # at least half the captions end with <end>: the stopping rule is exercised
    for caption, hyp in zip(captions, expected):
        assert caption.tokens == model.vocabulary.decode_tokens(hyp.ids)
        assert caption.score == pytest.approx(hyp.score, abs=1e-4)
        np.testing.assert_allclose(caption.attention.reshape(hyp.extras["alpha"].shape), hyp.extras["alpha"], atol=1e-5)
        np.testing.assert_allclose(caption.beta, hyp.extras["beta"], atol=1e-5)


def test_the_search_is_traced_once_per_batch_beam_and_length(trained):
    model = trained["soft"]
    images = shapes("test", num_images=7, seed=3).images
    search = model._compiled_functions()[1]
    before = search.experimental_get_tracing_count()
    for _ in range(3):
        model.caption(images, beam_size=3)
    assert search.experimental_get_tracing_count() == before + 1
    for _ in range(2):
        model.caption(images, beam_size=3, max_length=8)
        model.caption(images[:5], beam_size=3)  # 5 and 7 images: both searched as 8 rows
        model.caption(images, beam_size=1)
    assert search.experimental_get_tracing_count() == before + 3
    model.caption(images[:3], beam_size=3)  # 4 rows
    assert search.experimental_get_tracing_count() == before + 4


def test_a_shorter_last_batch_is_padded_so_the_search_is_traced_once(trained):
    model = trained["soft"]
    images = shapes("test", num_images=7, seed=4).images
    search = model._compiled_functions()[1]
    alone = [c.tokens for c in model.caption(images, beam_size=2, batch_size=7)]
    before = search.experimental_get_tracing_count()
    batched = model.caption(images, beam_size=2, batch_size=3)  # batches of 3, 3 and 1 (padded to 3)
    assert search.experimental_get_tracing_count() == before + 1
    assert [c.tokens for c in batched] == alone and len(batched) == 7
    features = np.asarray(model.backbone(images.astype("float32")))
    assert [c.tokens for c in model.caption_features(features, beam_size=2, batch_size=3)] == alone
    assert search.experimental_get_tracing_count() == before + 1


def test_hard_attention_samples_regions_inside_the_compiled_loop(trained):
    model = trained["hard"]
    images = shapes("test", num_images=6, seed=4).images
    sampled = model.caption(images, beam_size=3, sample=True)
    argmax = model.caption(images, beam_size=3, argmax=True)
    for caption in sampled + argmax:
        assert caption.regions.shape == (len(caption.tokens), 2)
        assert (caption.regions >= 0).all() and (caption.regions < np.array(model.grid_shape)).all()
    again = model.caption(images, beam_size=3, argmax=True)
    assert [c.regions.tolist() for c in again] == [c.regions.tolist() for c in argmax]
    draws = [[c.regions.tolist() for c in model.caption(images, beam_size=1, sample=True)] for _ in range(3)]
    assert draws[0] != draws[1] or draws[1] != draws[2]  # the sampler's state moves between calls
