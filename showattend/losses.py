"""The captioner's loss: masked cross-entropy, the doubly stochastic penalty and hard attention's
REINFORCE surrogate, averaged over the global batch's captions."""
import keras
from keras import ops

BASELINE_DECAY = 0.9  # b ← 0.9 b + 0.1 · (log p(y|s) per word), on sampled minibatches


def doubly_stochastic_penalty(alpha, mask):
    """Σ_i (1 − Σ_t α_ti)² per caption, counting only the real (unpadded) steps.

    alpha: (batch, steps, regions); mask: (batch, steps) with 1 for real steps.
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
    """
    advantage = ops.stop_gradient(log_likelihood - baseline)
    return -reinforce_weight * advantage * log_p_regions - entropy_weight * entropy


def hard_attention_term(y_pred, token_loss, mask, is_caption, baseline, reinforce_weight, entropy_weight,
                        training):
    """The hard-attention captioner's REINFORCE surrogate summed over the batch's captions (the caller
    divides by the global count); in training it also moves the ``baseline`` variable, once per step.

    The baseline is per word, so a caption of n words is compared with n·b: it depends on the
    caption, not on the regions sampled (the estimate stays unbiased), and a long caption's low
    log-likelihood no longer reads as a bad choice of regions. It follows sampled minibatches only
    (expectation steps explain captions better), and is the mean over the global batch: under a
    distribution strategy every replica computes the same update from sums across replicas.
    ``token_loss`` and ``mask`` are (captions, steps), ``is_caption`` (captions,).
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


def caption_loss(model, y, y_pred, training=True):
    """A Captioner's loss: the masked cross-entropy summed over each caption's words, plus
    λ Σ_i (1 − Σ_t α_ti)² (plus the REINFORCE term for hard attention), averaged over the global
    batch's captions (all-padding rows are not captions). Under a distribution strategy each replica
    divides its sums by the count over all replicas, so the summed gradients are the global batch's
    mean whatever the number of replicas. Updates the model's loss trackers."""
    from showattend.distribution import replica_sum

    y = ops.reshape(y, (-1, y.shape[-1]))  # (captions, steps)
    mask = ops.cast(ops.not_equal(y, model.vocabulary.pad_id), "float32")
    is_caption = ops.cast(ops.any(ops.not_equal(y, model.vocabulary.pad_id), axis=1), "float32")
    local = ops.sum(is_caption)
    count = ops.maximum(replica_sum(local), 1.0)
    token_loss = keras.losses.sparse_categorical_crossentropy(
        y, ops.cast(y_pred["logits"], "float32"), from_logits=True)  # (captions, steps)
    cross_entropy = ops.sum(token_loss * mask)
    penalty = ops.sum(doubly_stochastic_penalty(y_pred["alpha"], mask) * is_caption)
    # the trackers take this replica's mean weighted by its captions: Keras sums their states across
    # replicas, which gives the global mean
    per_caption = ops.maximum(local, 1.0)
    model.cross_entropy_tracker.update_state(cross_entropy / per_caption, sample_weight=local)
    model.attention_penalty_tracker.update_state(penalty / per_caption, sample_weight=local)
    loss = cross_entropy + model.doubly_stochastic * penalty
    if model.attention_kind == "hard":
        reinforce = hard_attention_term(y_pred, token_loss, mask, is_caption, model.reinforce_baseline,
                                        model.reinforce_weight, model.entropy_weight, training)
        model.reinforce_tracker.update_state(reinforce / per_caption, sample_weight=local)
        loss = loss + reinforce
    return loss / count
