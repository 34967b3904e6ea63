"""``train``: what `showattend train` runs, from a data spec to the best epoch's captioner in a folder."""
import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from showattend.decoders import paper_config
from showattend.files import write_json
from showattend.training.cluster import check_same_settings, is_chief, is_multi_worker, task_name
from showattend.training.loop import fit_best
from showattend.training.recipe import Recipe
from showattend.training.run_folder import RunFolder, text_defaults

__all__ = ["train"]

def train(out, data, images=None, backbone="small_vgg", weights=None, image_size=None, fine_tune=False,
          cache_features=False, feature_dir=None, epochs=20, batch_size=64, max_length=None, min_count=None,
          max_vocab=10000, val_split=0.1, seed=0, recipe=None, model=None, tensorboard=None, on_bad_image="error",
          multi_worker=False, verbose=1, log=print):
    """Train a captioner on ``data`` into the folder ``out``: what `showattend train` runs.

    Writes ``model.keras`` (the epoch with the best free-running validation BLEU-4, ``fit_best``),
    ``history.csv``, ``curves.png``, ``vocabulary.json`` and ``config.json``; a rerun with the same
    settings (``epochs``, ``verbose``, ``tensorboard`` and ``on_bad_image`` may change) resumes. ``out``
    must be a folder this process can write to (checked before anything is read), and one run at a time
    trains into it: the run holds ``out/training.lock``.

    With ``multi_worker``, every host of the cluster that ``TF_CONFIG`` describes runs the same call;
    they train one model under ``MultiWorkerMirroredStrategy``, each on its share of the images
    (``fit_workers``). The chief alone validates and writes ``out``, resumes from its backup and sends
    its state to the others; the other workers write nothing.

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
        model: The decoder (``decoder``, default "lstm") and its options (``attention``, ``units``, …),
            over the paper's values of that decoder (``showattend.decoders.paper_config``).
        tensorboard: A TensorBoard log folder; None: none.
        on_bad_image: "error" or "skip": what an unreadable image does.
        multi_worker: Train on the cluster of ``TF_CONFIG``, one worker per host (call it first in the
            process: the strategy is made before TensorFlow runs anything).
        verbose: Keras' progress output (0, 1 or 2).
        log: A function given each line on the data, the vocabulary and the result (default: print).

    Returns:
        The best epoch's ``Captioner``.

    Raises:
        UnwritableFolderError: When ``out`` (or another folder to write) cannot be written to.
        LockedError: When another run trains into ``out``.
        ValueError: When the settings contradict each other, or differ from the run in ``out`` (or, on
            several workers, from the chief's).
        WorkerLostError: When a worker of a multi-worker run stopped answering.

    Examples:

        >>> best = train("runs/shapes", "shapes:8", image_size=(32, 32), max_length=8, recipe=Recipe(val_images=2),
        ...              epochs=1, batch_size=8, model=dict(embed_dim=16, units=16, attention_dim=16), verbose=0)
        Data shapes:8: 8 training images (32 captions), 1 validation images
        Vocabulary: ...
        Captions: ... of 32 (...%) are longer than 8 words and are cut to 8
        Training a soft-attention LSTM captioner (... parameters, backbone trained) for 1 epoch into runs/shapes/
        Kept epoch 1 of 1: val BLEU-4 ..., CIDEr-D ...; wrote runs/shapes/model.keras, history.csv, curves.png
        >>> sorted(os.listdir("runs/shapes"))
        ['backup', 'config.json', 'curves.png', 'history.csv', 'kept_epoch.json', 'model.keras', 'vocabulary.json']
    """
    arguments = dict(locals())
    from showattend.files import writable_folder
    from showattend.locks import FolderLock
    from showattend.training.cluster import multi_worker_strategy

    if multi_worker and cache_features:
        raise ValueError("--cache-features cannot be combined with --multi-worker yet: every worker would write the "
                         "cache. Cache the features with `showattend features` on each host, or drop one of them.")
    strategy = multi_worker_strategy() if arguments.pop("multi_worker") else tf.distribute.get_strategy()
    if not is_chief(strategy):  # the chief writes the run; the others write nothing
        return _train(**arguments, strategy=strategy)
    writable_folder(out, "--out")  # before anything is read
    for folder, what in ((tensorboard, "--tensorboard"), (cache_features and feature_dir, "--feature-dir")):
        if folder and not os.path.isfile(os.path.join(folder, "cache.json")):
            writable_folder(folder, what)
    with FolderLock(RunFolder(out).lock, "training"):  # one run at a time in ``out``
        return _train(**arguments, strategy=strategy)


def _train(out, data, images, backbone, weights, image_size, fine_tune, cache_features, feature_dir, epochs,
           batch_size, max_length, min_count, max_vocab, val_split, seed, recipe, model, tensorboard, on_bad_image,
           verbose, log, strategy):
    """``train``, inside the lock of its folder (on the chief), under ``strategy``."""
    import cnn_backbones
    from showattend.captioner import Captioner
    from showattend.datasets import load
    from showattend.features import FeatureCache
    from showattend.text import Vocabulary

    default_count, default_length = text_defaults(data)
    min_count, max_length = min_count or default_count, max_length or default_length
    cnn_backbones.backbone_info(backbone)  # an unknown name fails now, not after the data is read
    if cache_features and data.split(":")[0] == "shapes":
        raise ValueError("--cache-features stores the features of image files; the built-in shapes images are drawn "
                         "in memory, so train on them without --cache-features.")
    if cache_features and fine_tune:
        raise ValueError("--cache-features stores a frozen backbone's features, so it cannot be combined with "
                         "--fine-tune; drop one of them.")
    if model and "backbone" in model:
        raise ValueError("model= holds the decoder's options (attention, units, embed_dim, …); pass the backbone "
                         f"as backbone=, not model['backbone'] = {model['backbone']!r}.")
    model = _with_paper_values(model or {})
    recipe = recipe or Recipe()
    pretrained = weights is not None or cnn_backbones.is_hub_name(backbone)  # a keras-hub preset has its weights
    frozen = bool(cache_features) or (pretrained and not fine_tune)
    config = {"data": data, "images": images, "backbone": backbone, "weights": weights, "image_size": image_size,
              "fine_tune": fine_tune, "cache_features": bool(cache_features), "feature_dir": feature_dir,
              "epochs": epochs, "batch_size": batch_size, "max_length": max_length, "min_count": min_count,
              "max_vocab": max_vocab, "val_split": val_split, "seed": seed, "model": model,
              "recipe": dataclasses.asdict(recipe), "on_bad_image": on_bad_image, "tensorboard": tensorboard}
    run = RunFolder(out)
    chief = is_chief(strategy)
    if chief:
        run.check_same_run(config, complete={"model": _with_paper_values})  # a run saved before "decoder" was one
        if run.resume_note(epochs):
            log(run.resume_note(epochs))
    else:
        log(f"{task_name(strategy)}: training with the chief, which validates and writes {out}/; this worker writes "
            "nothing")
        log = _quiet
    keras.utils.set_random_seed(seed)

    options = dict(images=images, val_split=val_split, seed=seed, on_bad_image=on_bad_image)
    train_data, val_data = load(data, "train", **options), load(data, "val", **options)
    log(f"Data {data}: {len(train_data):,} training images ({train_data.num_captions:,} captions), "
        f"{len(val_data):,} validation images")
    vocabulary_path = run.vocabulary
    resumed = chief and os.path.isfile(vocabulary_path) and run.started()
    if resumed:  # the words the model was built with
        vocabulary = Vocabulary.load(vocabulary_path)
        log(f"Vocabulary: {len(vocabulary) - 4:,} words (and 4 special tokens) from {vocabulary_path}")
    else:
        vocabulary = Vocabulary.build(train_data.all_captions(), max_size=max_vocab, min_count=min_count)
        log(f"Vocabulary: {vocabulary.summary()}")
    # The workers' own settings, data and words must be the chief's (each host reads its own copy of the data).
    check_same_settings(strategy, {**{k: v for k, v in config.items() if k not in ("images", "tensorboard")},
                                   "training images": len(train_data), "words": vocabulary.words})
    if chief and not resumed:
        vocabulary.save(vocabulary_path)
    cut = count_cut(train_data.all_captions(), max_length)
    log(f"Captions: {cut:,} of {train_data.num_captions:,} ({100 * cut / train_data.num_captions:.1f}%) are longer "
        f"than {max_length} words and are cut to {max_length}")

    info = cnn_backbones.backbone_info(backbone)
    size = tuple(image_size or info.default_input_shape[:2])
    with strategy.scope():  # the model and its optimizer are made under the strategy (several workers: mirrored)
        encoder = cnn_backbones.create_backbone(backbone, input_shape=(*size, 3), weights=weights,
                                                trainable=not frozen)
    cache = None
    if cache_features:
        if not pretrained:
            log("Note: --cache-features with random backbone weights: the captioner learns from an untrained CNN.")
        directory = feature_dir or run.features
        log(f"Feature cache {directory}: {backbone} at {size[0]}×{size[1]} → grid {tuple(encoder.output_shape[1:])}")
        files = list(train_data.images) + list(val_data.images)
        cache = FeatureCache.build(directory, encoder, files, weights=weights, on_bad_image=on_bad_image,
                                   verbose=1 if verbose else 0)
        skipped = [p for p in files if p in cache.bad]
        if skipped:  # said again on a resumed run, whose extraction had nothing left to do
            log(f"{len(skipped)} unreadable image{'s are' if len(skipped) > 1 else ' is'} left out, e.g. "
                f"{cache.bad[skipped[0]]}")
    with strategy.scope():
        captioner = Captioner(encoder, vocabulary, max_length=max_length, seed=seed, train_backbone=not frozen,
                              **model)
    if chief:
        write_json(run.config, config)  # once the data and features are ready
    workers = f" on {strategy.num_replicas_in_sync} replicas ({task_name(strategy)} is the chief)" \
        if is_multi_worker(strategy) else ""
    log(f"Training a {captioner.decoder.describe()} captioner ({captioner.count_params():,} parameters, "
        f"backbone {'frozen' if frozen else 'trained'}) for {epochs} epoch{'s' if epochs > 1 else ''} into "
        f"{out}/{workers}")
    best = fit_best(captioner, train_data, val_data, out, epochs, batch_size, recipe, feature_cache=cache,
                    tensorboard=tensorboard, verbose=verbose)
    if not chief:
        return best
    run.plot_curves()
    history, kept = run.read_history(), run.kept_epoch()
    log(f"Kept epoch {kept['epoch']} of {len(history)}: val BLEU-4 {kept['val_bleu4']:.4f}, "
        f"CIDEr-D {kept['val_cider']:.4f}; wrote {out}/model.keras, history.csv, curves.png")
    return best


def _quiet(line):
    """A worker's log: the chief says it all."""


def _with_paper_values(model):
    """The decoder's options: those given, over the paper's values of the decoder named (the LSTM's
    by default)."""
    decoder = model.get("decoder", "lstm")
    return {"decoder": decoder, **paper_config(decoder), **model}


def count_cut(captions, max_length):
    """How many ``captions`` have more than ``max_length`` words (they are cut when encoded).

    >>> count_cut(["a red circle", "a very long caption indeed"], max_length=4)
    1
    """
    from showattend.text import tokenize

    return int(np.sum([len(tokenize(c)) > max_length for c in captions]))
