"""Did the caption name the right objects, and did each word look at its object? For data with
object masks (the shapes data): semantic F1 and attention correctness against the uniform map's.
"""
import collections

import numpy as np

from showattend.attention_maps import upsample_attention

__all__ = ["find_object_phrases", "grounded_words", "grounding_scores"]


def find_object_phrases(tokens, names, modifiers=()):
    """Where ``tokens`` name an object: (word indices, name) for each occurrence of a name.

    A name is a tuple of words, e.g. ("red", "circle"); a modifier word (e.g. a size) right
    before it joins the phrase.

    Args:
        tokens: a caption's words.
        names: the object names, each a tuple of words.
        modifiers: words that join the phrase when right before a name.

    Returns:
        A list of ``(word indices, name)``, in the caption's order.

    Examples:
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


def _grounded_phrases(objects, caption, names, modifiers):
    """Each phrase of ``caption`` grounded to one of ``objects`` (each object at most once):
    ``(phrase's word indices, its span, the object)``; ``_word_spans`` gives the span."""
    phrases = find_object_phrases(caption.tokens, names, modifiers)
    unused = list(objects)
    for (words, name), span in zip(phrases, _word_spans(phrases, len(caption.tokens))):
        target = _ground(words, name, caption.tokens, unused)
        if target is not None:
            unused.remove(target)
            yield words, span, target


def grounded_words(dataset, captions):
    """Every word of an object phrase that names an object of its image, with that object.

    Phrases are grounded as ``grounding_scores`` grounds them (same name, then the same size word,
    then the position words that follow), each object at most once per caption.

    Args:
        dataset: a CaptionDataset with objects (e.g. the shapes data).
        captions: one ``Caption`` per image.

    Returns:
        An iterator of ``(caption, word index, object)``.

    Examples:
        >>> from showattend import Caption
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", num_images=1)
        >>> caption = Caption(data.captions[0][1], data.captions[0][1].split(), 0.0)
        >>> caption.text, [(caption.tokens[w], o.name) for _, w, o in grounded_words(data, [caption])]
        ('a blue circle', [('blue', ('blue', 'circle')), ('circle', ('blue', 'circle'))])
    """
    names, modifiers = dataset.object_names, dataset.object_modifiers
    for objects, caption in zip(dataset.objects, captions):
        for words, _, target in _grounded_phrases(objects, caption, names, modifiers):
            for word in words:
                yield caption, word, target


def _word_spans(phrases, length):
    """Each phrase's words plus the words that follow it up to the next phrase (its position, …)."""
    starts = [words[0] for words, _ in phrases[1:]] + [length]
    return [list(words) + list(range(words[-1] + 1, stop)) for (words, _), stop in zip(phrases, starts)]


def grounding_scores(dataset, captions):
    """Semantic precision, recall and F1 of the object names, and attention correctness.

    Attention correctness is measured per object phrase and, where the data names its word classes,
    per word class. ``attention_correctness`` is, per grounded phrase, the largest share of one of its words'
    attention inside the object's mask; ``attention_correctness_<class>`` (e.g. colour, shape,
    position) is the mean share of each word of that class, the class's words being those of the
    phrase and those that follow it up to the next phrase. Each comes with the ``uniform_baseline``
    that uniform attention would score on the same words.

    Args:
        dataset: a CaptionDataset with objects (e.g. the shapes data).
        captions: one ``Caption`` per image; those with attention maps count for attention
            correctness.

    Returns:
        A dict: ``semantic_precision``, ``semantic_recall``, ``semantic_f1`` and, when a phrase
        could be grounded, ``attention_correctness``, ``uniform_baseline`` and
        ``grounded_phrases``, and per word class ``attention_correctness_<class>``,
        ``uniform_baseline_<class>`` and ``grounded_words_<class>``.

    Examples:
        Uniform attention scores its own baseline:

        >>> import numpy as np
        >>> from showattend import Caption
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", num_images=2)
        >>> captions = [Caption(refs[1], refs[1].split(), 0.0, np.full((len(refs[1].split()), 8, 8), 1 / 64))
        ...             for refs in data.captions]
        >>> captions[1].text
        'a yellow circle and a yellow triangle'
        >>> scores = grounding_scores(data, captions)
        >>> scores["semantic_f1"], scores["grounded_phrases"]
        (1.0, 3)
        >>> round(scores["attention_correctness"] / scores["uniform_baseline"], 6)
        1.0
    """
    names, modifiers = dataset.object_names, dataset.object_modifiers
    class_of = {word: name for name, words in (dataset.word_classes or {}).items() for word in words}
    tp = n_predicted = n_present = 0
    correctness, baseline = [], []
    per_class = collections.defaultdict(list)  # class → [(share inside the mask, mask's share of the image)]
    for objects, caption in zip(dataset.objects, captions):
        predicted = collections.Counter(name for _, name in find_object_phrases(caption.tokens, names, modifiers))
        present = collections.Counter(o.name for o in objects)
        tp += sum((predicted & present).values())
        n_predicted += sum(predicted.values())
        n_present += sum(present.values())
        if caption.attention is None:
            continue
        upsampled = {}
        for words, span, target in _grounded_phrases(objects, caption, names, modifiers):

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
