"""The captioner's loss terms beyond cross-entropy: the doubly stochastic penalty and hard attention's
REINFORCE surrogate."""
from keras import ops


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
