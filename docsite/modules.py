"""The public modules of the package and their public names, found rather than listed.

The docs build (one API page per module), the doctest runner and the docstring check all read the
same list, so a new module is documented and tested without anyone adding it anywhere.
"""
import importlib
import inspect
import pkgutil

PACKAGES = ("showattend", "cnn_backbones")


def public_modules():
    """The importable names of every public module (no part of the name starts with ``_``).

    Returns:
        A sorted list such as ``["cnn_backbones", "cnn_backbones.blocks", ...]``.
    """
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


def public_names(module):
    """The functions and classes that ``module`` defines for its users.

    ``__all__`` when the module declares it (names it re-exports from elsewhere are left to the
    module that defines them), otherwise every name without a leading underscore.

    Args:
        module: an imported module.

    Returns:
        A list of ``(name, object)`` pairs, functions and classes defined in ``module`` itself.
    """
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    found = []
    for name in names:
        value = getattr(module, name)
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__:
            found.append((name, value))
    return found


def public_methods(cls):
    """The methods a user calls on ``cls`` that ``cls`` itself defines, overrides of a base excluded.

    An override (``call``, ``get_config``, ``build`` of a Keras layer, ``run_trial`` of a tuner)
    is documented by the base class; a method new to ``cls`` is documented here.

    Args:
        cls: a class.

    Returns:
        A list of ``(name, function)`` pairs.
    """
    inherited = {name for base in cls.__mro__[1:] for name in vars(base)}
    return [(name, value) for name, value in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(value) and name not in inherited]
