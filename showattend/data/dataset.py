"""CaptionDataset: images with their reference captions (and, where known, their objects)."""
import collections
import dataclasses

import numpy as np

from showattend.text.vocabulary import has_words

BAD_IMAGE_CHOICES = ("error", "skip")


@dataclasses.dataclass(eq=False)  # identity, not mask-by-mask comparison
class GroundedObject:
    """An object of an image: its name (the words that name it), its boolean mask, its attributes.

    Objects are what attention correctness is measured against: the share of attention that the
    words naming an object put on its mask. Two objects are equal only if they are the same one.

    Attributes:
        name: the words that name the object, e.g. ``("red", "circle")``.
        mask: a boolean array (H, W) at the image's own size, True on the object.
        attributes: other facts about it, e.g. ``{"size": "large", "position": ("top", "left")}``.

    Examples:
        >>> import numpy as np
        >>> mask = np.zeros((4, 4), bool)
        >>> mask[:2, :2] = True
        >>> circle = GroundedObject(("red", "circle"), mask, {"size": "small"})
        >>> " ".join(circle.name), int(circle.mask.sum()), circle.attributes["size"]
        ('red circle', 4, 'small')
    """

    name: tuple  # e.g. ("red", "circle")
    mask: np.ndarray  # (H, W) bool, at the image's own size
    attributes: dict = dataclasses.field(default_factory=dict)  # e.g. {"size": "large", "position": ("top", "left")}


@dataclasses.dataclass
class CaptionDataset:
    """Images, several reference captions per image, and optionally grounded objects per image.

    Args:
        images: a uint8 array (N, H, W, 3), or a list of N image file paths (decoded lazily, in
            the tf.data pipeline).
        captions: one list of reference captions (strings) per image.
        objects: None, or one list of ``GroundedObject`` per image.
        name: what messages and results call the dataset, e.g. ``"shapes-train"``.
        object_names: every object name the data's domain has (by default: the names of its
            objects).
        object_modifiers: words that may precede a name in a phrase (e.g. sizes); by default none
            when the data has objects.
        word_classes: class name → words, e.g. ``{"colour": {"red", …}, "position": {"top", …}}``;
            attention correctness is reported per class.
        image_ids: names each image (a COCO id, a file name; by default 0..N−1); what a COCO
            results file reports.
        on_bad_image: what training, evaluation and a feature cache's ``cached_part`` do with a
            file that cannot be decoded: ``"error"`` (raise, naming it) or ``"skip"`` (leave it
            out and count it in one warning); the readers set it.

    Raises:
        ValueError: for no images, a count of captions lists, ids or objects that differs from the
            images', repeated ids, an unknown ``on_bad_image``, ``word_classes`` that do not map
            names to sets of words, or a caption that is not a string with at least one word (a
            letter or digit): the message names the image and the caption's place.

    Examples:
        >>> data = CaptionDataset(["a.png", "b.png"], [["a red circle", "a circle"], ["a blue square"]])
        >>> len(data), data.num_captions, data.image_ids
        (2, 3, [0, 1])
        >>> CaptionDataset(["a.png"], [["a red circle", " "]])
        Traceback (most recent call last):
        ValueError: Caption 2 of 2 of image 0 (captions[0][1]) is blank: ' '. ...
    """

    images: object
    captions: list
    objects: list = None
    name: str = "captions"
    object_names: frozenset = None  # every name the data's domain has (default: those of its objects)
    object_modifiers: frozenset = None  # words that may precede a name in a phrase (e.g. sizes)
    word_classes: dict = None  # class → words, e.g. {"colour": {"red", …}, "position": {"top", …}}
    image_ids: list = None
    on_bad_image: str = "error"

    def __post_init__(self):
        if len(self.images) != len(self.captions):
            raise ValueError(f"{len(self.images)} images but {len(self.captions)} caption lists: "
                             "one list of reference captions per image is needed.")
        if len(self.captions) == 0:
            raise ValueError("A CaptionDataset needs at least one image with at least one caption; got 0 images "
                             "and 0 caption lists.")
        for i, refs in enumerate(self.captions):
            if isinstance(refs, str) or len(refs) == 0:
                raise ValueError(f"Image {i} needs a non-empty list of reference captions, got {refs!r}.")
        if self.image_ids is None:
            self.image_ids = list(range(len(self.captions)))
        self.image_ids = list(self.image_ids)
        if len(self.image_ids) != len(self.captions):
            raise ValueError(f"{len(self.image_ids)} image ids for {len(self.captions)} images.")
        if len(set(self.image_ids)) != len(self.image_ids):
            repeated = [i for i, n in collections.Counter(self.image_ids).items() if n > 1]
            raise ValueError(f"Image ids must be unique; {len(repeated)} repeat, e.g. {repeated[:5]!r}.")
        self._check_captions()
        if self.on_bad_image not in BAD_IMAGE_CHOICES:
            raise ValueError(f"on_bad_image must be one of {', '.join(BAD_IMAGE_CHOICES)}; got {self.on_bad_image!r}.")
        if self.objects is not None:
            if len(self.objects) != len(self.captions):
                raise ValueError(f"{len(self.objects)} object lists for {len(self.captions)} images.")
            if self.object_names is None:
                self.object_names = frozenset(o.name for objects in self.objects for o in objects)
            if self.object_modifiers is None:
                self.object_modifiers = frozenset()
        if self.word_classes is not None:
            if not isinstance(self.word_classes, dict) or not all(
                    isinstance(k, str) and not isinstance(v, str) for k, v in self.word_classes.items()):
                raise ValueError("word_classes must map a class name to a set of words, e.g. "
                                 f"{{'colour': {{'red', 'blue'}}}}; got {self.word_classes!r}.")
            self.word_classes = {k: frozenset(v) for k, v in self.word_classes.items()}

    def _check_captions(self):
        """Every caption is a string with a word: an empty one would teach the model to stop at once."""
        for i, refs in enumerate(self.captions):
            for j, caption in enumerate(refs):
                if isinstance(caption, str) and has_words(caption):
                    continue
                where = f"Caption {j + 1} of {len(refs)} of image {self.image_ids[i]!r} (captions[{i}][{j}])"
                if not isinstance(caption, str):
                    raise ValueError(f"{where} is not a string: {caption!r} ({type(caption).__name__}). Captions "
                                     "are strings of words.")
                raise ValueError(f"{where} is {'blank' if not caption.strip() else 'without words'}: {caption!r}. "
                                 "Every reference caption needs at least one word (a letter or digit): remove the "
                                 "caption or write it.")

    def __len__(self):
        return len(self.captions)

    @property
    def num_captions(self):
        """How many reference captions the dataset has in all."""
        return sum(len(refs) for refs in self.captions)

    def all_captions(self):
        """Every reference caption, image after image (what a vocabulary is built from).

        Returns:
            A flat list of strings.
        """
        return [c for refs in self.captions for c in refs]

    def subset(self, indices):
        """The images at ``indices``, with their captions, objects and ids (the other fields kept).

        Args:
            indices: positions of images in this dataset, in the order wanted.

        Returns:
            A new CaptionDataset.

        Examples:
            >>> from showattend.datasets import shapes
            >>> shapes("val", num_images=5).subset([4, 0]).image_ids
            [4, 0]
        """
        indices = list(indices)
        images = self.images[indices] if isinstance(self.images, np.ndarray) else [self.images[i] for i in indices]
        objects = None if self.objects is None else [self.objects[i] for i in indices]
        return dataclasses.replace(self, images=images, captions=[self.captions[i] for i in indices], objects=objects,
                                   image_ids=[self.image_ids[i] for i in indices])
