"""The recipe behind `showattend train` and the demo: data → vocabulary → model → fit → the best epoch.

``fit_best`` is the training loop both use: Adam with a learning-rate schedule and clipped gradients,
``CaptionMetrics`` (free-running validation BLEU-4 and CIDEr-D every epoch), the best epoch by
validation BLEU-4 kept in ``model.keras``, one history row per epoch, and a backup every epoch so a
killed run resumes where it stopped. ``train`` adds what the command needs around it: reading the
data, the vocabulary, the backbone and its feature cache, ``config.json`` and ``curves.png``.
"""
import dataclasses
import json
import os

import keras
import numpy as np

from showattend.callbacks import AttentionFigures, Backup, CaptionMetrics, HistoryCSV, read_history, write_history
from showattend.files import atomic_write, read_json, write_json
from showattend.optimizers import FusedAdam

__all__ = ["PAPER_DECODER", "Recipe", "fit_best", "kept_epoch", "plot_curves", "steps_per_epoch", "train"]

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


def steps_per_epoch(captioner, train, batch_size, feature_cache=None):
    """Batches in one epoch of ``captioner.make_dataset(train, batch_size)``: what the schedule counts.

    A batch holds an image once, with the number of captions most images have; the last partial
    batch is dropped.

    Args:
        captioner: The captioner to train (the count does not depend on it).
        train: The training ``CaptionDataset``.
        batch_size: Captions in a batch.
        feature_cache: A ``FeatureCache`` to train from: its unreadable images are not counted.

    Returns:
        The number of batches, at least 1.

    Examples:

        >>> from showattend.datasets import shapes
        >>> steps_per_epoch(None, shapes("train", 100, image_size=32), batch_size=16)  # 4 images of 4 captions
        25
    """
    from showattend.data.pipeline import group_captions

    if feature_cache is not None:
        train = feature_cache.cached_part(train)
    per_image, groups = group_captions(train.captions)
    return max(1, len(groups) // max(1, batch_size // per_image))


def fit_best(captioner, train, val, out, epochs, batch_size=64, recipe=None, feature_cache=None,
             tensorboard=None, callbacks=(), verbose=1):
    """Compile and fit ``captioner`` with ``recipe``, keeping the best epoch by validation BLEU-4.

    Writes ``out/model.keras`` (the best epoch), ``kept_epoch.json``, ``history.csv`` and ``backup/``;
    run it again with the same arguments after a kill and it resumes from the last finished epoch (a
    run that finished trains no further unless ``epochs`` grew). A cosine schedule spans ``epochs``:
    resuming a finished run with more epochs stretches it, so the learning rate goes back up to where
    the longer schedule is at that epoch.

    Args:
        captioner: A ``Captioner`` (compiled here).
        train: The training ``CaptionDataset``.
        val: The validation ``CaptionDataset`` (``recipe.val_images`` of its images are captioned).
        out: The run's folder.
        epochs: Epochs to train, in all (a resumed run counts those done).
        batch_size: Captions in a batch.
        recipe: A ``Recipe``; None: ``Recipe()``.
        feature_cache: A ``FeatureCache`` of the frozen backbone's features to train from.
        tensorboard: A TensorBoard log folder (with ``AttentionFigures`` of 3 validation images); None: none.
        callbacks: More Keras callbacks.
        verbose: Keras' progress output (0, 1 or 2).

    Returns:
        The best epoch's model, loaded back from ``out/model.keras``.

    Raises:
        FileNotFoundError: When no epoch ran and ``out`` holds no ``model.keras``.

    Examples:

        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> train, val = shapes("train", 8, image_size=32), shapes("val", 2, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(train.all_captions()), image_size=(32, 32), units=16,
        ...                   max_length=8, seed=0)
        >>> best = fit_best(model, train, val, "runs/mine", epochs=1, batch_size=8, recipe=Recipe(val_images=2),
        ...                 verbose=0)
        >>> sorted(os.listdir("runs/mine")), kept_epoch("runs/mine")["epoch"]
        (['backup', 'history.csv', 'kept_epoch.json', 'model.keras'], 1)
    """
    recipe = recipe or Recipe()
    os.makedirs(out, exist_ok=True)
    model_path, history_path = os.path.join(out, "model.keras"), os.path.join(out, "history.csv")
    steps = steps_per_epoch(captioner, train, batch_size, feature_cache)
    captioner.compile(optimizer=recipe.optimizer(steps, epochs))
    # A kill between an epoch's history row and its backup leaves a row the resumed run will redo.
    history = read_history(history_path)
    if any(r["epoch"] > backed_up_epochs(out) for r in history):
        write_history(history_path, [r for r in history if r["epoch"] <= backed_up_epochs(out)])
    kept = kept_epoch(out)  # the score of the model in model.keras: the bar a resumed run must beat
    metrics = CaptionMetrics(val, max_images=recipe.val_images, beam_size=recipe.val_beam, feature_cache=feature_cache,
                             seed=captioner.seed or 0, verbose=verbose)
    found = [metrics,
             keras.callbacks.ModelCheckpoint(model_path, monitor="val_bleu4", mode="max", save_best_only=True,
                                             initial_value_threshold=kept.get("val_bleu4")),
             HistoryCSV(history_path),
             Backup(os.path.join(out, "backup"))]
    found.insert(2, KeptEpoch(found[1], os.path.join(out, KEPT_FILE)))
    if recipe.schedule == "plateau":
        found.append(keras.callbacks.ReduceLROnPlateau("val_bleu4", factor=0.5, patience=recipe.patience_lr,
                                                       mode="max", verbose=verbose))
    if recipe.early_stopping:
        found.append(keras.callbacks.EarlyStopping("val_bleu4", mode="max", patience=recipe.early_stopping))
    if tensorboard:
        found += [keras.callbacks.TensorBoard(tensorboard),
                  AttentionFigures(tensorboard, val.images[:3])]
    captioner.fit(train, validation_data=val, epochs=epochs, batch_size=batch_size, verbose=verbose,
                  feature_cache=feature_cache, callbacks=found + list(callbacks))
    from showattend.saving import load_captioner

    if not os.path.isfile(model_path):  # no epoch ran (it had finished before) and no model was kept
        raise FileNotFoundError(f"{model_path} is missing: delete {out!r} and train anew.")
    return load_captioner(model_path)


KEPT_FILE = "kept_epoch.json"


class KeptEpoch(keras.callbacks.Callback):
    """Writes ``kept_epoch.json`` whenever the ``ModelCheckpoint`` before it saves a better model.

    The file holds the epoch and the validation scores of the model in ``model.keras``.
    """

    def __init__(self, checkpoint, path):
        super().__init__()
        self.checkpoint, self.path, self.best = checkpoint, path, checkpoint.best

    def on_epoch_end(self, epoch, logs=None):
        if self.checkpoint.best != self.best:
            self.best = self.checkpoint.best
            write_json(self.path, {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()
                                                           if k.startswith("val_")}})


def kept_epoch(out):
    """The epoch kept in ``out/model.keras`` and its validation scores, from ``out/kept_epoch.json``.

    Args:
        out: A run's folder (``train``'s or ``fit_best``'s).

    Returns:
        A dict such as ``{"epoch": 5, "val_bleu4": 0.99, "val_cider": 4.9, ...}``; ``{}`` before the first epoch.

    Examples:

        >>> kept_epoch(".")  # nothing kept yet
        {}
        >>> _ = write_json("kept_epoch.json", {"epoch": 3, "val_bleu4": 0.42})  # as fit_best writes it
        >>> kept_epoch(".")
        {'epoch': 3, 'val_bleu4': 0.42}
    """
    path = os.path.join(out, KEPT_FILE)
    return read_json_file(path) if os.path.isfile(path) else {}


def backed_up_epochs(out):
    """How many epochs the run's ``backup/`` holds (``showattend.callbacks.Backup``'s metadata)."""
    path = os.path.join(out, "backup", "training_metadata.json")
    return int(read_json_file(path).get("epoch", 0)) if os.path.isfile(path) else 0


def resume_note(out, epochs=None):
    """The line a rerun prints first: how far the run in ``out`` got (None for a run not started).

    >>> os.makedirs("runs/demo/backup")  # as a run leaves it after 2 epochs
    >>> _ = write_json("runs/demo/backup/training_metadata.json", {"epoch": 2})
    >>> _ = write_json("runs/demo/kept_epoch.json", {"epoch": 2})
    >>> resume_note("runs/demo", epochs=6)
    'Resuming runs/demo: 2 epochs done (model.keras holds epoch 2); training goes on from epoch 3 of 6.'
    """
    done = backed_up_epochs(out)
    if not done:
        return None
    kept = kept_epoch(out).get("epoch")
    held = f" (model.keras holds epoch {kept})" if kept else ""
    if epochs is not None and done >= epochs:
        return f"Resuming {out}: all {done} epochs done{held}; nothing left to train."
    goes_on = f"training goes on from epoch {done + 1}" + (f" of {epochs}" if epochs else "")
    return f"Resuming {out}: {done} epoch{'s' if done > 1 else ''} done{held}; {goes_on}."


def plot_curves(history, path, kept=None):
    """Draw a run's ``curves.png``: the losses and the validation BLEU-4 per epoch.

    Loss and validation loss are on the left (cross-entropy too where the loss has other terms),
    validation BLEU-4 on the right, with the epoch kept marked.

    Args:
        history: The rows of ``history.csv`` (``read_history``).
        path: The PNG file to write (atomically).
        kept: ``kept_epoch(out)``, to mark that epoch; None: no mark.

    Returns:
        ``path``.

    Examples:

        >>> history = [{"epoch": 1, "loss": 3.0, "val_loss": 2.9, "val_bleu4": 0.21},
        ...            {"epoch": 2, "loss": 2.5, "val_loss": 2.6, "val_bleu4": 0.34}]
        >>> plot_curves(history, "curves.png", kept={"epoch": 2, "val_bleu4": 0.34})
        'curves.png'
        >>> from PIL import Image
        >>> Image.open("curves.png").size  # 9 × 3.4 inches at 100 dpi
        (900, 340)
    """
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    figure = Figure(figsize=(9, 3.4), dpi=100)
    loss_ax, bleu_ax = figure.subplots(1, 2)
    curves = [("loss", "training loss", "-"), ("val_loss", "validation loss", "-")]
    if any(abs(r.get("loss", 0) - r.get("cross_entropy", 0)) > 1e-6 for r in history):  # λ or REINFORCE terms
        curves += [("cross_entropy", "training cross-entropy", "--"), ("val_cross_entropy", "validation cross-entropy", "--")]
    for key, label, style in curves:
        points = [(r["epoch"], r[key]) for r in history if key in r]
        if points:
            loss_ax.plot(*zip(*points), style, marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="per caption", title="loss")
    loss_ax.legend()
    points = [(r["epoch"], r["val_bleu4"]) for r in history if "val_bleu4" in r]
    if points:
        bleu_ax.plot(*zip(*points), marker="o", color="tab:green")
        if kept:
            bleu_ax.axvline(kept["epoch"], color="grey", linestyle=":")
            bleu_ax.annotate(f"kept: epoch {kept['epoch']}", (kept["epoch"], kept["val_bleu4"]),
                             textcoords="offset points", xytext=(4, -12))
    bleu_ax.set(xlabel="epoch", ylabel="BLEU-4", title="validation BLEU-4 (free-running)")
    for ax in (loss_ax, bleu_ax):
        ax.set_xticks(epochs)
    figure.tight_layout()
    return atomic_write(path, lambda partial: figure.savefig(partial, format="png"))


def count_cut(captions, max_length):
    """How many ``captions`` have more than ``max_length`` words (they are cut when encoded).

    >>> count_cut(["a red circle", "a very long caption indeed"], max_length=4)
    1
    """
    from showattend.text import tokenize

    return int(np.sum([len(tokenize(c)) > max_length for c in captions]))


PAPER_DECODER = dict(embed_dim=512, units=512, attention_dim=512, dropout=0.5, doubly_stochastic=1.0)
"""The paper's decoder (Xu et al., 2015): embedding, LSTM and attention of 512, dropout 0.5, λ = 1."""
RESUMABLE = ("epochs", "verbose", "tensorboard", "on_bad_image")  # settings a rerun may change and still resume


def training_started(out):
    """Whether a run in ``out`` has finished an epoch (a backup or a history exists)."""
    return os.path.isdir(os.path.join(out, "backup")) or os.path.isfile(os.path.join(out, "history.csv"))


def check_same_run(out, settings):
    """Refuse to resume the run in ``out`` with other ``settings`` than its ``config.json`` holds.

    ``RESUMABLE`` settings may change; the error lists what else changed. A run that never finished
    an epoch binds nothing: its settings may change.

    >>> os.makedirs("runs/old/backup")  # a run that finished an epoch
    >>> _ = write_json("runs/old/config.json", {"data": "shapes", "epochs": 10})
    >>> check_same_run("runs/old", {"data": "shapes:100", "epochs": 20})
    Traceback (most recent call last):
    ValueError: runs/old holds a run with other settings (data: 'shapes' before, 'shapes:100' now). Rerun ...
    """
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path) or not training_started(out):
        return
    old = read_json_file(path)
    settings = json.loads(json.dumps(settings))  # tuples as lists, as they are read back
    changed = [f"{k}: {old.get(k)!r} before, {settings.get(k)!r} now" for k in sorted(set(old) | set(settings))
               if k not in RESUMABLE and old.get(k) != settings.get(k)]
    if changed:
        raise ValueError(f"{out} holds a run with other settings ({'; '.join(changed)}). Rerun with the same "
                         "settings to resume it, or choose another output folder.")


def read_json_file(path):
    """A run's JSON file; a broken file is a ValueError that names it."""
    return read_json(path, "it was not written whole; delete it (and the run's folder, if it is a run's) to "
                           "start anew")


def text_defaults(data):
    """(min_count, max_length) for a data spec: (1, 30) for shapes, the field's (5, 20) for real data.

    Shapes keep every word and every caption whole; real data keeps words seen 5 times and cuts
    captions at 20 words.
    """
    return (1, 30) if data.split(":")[0] == "shapes" else (5, 20)


def train(out, data, images=None, backbone="small_vgg", weights=None, image_size=None, fine_tune=False,
          cache_features=False, feature_dir=None, epochs=20, batch_size=64, max_length=None, min_count=None,
          max_vocab=10000, val_split=0.1, seed=0, recipe=None, model=None, tensorboard=None, on_bad_image="error",
          verbose=1, log=print):
    """Train a captioner on ``data`` into the folder ``out``: what `showattend train` runs.

    Writes ``model.keras`` (the epoch with the best free-running validation BLEU-4, ``fit_best``),
    ``history.csv``, ``curves.png``, ``vocabulary.json`` and ``config.json``; a rerun with the same
    settings (``epochs``, ``verbose``, ``tensorboard`` and ``on_bad_image`` may change) resumes. ``out``
    must be a folder this process can write to (checked before anything is read), and one run at a time
    trains into it: the run holds ``out/training.lock``.

    Args:
        out: The run's folder.
        data: A ``showattend.datasets.load`` spec ("shapes", "folder:captions.csv", "karpathy:…").
        images: The image folder of a file-based spec.
        backbone: A ``cnn_backbones`` name.
        weights: The backbone's weights, "imagenet" or a file; they freeze it unless ``fine_tune``.
        image_size: ``(height, width)``; None: the backbone's default.
        fine_tune: Train pretrained ``weights`` too.
        cache_features: Run the frozen backbone once per image into ``feature_dir`` and train from there.
        feature_dir: The feature cache's folder; None: ``out/features``.
        epochs: Epochs to train.
        batch_size: Captions in a batch.
        max_length: Captions are cut to it, in words; None: 20 for real data, 30 for shapes.
        min_count: Words seen fewer times are unknown; None: 5 for real data, 1 for shapes.
        max_vocab: The most words the vocabulary keeps.
        val_split: The validation share of a source without splits.
        seed: The seed of the split, the weights and the validation draw.
        recipe: A ``Recipe``; None: ``Recipe()``.
        model: The decoder's ``Captioner`` options over ``PAPER_DECODER`` (``attention``, ``units``, …).
        tensorboard: A TensorBoard log folder; None: none.
        on_bad_image: "error" or "skip": what an unreadable image does.
        verbose: Keras' progress output (0, 1 or 2).
        log: A function given each line on the data, the vocabulary and the result (default: print).

    Returns:
        The best epoch's ``Captioner``.

    Raises:
        UnwritableFolderError: When ``out`` (or another folder to write) cannot be written to.
        LockedError: When another run trains into ``out``.
        ValueError: When the settings contradict each other, or differ from the run in ``out``.

    Examples:

        >>> best = train("runs/shapes", "shapes:8", image_size=(32, 32), max_length=8, recipe=Recipe(val_images=2),
        ...              epochs=1, batch_size=8, model=dict(embed_dim=16, units=16, attention_dim=16), verbose=0)
        Data shapes:8: 8 training images (32 captions), 1 validation images
        Vocabulary: ...
        Captions: ... of 32 (...%) are longer than 8 words and are cut to 8
        Training a soft-attention captioner (... parameters, backbone trained) for 1 epochs into runs/shapes/
        Kept epoch 1 of 1: val BLEU-4 ..., CIDEr-D ...; wrote runs/shapes/model.keras, history.csv, curves.png
        >>> sorted(os.listdir("runs/shapes"))
        ['backup', 'config.json', 'curves.png', 'history.csv', 'kept_epoch.json', 'model.keras', 'vocabulary.json']
    """
    arguments = dict(locals())
    from showattend.files import writable_folder
    from showattend.locks import FolderLock

    writable_folder(out, "--out")  # before anything is read
    for folder, what in ((tensorboard, "--tensorboard"), (cache_features and feature_dir, "--feature-dir")):
        if folder and not os.path.isfile(os.path.join(folder, "cache.json")):
            writable_folder(folder, what)
    with FolderLock(os.path.join(os.fspath(out), "training.lock"), "training"):  # one run at a time in ``out``
        return _train(**arguments)


def _train(out, data, images, backbone, weights, image_size, fine_tune, cache_features, feature_dir, epochs,
           batch_size, max_length, min_count, max_vocab, val_split, seed, recipe, model, tensorboard, on_bad_image,
           verbose, log):
    """``train``, inside the lock of its folder."""
    import cnn_backbones
    from showattend.captioner import Captioner
    from showattend.datasets import load
    from showattend.features import FeatureCache
    from showattend.text import Vocabulary

    default_count, default_length = text_defaults(data)
    min_count, max_length = min_count or default_count, max_length or default_length
    cnn_backbones.backbone_info(backbone)  # an unknown name fails now, not after the data is read
    if cache_features and fine_tune:
        raise ValueError("--cache-features stores a frozen backbone's features, so it cannot be combined with "
                         "--fine-tune; drop one of them.")
    if model and "backbone" in model:
        raise ValueError("model= holds the decoder's options (attention, units, embed_dim, …); pass the backbone "
                         f"as backbone=, not model['backbone'] = {model['backbone']!r}.")
    model = {**PAPER_DECODER, **(model or {})}
    recipe = recipe or Recipe()
    frozen = bool(cache_features) or (weights is not None and not fine_tune)
    config = {"data": data, "images": images, "backbone": backbone, "weights": weights, "image_size": image_size,
              "fine_tune": fine_tune, "cache_features": bool(cache_features), "feature_dir": feature_dir,
              "epochs": epochs, "batch_size": batch_size, "max_length": max_length, "min_count": min_count,
              "max_vocab": max_vocab, "val_split": val_split, "seed": seed, "model": model,
              "recipe": dataclasses.asdict(recipe), "on_bad_image": on_bad_image, "tensorboard": tensorboard}
    check_same_run(out, config)
    if resume_note(out, epochs):
        log(resume_note(out, epochs))
    keras.utils.set_random_seed(seed)

    options = dict(images=images, val_split=val_split, seed=seed, on_bad_image=on_bad_image)
    train_data, val_data = load(data, "train", **options), load(data, "val", **options)
    log(f"Data {data}: {len(train_data):,} training images ({train_data.num_captions:,} captions), "
        f"{len(val_data):,} validation images")
    vocabulary_path = os.path.join(out, "vocabulary.json")
    if os.path.isfile(vocabulary_path) and training_started(out):  # resuming: the words the model was built with
        vocabulary = Vocabulary.load(vocabulary_path)
        log(f"Vocabulary: {len(vocabulary) - 4:,} words (and 4 special tokens) from {vocabulary_path}")
    else:
        vocabulary = Vocabulary.build(train_data.all_captions(), max_size=max_vocab, min_count=min_count)
        vocabulary.save(vocabulary_path)
        log(f"Vocabulary: {vocabulary.summary()}")
    cut = count_cut(train_data.all_captions(), max_length)
    log(f"Captions: {cut:,} of {train_data.num_captions:,} ({100 * cut / train_data.num_captions:.1f}%) are longer "
        f"than {max_length} words and are cut to {max_length}")

    info = cnn_backbones.backbone_info(backbone)
    size = tuple(image_size or info.default_input_shape[:2])
    encoder = cnn_backbones.create_backbone(backbone, input_shape=(*size, 3), weights=weights, trainable=not frozen)
    cache = None
    if cache_features:
        if weights is None:
            log("Note: --cache-features with random backbone weights: the captioner learns from an untrained CNN.")
        directory = feature_dir or os.path.join(out, "features")
        log(f"Feature cache {directory}: {backbone} at {size[0]}×{size[1]} → grid {tuple(encoder.output_shape[1:])}")
        files = list(train_data.images) + list(val_data.images)
        cache = FeatureCache.build(directory, encoder, files, weights=weights, on_bad_image=on_bad_image,
                                   verbose=1 if verbose else 0)
        skipped = [p for p in files if p in cache.bad]
        if skipped:  # said again on a resumed run, whose extraction had nothing left to do
            log(f"{len(skipped)} unreadable image{'s are' if len(skipped) > 1 else ' is'} left out, e.g. "
                f"{cache.bad[skipped[0]]}")
    captioner = Captioner(encoder, vocabulary, max_length=max_length, seed=seed, train_backbone=not frozen, **model)
    write_json(os.path.join(out, "config.json"), config)  # once the data and features are ready
    log(f"Training a {captioner.attention_kind}-attention captioner ({captioner.count_params():,} parameters, "
        f"backbone {'frozen' if frozen else 'trained'}) for {epochs} epochs into {out}/")
    best = fit_best(captioner, train_data, val_data, out, epochs, batch_size, recipe, feature_cache=cache,
                    tensorboard=tensorboard, verbose=verbose)
    history, kept = read_history(os.path.join(out, "history.csv")), kept_epoch(out)
    plot_curves(history, os.path.join(out, "curves.png"), kept)
    log(f"Kept epoch {kept['epoch']} of {len(history)}: val BLEU-4 {kept['val_bleu4']:.4f}, "
        f"CIDEr-D {kept['val_cider']:.4f}; wrote {out}/model.keras, history.csv, curves.png")
    return best
