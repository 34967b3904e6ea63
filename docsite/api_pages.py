"""The API reference: one page per public module, and an index with each module's summary line."""
import importlib
import inspect
import pkgutil


def summary(name):
    """The first line of a module's docstring."""
    doc = importlib.import_module(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _first_line(obj):
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0].replace("|", "/") if doc else ""


def module_page(name):
    """The Markdown of one module's page: mkdocstrings renders it from the docstrings.

    A module with ``__all__`` shows those names only. A package's page shows its docstring and a table of what it exports, each name linked to the
    page of the module that defines it (so nothing is rendered twice).
    """
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        if hasattr(module, "__all__"):  # what the module declares public, not every name without an underscore
            return f"::: {name}\n    options:\n      members: {list(module.__all__) or 'false'}\n"
        return f"::: {name}\n"
    exported = [(export, getattr(module, export)) for export in getattr(module, "__all__", [])]
    exported = [(export, value) for export, value in exported if inspect.isclass(value) or inspect.isfunction(value)]
    own = [export for export, value in exported if value.__module__ == name]  # defined in the package itself
    exported = [(export, value) for export, value in exported if value.__module__ != name]
    lines = [f"::: {name}", "    options:", f"      members: {own or 'false'}", ""]
    if exported:
        lines += ["## Exports", "", "| Name | What it is |", "|---|---|"]
        for export, value in exported:
            lines.append(f"| [`{name}.{export}`][{value.__module__}.{value.__name__}] | {_first_line(value)} |")
    subpackages = [info.name for info in pkgutil.iter_modules(module.__path__) if not info.name.startswith("_")]
    if subpackages:
        lines += ["", "## Modules", "", ", ".join(f"[`{name}.{sub}`]({name}.{sub}.md)" for sub in subpackages)]
    return "\n".join(lines) + "\n"


def api_nav(modules):
    """The nav entries under "API reference": the index, then a section of modules per package."""
    packages = sorted({name.split(".")[0] for name in modules})
    return ["api/index.md"] + [{package: [{name: f"api/{name}.md"} for name in modules
                                          if name.split(".")[0] == package]} for package in packages]


def api_index(modules):
    """The Markdown of the API index: a table per package of module and summary."""
    lines = ["# API reference", "",
             "Every public module, rendered from its docstrings. Start with [`showattend`](showattend.md): "
             "it exports what a first user needs.", ""]
    for package in sorted({name.split(".")[0] for name in modules}):
        lines += [f"## `{package}`", "", "| Module | What it holds |", "|---|---|"]
        for name in modules:
            if name.split(".")[0] == package:
                lines.append(f"| [`{name}`]({name}.md) | {summary(name).replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)
