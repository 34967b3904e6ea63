"""The captioner's loss: masked cross-entropy, the doubly stochastic penalty and hard attention's
REINFORCE surrogate, averaged over the global batch's captions."""
import keras
from keras import ops

BASELINE_DECAY = 0.9  # b ← 0.9 b + 0.1 · (log p(y|s) per word), on sampled minibatches


def doubly_stochastic_penalty(alpha, mask):
    """Σ_i (1 − Σ_t α_ti)² per caption, counting only the real (unpadded) steps.

    The paper's doubly stochastic regularisation: it pushes every region to receive, over a
    caption, about as much attention as one word gives in all.

    Args:
        alpha: the attention maps α, (batch, steps, regions).
        mask: (batch, steps), 1 for real steps and 0 for padding.

    Returns:
        The penalty per caption, (batch,) float32.

    Examples:
        Two words that each spread their attention over 4 regions cover each region by half:

        >>> import numpy as np
        >>> alpha = np.full((1, 3, 4), 0.25, "float32")
        >>> doubly_stochastic_penalty(alpha, np.array([[1.0, 1.0, 0.0]], "float32")).numpy().tolist()
        [1.0]
    """
    coverage = ops.sum(ops.cast(alpha, "float32") * ops.expand_dims(mask, -1), axis=1)  # (batch, regions)
    return ops.sum(ops.square(1.0 - coverage), axis=-1)


def reinforce_surrogate(log_likelihood, log_p_regions, entropy, baseline, reinforce_weight=0.1,
                        entropy_weight=0.002):
    """Per caption, the term whose gradient is hard attention's REINFORCE estimate (Xu et al., eq. 12).

    The paper ascends log p(y|s) + λ_r (log p(y|s) − b) log p(s) + λ_e H[s] with the advantage held
    constant; as a loss to minimise that is
    −λ_r · stop_gradient(log p(y|s) − b) · log p(s) − λ_e · H, added to the NLL, where
    ``log_likelihood`` is log p(y|s) of each caption (summed over its words), ``log_p_regions``
    Σ_t log α_{t,s_t} of its sampled regions, ``entropy`` Σ_t H(α_t), and ``baseline`` b the moving
    average of log p(y|s). (Written with the NLL, −λ_r·sg(log p − b)·log p(s) = λ_r·sg(NLL + b)·log p(s):
    a sample that explains the caption worse than the baseline is made less likely.)

    Args:
        log_likelihood: log p(y|s) per caption, (captions,).
        log_p_regions: Σ_t log α_{t,s_t} per caption, (captions,).
        entropy: Σ_t H(α_t) per caption, (captions,).
        baseline: b, the baseline of each caption's log-likelihood (a number or (captions,)).
        reinforce_weight: λ_r.
        entropy_weight: λ_e.

    Returns:
        The surrogate per caption, (captions,).

    Examples:
        A caption explained better than the baseline (advantage 1):

        >>> import numpy as np
        >>> surrogate = reinforce_surrogate(np.array([-2.0], "float32"), np.array([-1.0], "float32"),
        ...                                 np.array([0.5], "float32"), baseline=-3.0)
        >>> round(float(surrogate[0]), 4)  # −0.1 · 1 · (−1) − 0.002 · 0.5
        0.099
    """
    advantage = ops.stop_gradient(log_likelihood - baseline)
    return -reinforce_weight * advantage * log_p_regions - entropy_weight * entropy


def hard_attention_term(y_pred, token_loss, mask, is_caption, baseline, reinforce_weight, entropy_weight,
                        training):
    """The hard-attention captioner's REINFORCE surrogate summed over the batch's captions.

    The caller divides by the global count of captions. In training it also moves the ``baseline``
    variable, once per step: b ← 0.9 b + 0.1 · (log p(y|s) per word).

    The baseline is per word, so a caption of n words is compared with n·b: it depends on the
    caption, not on the regions sampled (the estimate stays unbiased), and a long caption's low
    log-likelihood no longer reads as a bad choice of regions. It follows sampled minibatches only
    (expectation steps explain captions better), and is the mean over the global batch: under a
    distribution strategy every replica computes the same update from sums across replicas.

    Args:
        y_pred: the decoder's outputs, with ``log_p_region`` and ``entropy`` (captions, steps)
            and ``sampled`` (captions,): 1 where the minibatch sampled its regions.
        token_loss: each word's cross-entropy, −log p(y_t), (captions, steps).
        mask: (captions, steps), 1 for real steps and 0 for padding.
        is_caption: (captions,), 1 for a caption and 0 for an all-padding row.
        baseline: the baseline b per word, a scalar ``keras.Variable`` (updated in training).
        reinforce_weight: λ_r.
        entropy_weight: λ_e.
        training: whether to update ``baseline``.

    Returns:
        The surrogate summed over the sampled captions, a scalar.

    Examples:
        >>> import keras
        >>> import numpy as np
        >>> baseline = keras.Variable(0.0, trainable=False)
        >>> y_pred = {"log_p_region": np.full((1, 2), -1.0, "float32"),
        ...           "entropy": np.full((1, 2), 0.5, "float32"), "sampled": np.ones(1, "float32")}
        >>> term = hard_attention_term(y_pred, np.ones((1, 2), "float32"), np.ones((1, 2), "float32"),
        ...                            np.ones(1, "float32"), baseline, 0.1, 0.002, training=True)
        >>> round(float(term), 4), round(float(baseline.numpy()), 4)  # b: 0.9 · 0 + 0.1 · (−2 / 2 words)
        (-0.402, -0.1)
    """
    from showattend.distribution import replica_sum

    log_likelihood = -ops.sum(token_loss * mask, axis=1)  # per caption
    words = ops.sum(mask, axis=1)
    surrogate = reinforce_surrogate(
        log_likelihood, ops.sum(ops.cast(y_pred["log_p_region"], "float32") * mask, axis=1),
        ops.sum(ops.cast(y_pred["entropy"], "float32") * mask, axis=1), baseline * words,
        reinforce_weight, entropy_weight)
    sampled = ops.cast(y_pred["sampled"], "float32")  # the minibatch's coin: 0 reads the expectation
    if training:
        sums = replica_sum(ops.stop_gradient(ops.stack([ops.sum(log_likelihood * is_caption),
                                                        ops.sum(words * is_caption), ops.max(sampled)])))
        updated = BASELINE_DECAY * baseline + (1.0 - BASELINE_DECAY) * sums[0] / ops.maximum(sums[1], 1.0)
        baseline.assign(ops.where(sums[2] > 0, updated, baseline))
    return ops.sum(surrogate * sampled * is_caption)


def caption_loss(decoder, pad_id, y, y_pred, training=True):
    """A captioner's loss, averaged over the global batch's captions, and its parts for the trackers.

    Per caption: the masked cross-entropy summed over its words, plus the decoder's own terms
    (``decoder.loss_terms``: for the LSTM λ Σ_i (1 − Σ_t α_ti)², and hard attention's REINFORCE
    term), each times its weight; all-padding rows are not captions. Under a distribution strategy
    each replica divides its sums by the count over all replicas, so the summed gradients are the
    global batch's mean whatever the number of replicas.

    Args:
        decoder: the ``showattend.decoders.Decoder`` that made ``y_pred``.
        pad_id: the id of ``<pad>`` in ``y``.
        y: the target word ids, (captions, steps) or (images, captions, steps).
        y_pred: the decoder's outputs for those captions.
        training: whether the decoder's terms may update their state (hard attention's baseline).

    Returns:
        A pair ``(loss, parts)``: the loss, a scalar, and ``{name: (this replica's mean per
        caption, its captions)}`` for "cross_entropy" and each of ``decoder.loss_names``, for
        ``keras.metrics.Mean.update_state(mean, sample_weight=captions)`` (Keras sums the trackers'
        states across replicas, which gives the global mean).

    Examples:
        >>> import numpy as np
        >>> from showattend.decoders import make_decoder
        >>> decoder = make_decoder("lstm", vocab_size=9, units=16, embed_dim=8, attention_dim=8, dropout=0.0)
        >>> tokens = np.array([[1, 4, 5, 6, 2]])  # <start> a red circle <end>
        >>> y_pred = decoder(np.ones((1, 16, 4), "float32"), tokens[:, :-1])
        >>> loss, parts = caption_loss(decoder, 0, tokens[:, 1:], y_pred)
        >>> sorted(parts), float(parts["cross_entropy"][1])  # one caption
        (['attention_penalty', 'cross_entropy'], 1.0)
        >>> terms = float(parts["cross_entropy"][0]) + float(parts["attention_penalty"][0])  # λ = 1
        >>> bool(np.isclose(float(loss), terms, rtol=1e-5))
        True
    """
    from showattend.distribution import replica_sum

    y = ops.reshape(y, (-1, y.shape[-1]))  # (captions, steps)
    mask = ops.cast(ops.not_equal(y, pad_id), "float32")
    is_caption = ops.cast(ops.any(ops.not_equal(y, pad_id), axis=1), "float32")
    local = ops.sum(is_caption)
    count = ops.maximum(replica_sum(local), 1.0)
    token_loss = keras.losses.sparse_categorical_crossentropy(
        y, ops.cast(y_pred["logits"], "float32"), from_logits=True)  # (captions, steps)
    cross_entropy = ops.sum(token_loss * mask)
    per_caption = ops.maximum(local, 1.0)
    loss, parts = cross_entropy, {"cross_entropy": (cross_entropy / per_caption, local)}
    for name, (total, weight) in decoder.loss_terms(y_pred, token_loss, mask, is_caption, training).items():
        loss = loss + weight * total
        parts[name] = (total / per_caption, local)
    return loss / count, parts
