"""Loading a saved Captioner, and saying what a file is when it is not one."""
import os

import keras

from showattend.captioner import Captioner


def load_captioner(path):
    """Load a Captioner saved with ``Captioner.save`` (or ``showattend train``, ``tune --export``).

    Args:
        path: A ``.keras`` file.

    Returns:
        The Captioner.

    Raises:
        FileNotFoundError: No file at ``path``.
        ImportError: The captioner's encoder is a keras-hub backbone and keras-hub is not installed
            (the message names the extra to install).
        ValueError: The file is not a saved Captioner this version can load; the message says what
            it is: not a zip archive, a truncated or damaged one, another Keras model, or a Captioner
            saved by another version of showattend (with the arguments or classes that differ).

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> vocabulary = Vocabulary.build(["a red circle", "a blue square"], min_count=1)
        >>> model = Captioner("small_vgg", vocabulary, units=16, embed_dim=16, attention_dim=16,
        ...                   image_size=(32, 32))
        >>> model.save("captioner.keras")
        >>> loaded = load_captioner("captioner.keras")
        >>> type(loaded).__name__, loaded.image_size, len(loaded.vocabulary)
        ('Captioner', (32, 32), 9)
        >>> with open("notes.txt", "w") as f:
        ...     _ = f.write("not a model")
        >>> load_captioner("notes.txt")
        Traceback (most recent call last):
        ValueError: 'notes.txt' is not a .keras file (not a zip archive); expected a Captioner saved with
        Captioner.save
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        folder = " (it is a folder)" if os.path.isdir(path) else ""
        raise FileNotFoundError(f"No saved captioner at {path!r}{folder}")
    _check_extras(path)
    try:
        model = keras.saving.load_model(path)
    except MemoryError:
        raise
    except Exception as error:  # Keras reports a damaged file as anything from KeyError to TypeError
        reason = _saved_file_problem(path, error) or f"could not be loaded as a showattend Captioner ({error})"
        raise ValueError(f"{path!r} {reason}") from None
    if not isinstance(model, Captioner):
        raise ValueError(f"{path!r} {_saved_file_problem(path) or f'holds a {type(model).__name__}, not a Captioner'}; "
                         "expected a Captioner saved with Captioner.save or `showattend train`.")
    return model


CAPTIONER_NAME = "showattend>Captioner"


def _check_extras(path):
    """An ImportError that names the extra to install when the saved model needs keras-hub and it is missing."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    with zipfile.ZipFile(path) as archive:
        if "config.json" not in archive.namelist():
            return
        config = archive.read("config.json").decode("utf-8", "replace")
    if "cnn_backbones>HubEncoder" in config:
        from cnn_backbones.hub import MissingExtraError, keras_hub

        try:
            keras_hub()
        except MissingExtraError as error:
            raise MissingExtraError(f"{path!r} holds a captioner whose encoder is a keras-hub backbone. {error}") from None


def _saved_file_problem(path, error=None):
    """What is wrong with a ``.keras`` file that did not load as a Captioner, in words; None if unknown."""
    import inspect
    import json
    import re
    import zipfile

    with open(path, "rb") as f:
        start = f.read(8)
    if not zipfile.is_zipfile(path):
        if start.startswith(b"PK"):
            return ("is not a complete .keras file (the zip archive is truncated: its table of contents, at the "
                    "end, is missing); save or copy it again")
        if start.startswith(b"\x89HDF"):
            return ("is an HDF5 file (a Keras 2 .h5 model or a weights file), not a .keras file; expected a Captioner "
                    "saved with Captioner.save")
        return "is not a .keras file (not a zip archive); expected a Captioner saved with Captioner.save"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names or "model.weights.h5" not in names:
                missing = " and ".join(n for n in ("config.json", "model.weights.h5") if n not in names)
                return f"is a zip archive but not a .keras file (it has no {missing})"
            if error is not None and archive.testzip() is not None:
                return (f"is not a complete .keras file (the zip archive is damaged: {archive.testzip()} fails its "
                        "checksum); save or copy it again")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, EOFError, OSError) as damage:
        return f"is not a complete .keras file (the zip archive is damaged: {damage}); save or copy it again"
    except (ValueError, UnicodeDecodeError):
        return "is not a complete .keras file (its config.json is not valid JSON); save or copy it again"
    name = config.get("registered_name") or config.get("class_name")
    if name != CAPTIONER_NAME:
        if str(name).startswith("showattend>"):
            return (f"was saved by another version of showattend: its model class {name!r} is unknown to this one "
                    f"(expected {CAPTIONER_NAME!r})")
        kind = f"a keras {name} model" if str(config.get("module", "")).startswith("keras") else f"a {name!r} model"
        return f"holds {kind}, not a showattend Captioner"
    arguments = config.get("config", {})
    layer_arguments = {"name", "trainable", "dtype", "autocast"}  # what keras.Model and Layer themselves take
    accepted = set(inspect.signature(Captioner.__init__).parameters) - {"self", "kwargs"}
    lacking = sorted(accepted - set(arguments))
    decoder = arguments.get("decoder")
    if isinstance(decoder, dict):  # a serialized decoder: its own arguments are checked like the model's
        from showattend.decoders import decoder_class, list_decoders

        known = {f"showattend>{decoder_class(n).__name__}": decoder_class(n) for n in list_decoders()}
        cls = known.get(decoder.get("registered_name"))
        if cls is None:
            return (f"was saved by another version of showattend: its decoder class {decoder.get('registered_name')!r} "
                    f"is unknown to this one (expected one of {', '.join(sorted(known))})")
        declared = {"vocab_size", "seed"} | {option.name for option in cls.OPTIONS}
        optional = {"grid_shape"} if cls.uses_grid else set()  # a decoder made outside a Captioner may lack it
        inner = decoder.get("config", {})
        unknown = sorted(set(inner) - declared - optional - layer_arguments)
        lacking += sorted(declared - set(inner))
        declared |= optional
        if unknown:
            return (f"was saved by another version of showattend: its decoder's config has the unknown argument"
                    f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; this version's "
                    f"{cls.registered_name} decoder takes {', '.join(sorted(declared))}")
    else:  # a decoder by name (or an older model) takes the decoder's options flat
        from showattend.decoders import decoder_class, list_decoders

        lacking = [name for name in lacking if name != "decoder"]  # "lstm", the default, when not saved
        accepted |= {option.name for name in list_decoders() for option in decoder_class(name).OPTIONS}
    unknown = sorted(set(arguments) - accepted - layer_arguments)
    if unknown:
        return (f"was saved by another version of showattend: its config has the unknown argument"
                f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; this version's Captioner takes "
                f"{', '.join(sorted(accepted))}")
    missing_class = re.search(r"Could not locate class '([^']+)'", str(error or ""))
    if missing_class:
        return (f"was saved by another version of showattend or cnn_backbones: it uses the class "
                f"{missing_class.group(1)!r}, which this version does not have")
    if lacking and error is not None:
        return (f"was saved by another version of showattend: its config lacks the argument"
                f"{'s' if len(lacking) > 1 else ''} {', '.join(map(repr, lacking))}, and this version's defaults do "
                f"not fit it ({str(error).splitlines()[0].rstrip(':')})")
    return None
