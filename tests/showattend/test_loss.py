import numpy as np
import pytest

from showattend.data.pipeline import encode_captions


def _batch(captioner, captions, length):
    ids = encode_captions(captions, captioner.vocabulary, length)
    images = np.random.default_rng(0).integers(0, 256, size=(len(captions), 64, 64, 3)).astype("uint8")
    return {"images": images, "tokens": ids[:, :-1]}, ids[:, 1:]


def _loss(captioner, x, y):
    return float(captioner.compute_loss(x, y, captioner(x, training=False), training=False))


def test_padding_does_not_change_the_loss(captioner):
    captions = ["a red circle", "a large blue square in the top left"]
    short = _loss(captioner, *_batch(captioner, captions, 8))
    padded = _loss(captioner, *_batch(captioner, captions, 20))
    assert short == pytest.approx(padded, rel=1e-5)


def test_loss_is_cross_entropy_plus_weighted_penalty(captioner):
    x, y = _batch(captioner, ["a red circle", "a blue square at the top"], 10)
    out = captioner(x, training=False)
    logits = np.asarray(out["logits"], dtype=np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    mask = y != 0
    nll = -np.take_along_axis(log_probs, y[..., None], -1)[..., 0]
    expected_ce = (nll * mask).sum(1).mean()
    coverage = (np.asarray(out["alpha"]) * mask[..., None]).sum(1)
    expected_penalty = ((1 - coverage) ** 2).sum(-1).mean()
    total = float(captioner.compute_loss(x, y, out, training=False))
    assert total == pytest.approx(expected_ce + captioner.decoder.options["doubly_stochastic"] * expected_penalty, rel=1e-4)
    assert float(captioner.loss_trackers[0].result()) > 0


def test_grouped_captions_give_the_per_caption_loss(captioner):
    """Two images with 2 and 1 captions, grouped (padding row included) or one caption per row."""
    captions = [["a red circle", "a large red circle"], ["a blue square at the top"]]
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(2, 64, 64, 3)).astype("uint8")
    grouped_ids = np.zeros((2, 2, 10), np.int32)
    for i, refs in enumerate(captions):
        grouped_ids[i, : len(refs)] = encode_captions(refs, captioner.vocabulary, 8)
    flat_ids = encode_captions([c for refs in captions for c in refs], captioner.vocabulary, 8)
    flat_x = {"images": images[[0, 0, 1]], "tokens": flat_ids[:, :-1]}
    grouped_x = {"images": images, "tokens": grouped_ids[..., :-1]}
    flat = _loss(captioner, flat_x, flat_ids[:, 1:])
    grouped = _loss(captioner, grouped_x, grouped_ids[..., 1:])
    assert grouped == pytest.approx(flat, rel=1e-5)
