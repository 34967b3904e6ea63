"""Caption metrics (pycocoevalcap) and, for data with object masks, semantic F1 and attention correctness."""
import collections
import shutil
import warnings

import numpy as np

from showattend.data.dataset import CaptionDataset
from showattend.text.vocabulary import tokenize
from showattend.visualize import upsample_attention

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D")


def _tokenized(captions_by_image):
    """PTB-tokenize {id: [captions]} as the COCO evaluation does (Java), else our own tokenizer."""
    if shutil.which("java"):
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        return PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions_by_image.items()})
    return {k: [" ".join(tokenize(c)) for c in v] for k, v in captions_by_image.items()}


def caption_metrics(references, hypotheses):
    """BLEU-1..4, METEOR, ROUGE-L and CIDEr-D of ``hypotheses`` (one string per image) against
    ``references`` (a list of strings per image), each pycocoevalcap scorer called on its own.

    METEOR needs Java; without it METEOR is NaN and a warning says so.

    >>> caption_metrics([["a red circle"]], ["a red circle"])["BLEU-1"]  # doctest: +SKIP
    1.0
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
        from pycocoevalcap.meteor.meteor import Meteor

        metrics["METEOR"] = float(Meteor().compute_score(gts, res)[0])
    else:
        warnings.warn("Java was not found: METEOR needs it, so it is reported as NaN, and the captions were "
                      "tokenized by showattend's tokenizer instead of the PTB tokenizer, so the other figures "
                      "may differ slightly from pycocoevalcap's.")
        metrics["METEOR"] = float("nan")
    metrics["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    metrics["CIDEr-D"] = float(Cider().compute_score(gts, res)[0])
    return metrics


def corpus_bleu4(references, hypotheses):
    """Corpus BLEU-4 (nltk, no downloads) of token lists against lists of reference token lists.

    Never NaN: with no 4-gram in common (early in training, empty captions) it is 0.

    >>> corpus_bleu4([[["a", "red", "circle", "on", "grey"]]], [["a", "red", "circle", "on", "grey"]])
    1.0
    """
    from nltk.translate.bleu_score import corpus_bleu

    if not any(hypotheses):
        return 0.0
    with warnings.catch_warnings():  # nltk warns when a higher-order n-gram has no match: that is a 0
        warnings.simplefilter("ignore")
        value = float(corpus_bleu(references, hypotheses))
    return value if np.isfinite(value) and value > 1e-9 else 0.0  # nltk's "no match" is ~1e-231


def cider_d(references, hypotheses):
    """CIDEr-D (pycocoevalcap's scorer, pure Python) of token lists; document frequencies from ``references``."""
    from pycocoevalcap.cider.cider import Cider

    gts = {i: [" ".join(r) for r in refs] for i, refs in enumerate(references)}
    res = {i: [" ".join(h) or "<empty>"] for i, h in enumerate(hypotheses)}  # the scorer needs a word
    value = float(Cider().compute_score(gts, res)[0])
    return value if np.isfinite(value) else 0.0


def find_object_phrases(tokens, names, modifiers=()):
    """Where ``tokens`` name an object: (word indices, name) for each occurrence of a name.

    A name is a tuple of words, e.g. ("red", "circle"); a modifier word (e.g. a size) right
    before it joins the phrase.

    >>> find_object_phrases(["a", "big", "red", "circle"], {("red", "circle")}, {"big"})
    [([1, 2, 3], ('red', 'circle'))]
    """
    found = []
    lengths = sorted({len(n) for n in names}, reverse=True)
    i = 0
    while i < len(tokens):
        for n in lengths:
            name = tuple(tokens[i:i + n])
            if name in names:
                words = ([i - 1] if i > 0 and tokens[i - 1] in modifiers else []) + list(range(i, i + n))
                found.append((words, name))
                i += n - 1
                break
        i += 1
    return found


def _ground(phrase, name, tokens, candidates):
    """The object a phrase refers to: same name, then same size word, then its position words follow."""
    matching = [o for o in candidates if o.name == name]
    if not matching:
        return None
    after = " ".join(tokens[phrase[-1] + 1: phrase[-1] + 5])

    def rank(o):
        size = o.attributes.get("size")
        position = " ".join(o.attributes.get("position", ()))
        return (-(size is not None and size == tokens[phrase[0]]), -(bool(position) and position in after))

    return min(matching, key=rank)


def _word_spans(phrases, length):
    """Each phrase's words plus the words that follow it up to the next phrase (its position, …)."""
    starts = [words[0] for words, _ in phrases[1:]] + [length]
    return [list(words) + list(range(words[-1] + 1, stop)) for (words, _), stop in zip(phrases, starts)]


def grounding_scores(dataset, captions):
    """Semantic precision/recall/F1 of the object names, and attention correctness per object phrase
    and, where the data names its word classes, per word class.

    ``attention_correctness`` is, per grounded phrase, the largest share of one of its words'
    attention inside the object's mask; ``attention_correctness_<class>`` (e.g. colour, shape,
    position) is the mean share of each word of that class, the class's words being those of the
    phrase and those that follow it up to the next phrase. Each comes with the ``uniform_baseline``
    that uniform attention would score on the same words.
    """
    names, modifiers = dataset.object_names, dataset.object_modifiers
    class_of = {word: name for name, words in (dataset.word_classes or {}).items() for word in words}
    tp = n_predicted = n_present = 0
    correctness, baseline = [], []
    per_class = collections.defaultdict(list)  # class → [(share inside the mask, mask's share of the image)]
    for objects, caption in zip(dataset.objects, captions):
        phrases = find_object_phrases(caption.tokens, names, modifiers)
        predicted = collections.Counter(name for _, name in phrases)
        present = collections.Counter(o.name for o in objects)
        tp += sum((predicted & present).values())
        n_predicted += sum(predicted.values())
        n_present += sum(present.values())
        if caption.attention is None:
            continue
        unused = list(objects)
        upsampled = {}
        for (words, name), span in zip(phrases, _word_spans(phrases, len(caption.tokens))):
            target = _ground(words, name, caption.tokens, unused)
            if target is None:
                continue
            unused.remove(target)

            def mass(w):
                if w not in upsampled:
                    upsampled[w] = upsample_attention(caption.attention[w], target.mask.shape)
                return float(upsampled[w][target.mask].sum())

            share = float(target.mask.mean())
            correctness.append(max(mass(w) for w in words))
            baseline.append(share)
            for w in span:
                if caption.tokens[w] in class_of:
                    per_class[class_of[caption.tokens[w]]].append((mass(w), share))
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_present if n_present else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    scores = {"semantic_precision": precision, "semantic_recall": recall, "semantic_f1": f1}
    if correctness:
        scores.update(attention_correctness=float(np.mean(correctness)), uniform_baseline=float(np.mean(baseline)),
                      grounded_phrases=len(correctness))
    for word_class, pairs in per_class.items():
        masses, shares = np.array(pairs).T
        scores.update({f"attention_correctness_{word_class}": float(masses.mean()),
                       f"uniform_baseline_{word_class}": float(shares.mean()),
                       f"grounded_words_{word_class}": len(pairs)})
    return scores


def caption_dataset(captioner, dataset, beam_size=3, batch_size=32, return_attention=False):
    """Caption every image of ``dataset``, a batch of files at a time: (captions, dataset).

    With ``on_bad_image="skip"`` an unreadable file is left out (and counted in one warning), so the
    dataset returned holds only the images captioned; otherwise the error names the file.

    >>> captions, captioned = caption_dataset(model, test, beam_size=3)  # doctest: +SKIP
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
    """Caption ``dataset``'s images and score them: a dict of metric → value.

    BLEU-1..4, METEOR, ROUGE-L, CIDEr-D always; for data with object masks (the shapes data) also
    ``semantic_f1`` (with precision and recall) and ``attention_correctness`` with its
    ``uniform_baseline``. Pass ``captions`` to score captions you already have.

    >>> metrics = evaluate(model, shapes("test"))  # doctest: +SKIP
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

    >>> coco_results(test, model.caption(test.images))[:1]  # doctest: +SKIP
    [{'image_id': 391895, 'caption': 'a man riding a bike down a dirt road'}]
    """
    return [{"image_id": image_id, "caption": caption.text} for image_id, caption in zip(dataset.image_ids, captions)]


def evaluate_to_files(captioner, dataset, path, beam_size=3, batch_size=32):
    """Caption ``dataset``, write its COCO results JSON to ``path`` and its metrics beside it
    (``results.json`` → ``results.metrics.json``); returns (metrics, (results path, metrics path)).

    >>> metrics, files = evaluate_to_files(model, test, "results.json")  # doctest: +SKIP
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
    """The metrics as a two-column text table."""
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
