"""From a Captioner's region features to Captions: its compiled encoder and decoder steps, driven by
``showattend.generation``'s greedy and beam search, and the Caption each image gets back."""
import dataclasses

import numpy as np

from showattend.generation import beam_search, greedy_search


@dataclasses.dataclass
class Caption:
    """One generated caption: its words, its log-probability and, if asked for, where it looked.

    ``attention[i]`` (grid_h, grid_w), summing to 1, is the map that produced ``tokens[i]``;
    ``beta[i]`` is the gate's value at that step. ``regions[i]`` is the grid cell (row, col) that a
    hard-attention model read for ``tokens[i]`` when captioning with ``sample=True`` or ``argmax=True``.
    """

    text: str
    tokens: list
    score: float
    attention: np.ndarray = None
    beta: np.ndarray = None
    regions: np.ndarray = None

    def to_dict(self):
        """A JSON-ready dict: text, tokens, score, and attention, beta and regions where present."""
        out = {"text": self.text, "tokens": self.tokens, "score": self.score}
        if self.attention is not None:
            out.update(attention=self.attention.tolist(), beta=self.beta.tolist())
        if self.regions is not None:
            out["regions"] = self.regions.tolist()
        return out


def compiled_functions(model):
    """The model's encoder, decoder start and decoder step as tf.functions, traced once per input
    shape and kept on the model."""
    if model._generation_functions is None:
        import tensorflow as tf
        from keras import ops

        def encode(images):
            return model.encode(images, training=False)

        def start(features):
            features = ops.cast(features, "float32")
            h, c = model.decoder.initial_state(features)
            return features, model.decoder.attention.project(features), h, c

        functions = tuple(tf.function(f, reduce_retracing=True) for f in (encode, start, model.decoder.decode_step))
        object.__setattr__(model, "_generation_functions", functions)
    return model._generation_functions


def check_decoding(model, beam_size, max_length, batch_size, sample, argmax):
    """Validate captioning options; returns (max_length, reading)."""
    max_length = model.max_length if max_length is None else max_length
    for label, value in (("beam_size", beam_size), ("max_length", max_length), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}.")
    if (sample or argmax) and model.attention_kind != "hard":
        raise ValueError("sample=True and argmax=True read one region per word; they need a model built "
                         "with attention='hard'.")
    if sample and argmax:
        raise ValueError("Choose one of sample=True and argmax=True.")
    return max_length, "sample" if sample else "argmax" if argmax else "expectation"


def caption_regions(model, regions, beam_size, max_length, return_attention, reading="expectation"):
    """Captions of one batch of region features (images, regions, channels)."""
    _, start, step = compiled_functions(model)
    features, projected, h, c = (t.numpy() for t in start(regions))
    rows = len(features)
    if beam_size > 1:  # every beam of image b sits at rows b·K … b·K+K−1
        features, projected, h, c = (np.repeat(a, beam_size, axis=0) for a in (features, projected, h, c))
    ids = model.vocabulary

    def step_fn(tokens, state):
        log_probs, h, c, alpha, beta, region = step(tokens, state[0], state[1], features, projected, reading)
        log_probs = log_probs.numpy()
        log_probs[:, [ids.pad_id, ids.start_id]] = -np.inf  # never generated
        extras = {"alpha": alpha.numpy(), "beta": beta.numpy(), "region": region.numpy()}
        return log_probs, (h.numpy(), c.numpy()), extras

    if beam_size == 1:
        hyps = greedy_search(step_fn, (h, c), rows, ids.start_id, ids.end_id, max_length)
    else:
        hyps = beam_search(step_fn, (h, c), rows, ids.start_id, ids.end_id, beam_size, max_length)
    captions = []
    for hyp in hyps:
        tokens = ids.decode_tokens(hyp.ids)
        caption = Caption(" ".join(tokens), tokens, hyp.score)
        if return_attention:
            caption.attention = hyp.extras["alpha"].astype(np.float32).reshape(-1, *model.grid_shape)
            caption.beta = hyp.extras["beta"].astype(np.float32)
        if reading != "expectation":
            caption.regions = np.stack(np.unravel_index(hyp.extras["region"], model.grid_shape), axis=-1)
        captions.append(caption)
    return captions
