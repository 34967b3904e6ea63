"""The on-disk feature cache for frozen backbones: each image through the CNN once, then read from disk.

A cache is a folder:

- ``cache.json``: the key (backbone, the SHA-256 of its weights, image size, preprocessing, grid),
  checked whenever the cache is reused, so features of another backbone are never mixed in;
- ``shard_00000.npy`` …: float16 grids (images, h, w, C), a few hundred images each, and beside
  each one ``shard_00000.json`` with the image paths it holds, each file's size and modification
  time when it was read (and the files it could not read).

A shard is written whole and atomically, its list last, so a killed extraction leaves only complete
shards behind and the next run goes on from them. Reading memory-maps the shards: training streams
the rows it needs and never holds the whole cache in memory (VGG's 14×14×512 grid in float16 is
200,704 bytes an image, about 25 GB for COCO). Before rows are read for training, the shards they
come from are checked to be whole, and the image files to be the size and age they were when their
features were computed: a damaged shard or a changed image is an error that names it and says
which shard to delete (caches written before sizes were recorded are read without that check).
"""
import hashlib
import os
import re
import sys
import time

import numpy as np

from showattend.files import atomic_write, read_json, writable_folder, write_json
from showattend.locks import FolderLock

CACHE_FILE = "cache.json"
LOCK_FILE = "extracting.lock"
SHARD_LISTING = re.compile(r"shard_(\d{5})\.json")
KEY_FIELDS = ("backbone", "weights_sha256", "image_size", "grid", "preprocessing")
# What happens to a file before the backbone sees it; part of the key, so a change here refuses old caches.
PREPROCESSING = ("PIL decode (EXIF orientation, RGB, alpha over white, JPEG draft), bilinear antialiased "
                 "resize to the backbone's input, rounded to uint8; the backbone's own scaling")


def weights_fingerprint(model):
    """The SHA-256 of a model's weights, their names and values: the same weights, the same print.

    Args:
        model: a Keras model (or layer).

    Returns:
        The first 16 hex digits of the digest, a string.

    Examples:
        >>> import cnn_backbones
        >>> backbone = cnn_backbones.create_backbone("small_vgg", input_shape=(32, 32, 3))
        >>> fingerprint = weights_fingerprint(backbone)
        >>> len(fingerprint), fingerprint == weights_fingerprint(backbone)
        (16, True)
    """
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.path.encode())
        digest.update(np.ascontiguousarray(np.asarray(weight.numpy())).tobytes())
    return digest.hexdigest()[:16]


def backbone_key(backbone, weights=None):
    """The cache key of a backbone model: what must match for cached features to be reused.

    Args:
        backbone: the backbone model (images to a feature grid).
        weights: only a label for people ("imagenet", a file name); the weights themselves are
            compared by their fingerprint (``weights_fingerprint``).

    Returns:
        A dict: ``backbone`` (its name), ``weights`` (the label, or ``"as built"``),
        ``weights_sha256``, ``image_size`` and ``grid`` (lists), ``preprocessing`` (a description).

    Examples:
        >>> import cnn_backbones
        >>> backbone = cnn_backbones.create_backbone("small_vgg", input_shape=(32, 32, 3))
        >>> key = backbone_key(backbone)
        >>> key["backbone"], key["weights"], key["image_size"], key["grid"]
        ('small_vgg', 'as built', [32, 32], [4, 4, 64])
    """
    return {"backbone": backbone.name, "weights": str(weights) if weights is not None else "as built",
            "weights_sha256": weights_fingerprint(backbone), "image_size": list(backbone.input_shape[1:3]),
            "grid": list(backbone.output_shape[1:]), "preprocessing": PREPROCESSING}


def _differences(old, new):
    return [f"{name}: {old.get(name)!r} in the cache, {new.get(name)!r} now"
            for name in KEY_FIELDS if old.get(name) != new.get(name)]


def _check_paths(paths):
    if isinstance(paths, np.ndarray) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise ValueError("The feature cache holds the features of image files, by path; these images are "
                         "arrays (such as the shapes data's), which train from memory without a cache.")


class FeatureCache:
    """Backbone features of image files, stored once as float16 shards and read back by path.

    ``FeatureCache(directory)`` opens a cache that exists; ``FeatureCache.build`` (or
    ``FeatureCache.open`` then ``extract``) makes one, or adds the images it does not hold yet.
    ``len(cache)`` is the number of images it holds, ``path in cache`` whether it holds one.

    Args:
        directory: the cache's folder.

    Attributes:
        key: the cache key (``backbone_key``) the features were made with.
        grid_shape: (h, w, C) of one image's features.
        bad: a dict, path → why, of the files found unreadable and skipped.

    Raises:
        FileNotFoundError: no cache at ``directory``.
        ValueError: its key is not one of this version.

    Examples:
        >>> import os
        >>> import numpy as np
        >>> from PIL import Image
        >>> import cnn_backbones
        >>> os.makedirs("photos", exist_ok=True)
        >>> paths = [f"photos/{n}.png" for n in range(3)]
        >>> for n, path in enumerate(paths):
        ...     Image.fromarray(np.full((40, 40, 3), 60 * n, np.uint8)).save(path)
        >>> backbone = cnn_backbones.create_backbone("small_vgg", input_shape=(32, 32, 3), trainable=False)
        >>> cache = FeatureCache.build("features", backbone, paths, batch_size=2, shard_size=2, verbose=0)
        >>> len(cache), paths[0] in cache, sorted(os.listdir("features"))
        (3, True, ['cache.json', 'shard_00000.json', 'shard_00000.npy', 'shard_00001.json', 'shard_00001.npy'])
        >>> features = FeatureCache("features").read(paths[:2])
        >>> features.shape, features.dtype
        ((2, 4, 4, 64), dtype('float16'))

        With ImageNet weights (``create_backbone("vgg16", weights="imagenet")``, which needs the
        internet once to download them) the same calls cache VGG-16's (14, 14, 512) grids.
    """

    def __init__(self, directory):
        """Open an existing cache folder."""
        self.directory = os.fspath(directory)
        path = os.path.join(self.directory, CACHE_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No feature cache at {self.directory!r} (no {CACHE_FILE}); build one with "
                                    "FeatureCache.build(...) or `showattend features`.")
        self.key = _read_json(path)
        if not all(name in self.key for name in KEY_FIELDS):
            raise ValueError(f"{path} is not a feature cache key of this version (it lacks "
                             f"{', '.join(n for n in KEY_FIELDS if n not in self.key)}): delete {self.directory!r} "
                             "and extract anew.")
        self.grid_shape = tuple(self.key["grid"])
        self._scan()

    def _scan(self):
        """Read every complete shard's listing."""
        self._shards = {}  # shard number → memory-mapped array, opened on first read
        self._rows = {}  # path → (shard number, row)
        self.bad = {}  # path → why it could not be read
        self._files = {}  # path → (size, mtime_ns) when its features were computed (older shards: none)
        self._sizes = {}  # shard number → images it holds
        self._whole = set()  # shard numbers this process found whole
        self._unchanged = set()  # paths this process found unchanged since extraction
        self.shard_numbers = []  # every complete shard, those that kept no image included
        for name in sorted(os.listdir(self.directory)):
            match = SHARD_LISTING.fullmatch(name)  # a kill mid-write leaves *.partial.json: not a shard
            if match:
                number = int(match.group(1))
                contents = _read_json(os.path.join(self.directory, name))
                self._rows.update((p, (number, row)) for row, p in enumerate(contents["images"]))
                self._files.update((p, tuple(f)) for p, f in zip(contents["images"], contents.get("files", []))
                                   if f is not None)
                self.bad.update(contents.get("bad", {}))
                self._sizes[number] = len(contents["images"])
                self.shard_numbers.append(number)

    @classmethod
    def open(cls, directory, backbone, weights=None):
        """Open the cache at ``directory`` for ``backbone``, creating it if needed.

        Args:
            directory: the cache's folder.
            backbone: the backbone model whose features the cache holds.
            weights: a label for the backbone's weights ("imagenet", a file name), kept in the key.

        Returns:
            The FeatureCache.

        Raises:
            ValueError: the cache was made with another key (backbone, weights, image size,
                grid or preprocessing); the message says what differs.
        """
        directory = os.fspath(directory)
        key = backbone_key(backbone, weights)
        if os.path.isfile(os.path.join(directory, CACHE_FILE)):
            cache = cls(directory)
            differences = _differences(cache.key, key)
            if differences:
                raise ValueError(f"The feature cache at {directory!r} was made for another backbone or "
                                 f"preprocessing ({'; '.join(differences)}). Features are never mixed: use "
                                 "another folder, or delete this one to start anew.")
            return cache
        writable_folder(directory, "The feature cache's folder")
        write_json(os.path.join(directory, CACHE_FILE), key)
        return cls(directory)

    @classmethod
    def build(cls, directory, backbone, paths, weights=None, batch_size=32, shard_size=512,
              on_bad_image="error", verbose=1):
        """Open (or create) the cache and extract the features of every path it does not hold yet.

        Args:
            directory: the cache's folder.
            backbone: the backbone model.
            paths: image files.
            weights: a label for the backbone's weights, kept in the key.
            batch_size: images per forward pass.
            shard_size: images per shard file, a multiple of ``batch_size``.
            on_bad_image: ``"error"`` or ``"skip"`` (see ``extract``).
            verbose: 0 for silence, 1 for a progress bar (a line every 30 s in a log file) and
                a closing line.

        Returns:
            The FeatureCache.

        Raises:
            ValueError: ``paths`` are not file paths (the shapes data's arrays, say); nothing is written.
        """
        _check_paths(paths)  # before open() writes the cache's key
        cache = cls.open(directory, backbone, weights)
        cache.extract(backbone, paths, batch_size=batch_size, shard_size=shard_size, on_bad_image=on_bad_image,
                      verbose=verbose)
        return cache

    def __len__(self):
        return len(self._rows)

    def __contains__(self, path):
        return os.fspath(path) in self._rows

    def check(self, backbone):
        """Check that ``backbone`` is the backbone these features came from.

        Args:
            backbone: a backbone model.

        Raises:
            ValueError: its key differs from the cache's; the message says what differs.
        """
        differences = _differences(self.key, backbone_key(backbone))
        if differences:
            raise ValueError(f"The feature cache at {self.directory!r} does not match this model's backbone "
                             f"({'; '.join(differences)}).")

    # --- extraction ------------------------------------------------------------------------------

    def extract(self, backbone, paths, batch_size=32, shard_size=512, on_bad_image="error", verbose=1):
        """Run ``backbone`` over the ``paths`` not cached yet and write their shards.

        Unreadable files raise an error naming them, or with ``on_bad_image="skip"`` are left out,
        remembered and counted in one warning. One extraction at a time writes to a cache: a second
        is refused while the first runs (a lock file names its process; a killed one's lock is
        taken over). Ctrl-C or SIGTERM stops it between two batches; the shards written are kept.

        Args:
            backbone: the backbone model the cache was made for.
            paths: image files (not arrays).
            batch_size: images per forward pass.
            shard_size: images per shard file, a multiple of ``batch_size`` (so that a resumed
                run computes the same batches).
            on_bad_image: ``"error"`` or ``"skip"``.
            verbose: 0 for silence, 1 for a progress bar and a closing line.

        Returns:
            How many files it went through (those found unreadable included); 0 if the cache held
            them all.

        Raises:
            ValueError: another backbone, images given as arrays, or a ``shard_size`` that is not
                a multiple of ``batch_size``.
            BadImageError: an unreadable file, with ``on_bad_image="error"`` (FileNotFoundError
                for a file that is gone).
            LockedError: another extraction is writing to the cache
                (``showattend.locks.LockedError``).
            UnwritableFolderError: the cache's folder is not writable.
        """
        self.check(backbone)
        _check_paths(paths)
        if shard_size % batch_size:
            raise ValueError(f"shard_size ({shard_size}) must be a multiple of batch_size ({batch_size}), so "
                             "that a resumed run computes the same batches.")
        paths = list(dict.fromkeys(os.fspath(p) for p in paths))
        if not [p for p in paths if p not in self._rows and p not in self.bad]:
            return 0
        writable_folder(self.directory, "The feature cache's folder")
        with FolderLock(os.path.join(self.directory, LOCK_FILE), "extraction"):
            self._scan()  # what an extraction that held the lock before this one added
            todo = [p for p in paths if p not in self._rows and p not in self.bad]
            return self._extract(backbone, todo, batch_size, shard_size, on_bad_image, verbose) if todo else 0

    def _extract(self, backbone, todo, batch_size, shard_size, on_bad_image, verbose):
        import tensorflow as tf

        from showattend.data.unreadable import UnreadableImages

        size = tuple(self.key["image_size"])
        unreadable = UnreadableImages(on_bad_image)
        forward = tf.function(lambda images: backbone(tf.cast(images, "float32"), training=False))
        pipeline = (tf.data.Dataset.from_tensor_slices(todo)
                    .map(lambda p: (p, *unreadable.decode(p, size)), num_parallel_calls=tf.data.AUTOTUNE)
                    .batch(batch_size).prefetch(2))
        progress = _progress(len(todo), verbose)
        number = max(self.shard_numbers, default=-1) + 1
        buffer, names, bad, done, started = [], [], {}, 0, time.time()
        from showattend.signals import at_safe_points, stop_if_asked

        with at_safe_points(), unreadable.raising():  # Ctrl-C or SIGTERM stop between two batches
            for batch_paths, images, ok in pipeline:
                ok = ok.numpy()
                batch_paths = [p.decode() for p in batch_paths.numpy()]
                bad.update((p, unreadable.skipped[p]) for p, good in zip(batch_paths, ok) if not good)
                features = forward(images).numpy().astype(np.float16)  # whole batches: same numbers on resume
                buffer.append(features[ok])
                names += [p for p, good in zip(batch_paths, ok) if good]
                done += len(batch_paths)
                if done % shard_size == 0 or done == len(todo):
                    self._write_shard(number, np.concatenate(buffer), names, bad)
                    number, buffer, names, bad = number + 1, [], [], {}
                progress.update(done)
                stop_if_asked()
        if verbose:
            print(f"Cached the features of {done:,} images in {time.time() - started:.0f} s to {self.directory}")
        unreadable.warn()
        return done

    def _write_shard(self, number, features, names, bad):
        stem = os.path.join(self.directory, f"shard_{number:05d}")
        files = [_identity(p) for p in names]  # read just now: what the features are the features of
        atomic_write(stem + ".npy", lambda partial: np.save(partial, features))
        write_json(stem + ".json", {"images": names, "files": files, "bad": bad})  # last: the shard counts from here
        self._rows.update((p, (number, row)) for row, p in enumerate(names))
        self._files.update((p, f) for p, f in zip(names, files) if f is not None)
        self.bad.update(bad)
        self._sizes[number] = len(names)
        self.shard_numbers.append(number)

    # --- reading ---------------------------------------------------------------------------------

    def locate(self, paths):
        """Find the features of ``paths``: where they are in the shards.

        The shards these rows are in are checked to be whole, and the image files to be unchanged
        since extraction (same size and modification time).

        Args:
            paths: image files the cache holds.

        Returns:
            An int64 array (len(paths), 2) of (shard, row), for ``read_rows``.

        Raises:
            ValueError: paths not cached (the message says how many), a damaged shard, or image
                files changed since extraction; the message names the shards to delete and
                extract again.
        """
        paths = [os.fspath(p) for p in paths]
        missing = [p for p in paths if p not in self._rows]
        if missing:
            raise ValueError(f"{len(missing)} of {len(paths)} images are not in the feature cache at "
                             f"{self.directory!r}, e.g. {missing[:3]}. Extract them first (FeatureCache.build "
                             "or `showattend features`).")
        locations = np.array([self._rows[p] for p in paths], dtype=np.int64).reshape(-1, 2)
        for number in np.unique(locations[:, 0]):
            self._check_shard(int(number))
        self._check_unchanged(paths)
        return locations

    def _shard_paths(self, number):
        stem = os.path.join(self.directory, f"shard_{number:05d}")
        return stem + ".npy", stem + ".json"

    def _rebuild(self, numbers):
        named = [f"{os.path.basename(a)} and {os.path.basename(b)}" for a, b in map(self._shard_paths, numbers[:5])]
        more = f" (and {len(numbers) - 5} more shards)" if len(numbers) > 5 else ""
        return (f"Delete {'; '.join(named)}{more} in {self.directory!r} and run `showattend features` (or the same "
                "`showattend train --cache-features`, or FeatureCache.build) again: it extracts only the images "
                "the cache no longer holds.")

    def _check_shard(self, number):
        """Raise unless shard ``number``'s .npy is whole: its header, size and rows agree with its listing."""
        if number in self._whole:
            return
        path = self._shard_paths(number)[0]
        expected = (self._sizes.get(number, 0), *self.grid_shape)
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
                needed = f.tell() + int(np.prod(shape)) * dtype.itemsize
            size = os.path.getsize(path)
            problem = (f"it holds {size:,} bytes of the {needed:,} its header announces" if size < needed else
                       f"it holds an array of shape {shape}, its listing {expected}" if tuple(shape) != expected
                       else None)
        except FileNotFoundError:
            problem = "the file is missing, its listing is not"
        except (OSError, ValueError) as error:
            problem = f"not a NumPy array file: {error}"
        if problem:
            raise ValueError(f"The feature cache shard {path!r} is damaged ({problem}). {self._rebuild([number])}")
        self._whole.add(number)

    def _check_unchanged(self, paths):
        """Raise if image files changed on disk since their features were computed (caches without a record:
        no check; a file gone is not checked: its features are still those of the image it was)."""
        changed = {}
        for path in paths:
            if path in self._unchanged or path not in self._files:
                continue
            now = _identity(path)
            if now is not None and now != self._files[path]:
                changed[path] = now
            else:
                self._unchanged.add(path)
        if not changed:
            return
        path, (size, mtime) = next(iter(changed.items()))
        was_size, was_mtime = self._files[path]
        how = (f"{was_size:,} bytes then, {size:,} now" if size != was_size else
               f"modified {time.ctime(was_mtime / 1e9)} then, {time.ctime(mtime / 1e9)} now")
        shards = sorted({self._rows[p][0] for p in changed})
        count, many = len(changed), len(changed) > 1
        raise ValueError(f"{count} image file{'s' if many else ''} changed on disk since {'their' if many else 'its'} "
                         f"features were cached in {self.directory!r}, e.g. {path!r} ({how}), so the cached features "
                         f"are not those of the image{'s' if many else ''} now. {self._rebuild(shards)}")

    def read_rows(self, locations):
        """Read the features at (shard, row) pairs from ``locate``.

        Args:
            locations: an array (n, 2) of (shard, row), or one pair.

        Returns:
            A float16 array (n, h, w, C).
        """
        locations = np.asarray(locations).reshape(-1, 2)
        out = np.empty((len(locations), *self.grid_shape), dtype=np.float16)
        for number in np.unique(locations[:, 0]):
            if number not in self._shards:
                self._check_shard(int(number))
                self._shards[number] = np.load(self._shard_paths(number)[0], mmap_mode="r")
            where = locations[:, 0] == number
            out[where] = self._shards[number][locations[where, 1]]
        return out

    def read(self, paths):
        """Read the features of image files by path (``locate``, then ``read_rows``).

        Args:
            paths: image files the cache holds.

        Returns:
            A float16 array (len(paths), h, w, C).
        """
        return self.read_rows(self.locate(paths))

    def cached_part(self, dataset):
        """Leave out of ``dataset`` the images this cache skipped as unreadable.

        Images simply missing from the cache fail later, in ``locate``.

        Args:
            dataset: a CaptionDataset of image files.

        Returns:
            ``dataset`` itself if the cache skipped none of its images, else the subset without
            them (only with ``on_bad_image="skip"``).

        Raises:
            ValueError: the cache skipped some of its images and the dataset says
                ``on_bad_image="error"`` (the message names one), or it skipped them all.
        """
        keep = [i for i, p in enumerate(dataset.images) if os.fspath(p) not in self.bad]
        if len(keep) == len(dataset):
            return dataset
        if dataset.on_bad_image != "skip":
            first = next(os.fspath(p) for p in dataset.images if os.fspath(p) in self.bad)
            skipped = len(dataset) - len(keep)
            raise ValueError(f"{skipped} image{'s' if skipped > 1 else ''} of {dataset.name!r} could not be read when the "
                             f"feature cache {self.directory!r} was made, e.g. {self.bad[first]}. Pass "
                             "on_bad_image='skip' to leave them out.")
        if not keep:
            raise ValueError(f"None of the images of {dataset.name!r} could be read (see {self.directory!r}).")
        return dataset.subset(keep)


def _progress(total, verbose):
    """Keras' progress bar (with its ETA) in a terminal; in a log file, a plain line every 30 s."""
    import keras

    if sys.stdout.isatty() or not verbose:
        return keras.utils.Progbar(total, unit_name="image", verbose=verbose)
    return _LogProgress(total)


class _LogProgress:
    def __init__(self, total, every=30.0):
        self.total, self.every, self.started = total, every, time.time()
        self.last = self.started

    def update(self, done):
        now = time.time()
        if now - self.last < self.every and done < self.total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        eta = (self.total - done) / rate if rate else float("inf")
        print(f"{done:,}/{self.total:,} images, {rate:.1f} images/s, ETA {eta:.0f} s", flush=True)


def _read_json(path):
    return read_json(path, "the feature cache is damaged; delete the folder and extract anew")


def _identity(path):
    """(size, mtime_ns) of a file, what tells a rewritten image from the one extracted; None if it is gone."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)
