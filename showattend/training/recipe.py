"""The training recipe: ``Recipe`` (optimizer, schedule, validation, stopping), and the paper's
decoder configuration. ``showattend.training.loop.fit_best`` trains with them."""
import dataclasses

import keras

from showattend.decoders import paper_config
from showattend.optimizers import FusedAdam

__all__ = ["PAPER_DECODER", "Recipe"]

SCHEDULES = ("cosine", "constant", "plateau")


@dataclasses.dataclass
class Recipe:
    """How a captioner is trained: ``fit_best``'s optimizer, schedule, validation and stopping.

    Args:
        learning_rate: Adam's (peak) learning rate.
        schedule: "cosine" (a linear warm-up from a tenth of the peak over ``warmup_epochs``, then a cosine
            decay to ``final_learning_rate_share`` of the peak by the last epoch), "constant", or "plateau"
            (×0.5 after ``patience_lr`` epochs without a better val BLEU-4).
        warmup_epochs: The cosine schedule's warm-up, in epochs.
        final_learning_rate_share: Where the cosine schedule ends, as a share of ``learning_rate``.
        clipnorm: The global gradient norm is clipped to it (the most used PyTorch port of the paper clamps
            every gradient value to ±5; other ports clip the norm at 0.1–1).
        patience_lr: The plateau schedule's patience, in epochs.
        val_images: Validation images captioned free-running every epoch (``CaptionMetrics``).
        val_beam: Their beam width.
        early_stopping: Epochs without a better val BLEU-4 before training stops; None: never.

    Raises:
        ValueError: When ``schedule`` is unknown, or ``learning_rate`` or ``clipnorm`` not positive.

    Examples:

        >>> optimizer = Recipe().optimizer(steps_per_epoch=100, epochs=10)  # the warm-up starts at a tenth
        >>> type(optimizer).__name__, optimizer.global_clipnorm, round(float(optimizer.learning_rate), 6)
        ('FusedAdam', 5.0, 4e-05)
        >>> Recipe(schedule="linear")
        Traceback (most recent call last):
        ValueError: Unknown learning-rate schedule 'linear'. Accepted: cosine, constant, plateau.
    """

    learning_rate: float = 4e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    final_learning_rate_share: float = 0.02
    clipnorm: float = 5.0
    patience_lr: int = 2
    val_images: int = 500
    val_beam: int = 1
    early_stopping: int = None

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown learning-rate schedule {self.schedule!r}. Accepted: {', '.join(SCHEDULES)}.")
        if not self.learning_rate > 0 or not self.clipnorm > 0:
            raise ValueError(f"learning_rate and clipnorm must be positive, got {self.learning_rate!r} and "
                             f"{self.clipnorm!r}.")

    def optimizer(self, steps_per_epoch, epochs):
        """Adam (TensorFlow's fused kernel) over this recipe's schedule, clipping the global gradient norm.

        Args:
            steps_per_epoch: Training steps in an epoch (``steps_per_epoch()``): the cosine schedule counts them.
            epochs: Epochs the cosine schedule spans.

        Returns:
            A ``FusedAdam``.
        """
        rate = self.learning_rate
        if self.schedule == "cosine":
            total = max(1, steps_per_epoch * epochs)
            warmup = min(int(self.warmup_epochs * steps_per_epoch), total - 1)
            rate = keras.optimizers.schedules.CosineDecay(
                self.learning_rate * (0.1 if warmup else 1.0), decay_steps=total - warmup,
                alpha=self.final_learning_rate_share, warmup_target=self.learning_rate if warmup else None,
                warmup_steps=warmup)
        return FusedAdam(rate, global_clipnorm=self.clipnorm)


PAPER_DECODER = paper_config("lstm")  # the paper's decoder (REFERENCE.md), from the LSTM's declared options
"""The paper's decoder (Xu et al., 2015): embedding, LSTM and attention of 512, dropout 0.5, λ = 1."""
