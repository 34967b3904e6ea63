"""Caption metrics (pycocoevalcap), captioning a dataset, COCO results files, and `evaluate`, which adds
semantic F1 and attention correctness (`showattend.grounding`) for data with object masks.
"""
import shutil
import warnings

import numpy as np

from showattend.data.dataset import CaptionDataset
from showattend.text.vocabulary import tokenize
from showattend.grounding import find_object_phrases, grounding_scores  # noqa: F401 (also importable from here)

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D")


def _tokenized(captions_by_image):
    """PTB-tokenize {id: [captions]} as the COCO evaluation does (Java), else our own tokenizer."""
    if shutil.which("java"):
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        return PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions_by_image.items()})
    return {k: [" ".join(tokenize(c)) for c in v] for k, v in captions_by_image.items()}


def caption_metrics(references, hypotheses):
    """BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of captions against their references.

    Each pycocoevalcap scorer is called on its own, on captions tokenized as the COCO evaluation
    does (the PTB tokenizer). METEOR and the PTB tokenizer need Java; without it METEOR is NaN,
    the captions are tokenized by showattend's tokenizer, and a warning says so. METEOR's Java
    process starts at the first call (about 5 s, loading its tables) and serves the later ones.

    Args:
        references: a list of reference captions (strings) per image.
        hypotheses: one caption (a string) per image.

    Returns:
        A dict of metric name (``METRIC_NAMES``) → value.

    Raises:
        ValueError: when the counts of hypotheses and reference lists differ, or there are none.

    Examples:
        >>> metrics = caption_metrics([["a red circle", "a red circle in the center"], ["a blue square"]],
        ...                           ["a red circle", "a blue circle"])
        >>> list(metrics) == list(METRIC_NAMES)
        True
        >>> round(metrics["BLEU-1"], 3), round(metrics["ROUGE-L"], 3), round(metrics["METEOR"], 2)
        (0.833, 0.833, 0.44)
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    if len(references) != len(hypotheses) or not hypotheses:
        raise ValueError(f"Need one hypothesis per image and at least one image; got {len(hypotheses)} "
                         f"hypotheses for {len(references)} reference lists.")
    gts = _tokenized({i: list(refs) for i, refs in enumerate(references)})
    res = _tokenized({i: [hyp] for i, hyp in enumerate(hypotheses)})
    res = {k: [v[0] if v[0].strip() else "<empty>"] for k, v in res.items()}  # scorers choke on ""
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    metrics = {f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}
    if shutil.which("java"):
        metrics["METEOR"] = _meteor_score(gts, res)
    else:
        warnings.warn("Java was not found: METEOR needs it, so it is reported as NaN, and the captions were "
                      "tokenized by showattend's tokenizer instead of the PTB tokenizer, so the other figures "
                      "may differ slightly from pycocoevalcap's.")
        metrics["METEOR"] = float("nan")
    metrics["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    metrics["CIDEr-D"] = float(Cider().compute_score(gts, res)[0])
    return metrics


_METEOR = []  # one METEOR scorer per process: its Java process takes seconds to start and load its tables


def _meteor_score(gts, res):
    """pycocoevalcap's METEOR of tokenized captions, from the process's scorer (started at the first
    call, and again if its Java process went away, as after a Ctrl-C sent to the process group)."""
    from pycocoevalcap.meteor.meteor import Meteor

    for attempt in range(2):
        if not _METEOR:
            _METEOR.append(Meteor())
        try:
            return float(_METEOR[0].compute_score(gts, res)[0])
        except (BrokenPipeError, ValueError, OSError):
            scorer = _METEOR.pop()
            if scorer.lock.locked():
                scorer.lock.release()  # compute_score raised while holding it
            try:
                scorer.meteor_p.stdin.close()  # now, so that its __del__ has nothing left to flush
            except OSError:
                pass
            if attempt:
                raise


def corpus_bleu4(references, hypotheses):
    """Corpus BLEU-4 (nltk, no downloads) of token lists against lists of reference token lists.

    Never NaN: with no 4-gram in common (early in training, empty captions) it is 0.

    Args:
        references: a list of reference token lists per image.
        hypotheses: one token list per image.

    Returns:
        BLEU-4 in [0, 1], a float.

    Examples:
        >>> corpus_bleu4([[["a", "red", "circle", "on", "grey"]]], [["a", "red", "circle", "on", "grey"]])
        1.0
        >>> corpus_bleu4([[["a", "red", "circle", "on", "grey"]]], [["a", "blue", "square"]])
        0.0
    """
    from nltk.translate.bleu_score import corpus_bleu

    if not any(hypotheses):
        return 0.0
    with warnings.catch_warnings():  # nltk warns when a higher-order n-gram has no match: that is a 0
        warnings.simplefilter("ignore")
        value = float(corpus_bleu(references, hypotheses))
    return value if np.isfinite(value) and value > 1e-9 else 0.0  # nltk's "no match" is ~1e-231


def cider_d(references, hypotheses):
    """CIDEr-D (pycocoevalcap's scorer, pure Python) of token lists.

    The document frequencies come from ``references``. An empty caption scores as ``<empty>``; a
    score that is not finite is 0.

    Args:
        references: a list of reference token lists per image.
        hypotheses: one token list per image.

    Returns:
        CIDEr-D, a float (10 for a caption equal to its references, up to the length penalty).

    Examples:
        >>> references = [[["a", "red", "circle"]], [["a", "blue", "square"]]]
        >>> round(cider_d(references, [["a", "red", "circle"], ["a", "blue", "circle"]]), 3)
        5.0
    """
    from pycocoevalcap.cider.cider import Cider

    gts = {i: [" ".join(r) for r in refs] for i, refs in enumerate(references)}
    res = {i: [" ".join(h) or "<empty>"] for i, h in enumerate(hypotheses)}  # the scorer needs a word
    value = float(Cider().compute_score(gts, res)[0])
    return value if np.isfinite(value) else 0.0


def caption_dataset(captioner, dataset, beam_size=3, batch_size=32, return_attention=False):
    """Caption every image of ``dataset``, a batch of files at a time.

    With ``on_bad_image="skip"`` an unreadable file is left out (and counted in one warning), so the
    dataset returned holds only the images captioned; otherwise the error names the file.

    Args:
        captioner: a ``Captioner``.
        dataset: a CaptionDataset of arrays or of image files.
        beam_size: beams kept per image (1: greedy search).
        batch_size: images read and captioned at a time.
        return_attention: keep each word's attention map and gate value.

    Returns:
        A pair ``(captions, dataset)``: one ``Caption`` per image captioned, and the dataset of
        those images (``dataset`` itself when none was left out).

    Raises:
        ValueError: when no image of the dataset could be read.
        showattend.data.BadImageError: a file that cannot be decoded, with ``on_bad_image="error"``.

    Examples:
        Two images and a file that is not one:

        >>> from PIL import Image
        >>> from showattend import CaptionDataset, Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> shapes_data = shapes("test", num_images=2)
        >>> for image, name in zip(shapes_data.images, ["first.png", "second.png"]):
        ...     Image.fromarray(image).save(name)
        >>> with open("broken.png", "wb") as file:
        ...     _ = file.write(b"not an image")
        >>> references = [shapes_data.captions[0], ["no caption"], shapes_data.captions[1]]
        >>> data = CaptionDataset(["first.png", "broken.png", "second.png"], references, on_bad_image="skip")
        >>> model = Captioner("small_vgg", Vocabulary.build(shapes_data.all_captions(), min_count=1), units=16)
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     captions, captioned = caption_dataset(model, data, beam_size=1)
        >>> len(captions), captioned.images
        (2, ['first.png', 'second.png'])
        >>> print(caught[0].message)
        1 unreadable image skipped (on_bad_image='skip'): 'broken.png' is not a readable image: ...
    """
    from showattend.data.unreadable import UnreadableImages

    if isinstance(dataset.images, np.ndarray):
        captions = captioner.caption(dataset.images, beam_size=beam_size, return_attention=return_attention,
                                     batch_size=batch_size)
        return captions, dataset
    unreadable = UnreadableImages(dataset.on_bad_image)
    captions, kept = [], []
    for first in range(0, len(dataset), batch_size):  # a batch of files in memory at a time
        arrays, rows = unreadable.read_all(dataset.images[first:first + batch_size], captioner.image_size)
        if arrays:
            captions += captioner.caption(arrays, beam_size=beam_size, return_attention=return_attention,
                                          batch_size=batch_size)
        kept += [first + row for row in rows]
    if not kept:
        raise ValueError(f"None of the {len(dataset)} images of {dataset.name!r} could be read, e.g. "
                         f"{next(iter(unreadable.skipped.values()))}.")
    unreadable.warn()
    return captions, dataset if len(kept) == len(dataset) else dataset.subset(kept)


def evaluate(captioner, dataset, beam_size=3, captions=None, batch_size=32):
    """Caption ``dataset``'s images and score them.

    BLEU-1..4, METEOR, ROUGE-L, CIDEr-D always; for data with object masks (the shapes data) also
    ``semantic_f1`` (with precision and recall) and ``attention_correctness`` with its
    ``uniform_baseline``. Pass ``captions`` to score captions you already have.

    Args:
        captioner: a ``Captioner`` (not used when ``captions`` are given).
        dataset: the CaptionDataset to caption and score against.
        beam_size: beams kept per image (1: greedy search).
        captions: one ``Caption`` per image, to score instead of captioning.
        batch_size: images read and captioned at a time.

    Returns:
        A dict of metric → value (see ``caption_metrics`` and ``grounding_scores``), and
        ``num_images``.

    Raises:
        ValueError: a ``dataset`` that is not a CaptionDataset, or a count of captions that
            differs from the images'.

    Examples:
        Captions equal to one of their references:

        >>> from showattend import Caption
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", num_images=2)
        >>> captions = [Caption(refs[1], refs[1].split(), 0.0) for refs in data.captions]
        >>> metrics = evaluate(None, data, captions=captions)  # captions given: no captioner needed
        >>> round(metrics["BLEU-4"], 6), metrics["semantic_f1"], metrics["num_images"]
        (1.0, 1.0, 2)
    """
    if not isinstance(dataset, CaptionDataset):
        raise ValueError(f"evaluate() needs a CaptionDataset, got {type(dataset).__name__}.")
    if captions is None:
        captions, dataset = caption_dataset(captioner, dataset, beam_size, batch_size,
                                            return_attention=dataset.objects is not None)
    if len(captions) != len(dataset):
        raise ValueError(f"{len(captions)} captions for {len(dataset)} images.")
    metrics = caption_metrics(dataset.captions, [c.text for c in captions])
    if dataset.objects is not None:
        metrics.update(grounding_scores(dataset, captions))
    metrics["num_images"] = len(dataset)
    return metrics


def coco_results(dataset, captions):
    """The COCO results format: ``[{"image_id": …, "caption": …}]``, one entry per image.

    Args:
        dataset: the CaptionDataset captioned (its ``image_ids`` are reported).
        captions: one ``Caption`` per image.

    Returns:
        A list of dicts, ready for ``json.dump``.

    Examples:
        >>> import numpy as np
        >>> from showattend import Caption, CaptionDataset
        >>> data = CaptionDataset(np.zeros((1, 8, 8, 3), "uint8"), [["a man riding a bike"]], image_ids=[391895])
        >>> coco_results(data, [Caption("a man riding a bike down a dirt road", [], -3.2)])
        [{'image_id': 391895, 'caption': 'a man riding a bike down a dirt road'}]
    """
    return [{"image_id": image_id, "caption": caption.text} for image_id, caption in zip(dataset.image_ids, captions)]


def evaluate_to_files(captioner, dataset, path, beam_size=3, batch_size=32):
    """Caption ``dataset``, write its COCO results JSON to ``path`` and its metrics beside it.

    ``results.json`` → ``results.metrics.json``; a metric that is not finite (METEOR without Java)
    is written as ``null``.

    Args:
        captioner: a ``Captioner``.
        dataset: the CaptionDataset to caption and score against.
        path: the results file to write (its folder must exist).
        beam_size: beams kept per image (1: greedy search).
        batch_size: images read and captioned at a time.

    Returns:
        A pair ``(metrics, (results path, metrics path))``; the metrics as ``evaluate`` returns
        them, with ``beam_size``.

    Raises:
        FileNotFoundError: when the folder of ``path`` does not exist (checked before captioning).

    Examples:
        >>> import json
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", num_images=2)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions(), min_count=1), units=16)
        >>> metrics, files = evaluate_to_files(model, data, "results.json", beam_size=1)
        >>> files, metrics["num_images"], metrics["beam_size"]
        (('results.json', 'results.metrics.json'), 2, 1)
        >>> with open("results.json") as file:
        ...     [sorted(entry) for entry in json.load(file)]
        [['caption', 'image_id'], ['caption', 'image_id']]
    """
    import os

    from showattend.files import write_json

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # before captioning, not after an hour of it
        raise FileNotFoundError(f"No folder {folder!r} to write {os.path.basename(path)!r} into.")
    captions, dataset = caption_dataset(captioner, dataset, beam_size, batch_size,
                                        return_attention=dataset.objects is not None)
    metrics = evaluate(captioner, dataset, captions=captions)
    metrics.update(beam_size=beam_size)
    stem = path[:-len(".json")] if path.endswith(".json") else path
    strict = {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in metrics.items()}  # JSON has no NaN
    return metrics, (write_json(path, coco_results(dataset, captions)), write_json(stem + ".metrics.json", strict))


def format_metrics(metrics):
    """The metrics as a two-column text table.

    The caption metrics come first, in ``METRIC_NAMES`` order, then the semantic ones and each
    attention correctness with its uniform baseline; other entries are left out.

    Args:
        metrics: a dict as ``evaluate`` returns it.

    Returns:
        The table, a string.

    Examples:
        >>> print(format_metrics({"CIDEr-D": 1.5, "BLEU-4": 0.25, "num_images": 2,
        ...                       "attention_correctness": 0.5, "uniform_baseline": 0.1}))
        BLEU-4                 0.2500
        CIDEr-D                1.5000
        attention_correctness  0.5000  (uniform baseline 0.1000, 5.0x)
    """
    rows = [(name, f"{metrics[name]:.4f}") for name in METRIC_NAMES if name in metrics]
    for name in ("semantic_precision", "semantic_recall", "semantic_f1"):
        if name in metrics:
            rows.append((name, f"{metrics[name]:.4f}"))
    suffixes = [""] + sorted(k[len("attention_correctness"):] for k in metrics
                             if k.startswith("attention_correctness_"))
    for suffix in suffixes:
        if "attention_correctness" + suffix in metrics:
            value, uniform = metrics["attention_correctness" + suffix], metrics["uniform_baseline" + suffix]
            rows.append(("attention_correctness" + suffix, f"{value:.4f}  (uniform baseline {uniform:.4f}, "
                         f"{value / uniform:.1f}x)"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
