"""Words to ids and back, built from training captions; stored as JSON, never pickled."""
import collections
import json
import os
import re

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL_TOKENS = (PAD, START, END, UNK)

_PUNCTUATION = re.compile(r"[^\w\s']|_")
_WORD_CHARACTER = re.compile(r"[^\W_]")  # what tokenize keeps: a letter or digit of any script


def tokenize(text):
    """Lower-case ``text``, strip punctuation and split it into words.

    Punctuation and underscores become spaces; an apostrophe splits a word (``"it's"`` → ``it``, ``s``).

    Args:
        text: a caption.

    Returns:
        A list of words (letters and digits of any script).

    Raises:
        ValueError: when ``text`` is not a string.

    Examples:
        >>> tokenize("A red Circle, at the top!")
        ['a', 'red', 'circle', 'at', 'the', 'top']
    """
    if not isinstance(text, str):
        raise ValueError(f"A caption must be a string, got {type(text).__name__}: {text!r}")
    return _PUNCTUATION.sub(" ", text.lower()).replace("'", " ").split()


def has_words(text):
    """Whether ``tokenize(text)`` has at least one word (a letter or digit), without tokenizing it.

    Args:
        text: a caption (a string).

    Returns:
        False for "", whitespace and punctuation alone; True otherwise.

    Examples:
        >>> has_words("A red circle."), has_words("  "), has_words("?!")
        (True, False, False)
    """
    return _WORD_CHARACTER.search(text) is not None


class Vocabulary:
    """The caption vocabulary: ``<pad>`` is 0, then ``<start>``, ``<end>``, ``<unk>``, then words.

    Usually made by ``Vocabulary.build`` from training captions, and saved beside a model as JSON.

    Args:
        words: the words in id order; the special tokens are put first when they are not already.

    Raises:
        ValueError: when a word appears twice.

    Examples:
        >>> vocab = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
        >>> vocab.encode("a red square", add_start_end=True)
        [1, 4, 7, 8, 2]
        >>> vocab.decode(vocab.encode("a red square"))
        'a red square'
        >>> Vocabulary(["a", "red"]).words
        ['<pad>', '<start>', '<end>', '<unk>', 'a', 'red']
    """

    def __init__(self, words):
        words = list(words)
        if list(words[: len(SPECIAL_TOKENS)]) != list(SPECIAL_TOKENS):
            words = list(SPECIAL_TOKENS) + [w for w in words if w not in SPECIAL_TOKENS]
        if len(set(words)) != len(words):
            raise ValueError("Vocabulary words must be unique.")
        self.words = words
        self._ids = {word: i for i, word in enumerate(words)}
        self.stats = None  # set by build(): counts behind summary()
        self._most_common = []  # set by build(): [(word, count)] of its most frequent word

    @classmethod
    def build(cls, captions, max_size=10000, min_count=5):
        """A vocabulary of the words that ``captions`` use often enough; the rest become ``<unk>``.

        The words seen at least ``min_count`` times, most frequent first (ties alphabetical), at most
        ``max_size`` in all (specials included). The defaults are the field's for real data (COCO
        keeps about 10k words, Flickr8k about 2.5k); pass ``min_count=1`` for a small closed
        vocabulary such as the shapes data. ``summary()`` says how many words were kept and how much
        of the captions' text they cover.

        Args:
            captions: the training captions (strings).
            max_size: the most words kept, special tokens included (more than 4).
            min_count: how often a word must appear to be kept (at least 1).

        Returns:
            A ``Vocabulary`` that remembers how it was built (``summary()``).

        Raises:
            ValueError: when ``captions`` is empty, a caption is not a string, ``min_count`` is under 1
                or ``max_size`` is 4 or less.

        Examples:
            >>> vocab = Vocabulary.build(["a red circle", "a blue circle"], min_count=2)
            >>> vocab.words[4:], vocab.summary()
            (['a', 'circle'], '2 of 4 distinct words kept (seen at least 2 times), covering 66.7% of the 6 words of 2 captions')
        """
        captions = list(captions)
        if not captions:
            raise ValueError("Cannot build a vocabulary from an empty list of captions.")
        if int(min_count) < 1 or int(max_size) <= len(SPECIAL_TOKENS):
            raise ValueError(f"min_count must be at least 1 and max_size more than {len(SPECIAL_TOKENS)}; "
                             f"got min_count={min_count!r}, max_size={max_size!r}.")
        counts = collections.Counter(w for c in captions for w in tokenize(c))
        ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        vocabulary = cls(list(SPECIAL_TOKENS) + ranked[: int(max_size) - len(SPECIAL_TOKENS)])
        kept = vocabulary.words[len(SPECIAL_TOKENS):]
        vocabulary._most_common = counts.most_common(1)  # what check_has_words would suggest as min_count
        total = sum(counts.values())
        vocabulary.stats = {"captions": len(captions), "words": total, "distinct_words": len(counts),
                            "kept": len(kept), "min_count": int(min_count),
                            "coverage": sum(counts[w] for w in kept) / total if total else 0.0}
        return vocabulary

    def summary(self):
        """How the vocabulary was built: words kept, and the share of the training text they cover.

        Returns:
            One line of text; for a vocabulary not made by ``build``, its size alone.
        """
        s = self.stats
        if s is None:
            return f"{len(self)} words (specials included)"
        seen = "once" if s["min_count"] == 1 else f"{s['min_count']} times"
        return (f"{s['kept']:,} of {s['distinct_words']:,} distinct words kept (seen at least {seen}), covering {100 * s['coverage']:.1f}% of the {s['words']:,} words of {s['captions']:,} "
                f"caption{'s' if s['captions'] != 1 else ''}")

    def check_has_words(self):
        """Refuse a vocabulary of the special tokens alone: a model could only ever write ``<unk>``.

        Raises:
            ValueError: naming how the vocabulary was built and the ``min_count`` (or captions)
                that would keep a word.

        Examples:
            >>> Vocabulary.build(["a red circle"], min_count=1).check_has_words()
            >>> Vocabulary.build(["a red circle"], min_count=5).check_has_words()
            Traceback (most recent call last):
            ValueError: The vocabulary holds only the special tokens ... (the most frequent, 'a', 1 time). Build it with min_count=1, or from more captions.
        """
        if len(self) > len(SPECIAL_TOKENS):
            return
        start = f"The vocabulary holds only the special tokens {', '.join(SPECIAL_TOKENS)}"
        s = self.stats
        if s is None:
            raise ValueError(f"{start} and no word. Build it from the training captions: "
                             "Vocabulary.build(captions, min_count=1), or give it words: Vocabulary(['a', 'red', …]).")
        captions = f"{s['captions']:,} caption{'s' if s['captions'] != 1 else ''}"
        if not self._most_common:
            raise ValueError(f"{start}: none of the {captions} it was built from has a word (a letter or digit). "
                             "Build it from captions that have words.")
        word, count = self._most_common[0]
        raise ValueError(f"{start}: none of the {s['distinct_words']:,} distinct words of the {captions} was seen "
                         f"min_count={s['min_count']} times (the most frequent, {word!r}, {count} "
                         f"time{'s' if count != 1 else ''}). Build it with min_count={count}, or from more captions.")

    pad_id = property(lambda self: 0)
    start_id = property(lambda self: 1)
    end_id = property(lambda self: 2)
    unk_id = property(lambda self: 3)

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self._ids

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.words == other.words

    def __repr__(self):
        return f"Vocabulary({len(self)} words)"

    def id(self, word):
        """The id of ``word``.

        Args:
            word: a word (already tokenized: lower case, no punctuation).

        Returns:
            Its id, or ``unk_id`` (3) for a word outside the vocabulary.
        """
        return self._ids.get(word, self.unk_id)

    def encode(self, caption, add_start_end=False):
        """Ids of a caption's words, unknown words as ``<unk>``.

        Args:
            caption: a caption, tokenized here (``tokenize``).
            add_start_end: put ``<start>`` before the words and ``<end>`` after them.

        Returns:
            A list of ints.

        Raises:
            ValueError: when ``caption`` is not a string.
        """
        ids = [self.id(w) for w in tokenize(caption)]
        return [self.start_id] + ids + [self.end_id] if add_start_end else ids

    def decode_tokens(self, ids):
        """Words of ``ids`` up to the first ``<end>``, without special tokens.

        ``<pad>`` and ``<start>`` are dropped; ``<unk>`` stays as the word ``<unk>``.

        Args:
            ids: token ids (ints, or anything ``int()`` takes, such as a NumPy array's items).

        Returns:
            A list of words.

        Raises:
            ValueError: when an id before the first ``<end>`` is outside the vocabulary.
        """
        words = []
        for i in ids:
            i = int(i)
            if i == self.end_id:
                break
            if i >= len(self.words) or i < 0:
                raise ValueError(f"Token id {i} is outside the vocabulary (0..{len(self.words) - 1}).")
            if i not in (self.pad_id, self.start_id):
                words.append(self.words[i])
        return words

    def decode(self, ids):
        """The caption that ``ids`` spell: ``decode_tokens(ids)`` joined by spaces.

        Args:
            ids: token ids.

        Returns:
            A string.

        Raises:
            ValueError: when an id before the first ``<end>`` is outside the vocabulary.
        """
        return " ".join(self.decode_tokens(ids))

    def get_config(self):
        """The vocabulary as a JSON-ready dict, which ``from_config`` reads back.

        Returns:
            ``{"words": [...]}``, special tokens first.
        """
        return {"words": list(self.words)}

    @classmethod
    def from_config(cls, config):
        """The vocabulary that ``get_config`` described.

        Args:
            config: a dict with the key ``"words"``.

        Returns:
            A ``Vocabulary``.
        """
        return cls(config["words"])

    def to_json(self):
        """The vocabulary as JSON text, which ``from_json`` reads back.

        Returns:
            A string.
        """
        return json.dumps(self.get_config())

    @classmethod
    def from_json(cls, text):
        """The vocabulary that ``to_json`` wrote.

        Args:
            text: JSON text.

        Returns:
            A ``Vocabulary``.
        """
        return cls.from_config(json.loads(text))

    def save(self, path):
        """Write the vocabulary as JSON, atomically (a reader never sees half a file).

        Args:
            path: the file to write; ``Vocabulary.load(path)`` reads it back.
        """
        from showattend.files import write_text

        write_text(path, self.to_json())

    @classmethod
    def load(cls, path):
        """Read a vocabulary that ``save`` wrote.

        Args:
            path: a JSON file.

        Returns:
            A ``Vocabulary``.

        Raises:
            FileNotFoundError: when there is no file at ``path``.

        Examples:
            >>> vocab = Vocabulary.build(["a red circle"], min_count=1)
            >>> vocab.save("vocabulary.json")
            >>> Vocabulary.load("vocabulary.json") == vocab
            True
        """
        if not os.path.exists(path):
            raise FileNotFoundError(f"No vocabulary file at {path}")
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())
