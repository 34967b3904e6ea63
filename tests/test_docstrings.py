"""Every public function and class has a docstring a user can work from (Google style, as keras-hub
writes them): a one-line summary; ``Args:`` naming each parameter; ``Returns:``/``Yields:`` when it
gives something back; ``Raises:`` naming each exception it raises itself; and, for functions and
classes, an example under ``Examples:`` (run by test_docstring_examples). An example that cannot run here is marked
``+SKIP`` and its docstring says why, in a line that starts with "Needs".
"""
import ast
import dataclasses
import importlib
import inspect
import re
import textwrap

import pytest

from docsite.modules import public_methods, public_modules, public_names

SECTION = re.compile(r"^(\s*)(Args|Arguments|Attributes|Returns|Yields|Raises|Example|Examples):\s*$")
SKIP_REASON = re.compile(r"^\s*Needs .*(internet|download|GPU|hosts)", re.MULTILINE)


def sections(doc):
    """{section name: [entry names]} of a Google-style docstring."""
    found, current, base, entry_indent = {}, None, 0, None
    for line in doc.splitlines():
        match = SECTION.match(line)
        if match:
            current, base, entry_indent = match.group(2), len(match.group(1)), None
            found.setdefault(current, [])
            continue
        if current is None or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= base:
            current = None
            continue
        entry_indent = indent if entry_indent is None else entry_indent
        entry = re.match(r"\s*\**([\w.]+)\s*(\([^)]*\))?:", line)
        if indent == entry_indent and entry:
            found[current].append(entry.group(1))
    return found


def own_body_nodes(function):
    """The AST nodes of ``function``'s own body (nested functions and classes left out)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError):
        return []
    root = tree.body[0]
    nodes, stack = [], list(ast.iter_child_nodes(root))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def raised_names(function):
    names = set()
    for node in own_body_nodes(function):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name and name[0].isupper():
                names.add(name)
    return names


def gives_back(function):
    nodes = own_body_nodes(function)
    if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in nodes):
        return "Yields"
    for node in nodes:
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return "Returns"
    return None


def parameters(function):
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [name for name in signature.parameters if name not in ("self", "cls")]


def problems_of(qualname, obj, doc, need_example):
    problems = []
    if not doc or not doc.strip():
        return [f"{qualname}: no docstring"]
    lines = doc.strip().splitlines()
    if not lines[0].rstrip().endswith(".") or (len(lines) > 1 and lines[1].strip()):
        problems.append(f"{qualname}: the first line is not a one-line summary ending with a period")
    found = sections(doc)
    if inspect.isclass(obj):
        init = vars(obj).get("__init__")
        names = parameters(init) if init else []
        if dataclasses.is_dataclass(obj):
            names = [field.name for field in dataclasses.fields(obj)]
        documented = found.get("Args", []) + found.get("Arguments", []) + found.get("Attributes", [])
        if init is not None and init.__doc__:
            documented += sum(sections(inspect.getdoc(init)).values(), [])
        function = None
    else:
        names, function = parameters(obj), obj
        documented = found.get("Args", []) + found.get("Arguments", [])
    missing = [name for name in names if name not in documented]
    if missing:
        problems.append(f"{qualname}: Args: does not name {', '.join(missing)}")
    if function is not None:
        kind = gives_back(function)
        if kind and kind not in found and not (kind == "Yields" and "Returns" in found):
            problems.append(f"{qualname}: gives something back but has no {kind}: section")
        raised = raised_names(function)
        unnamed = sorted(name for name in raised if name not in doc.split("Raises:", 1)[-1]) if raised else []
        if raised and "Raises" not in found:
            problems.append(f"{qualname}: raises {', '.join(sorted(raised))} but has no Raises: section")
        elif unnamed:
            problems.append(f"{qualname}: Raises: does not name {', '.join(unnamed)}")
    if need_example and ">>>" not in doc:
        problems.append(f"{qualname}: no example (>>>)")
    if ">>>" in doc and ("Examples" not in found or doc.index(">>>") < doc.index("Examples:")):
        problems.append(f"{qualname}: examples belong under an indented 'Examples:' section (the docs render them "
                        "as code only there)")
    if "+SKIP" in doc and not SKIP_REASON.search(doc):
        problems.append(f"{qualname}: an example is skipped without a line saying why (Needs the internet/a download/…)")
    return problems


@pytest.mark.parametrize("module_name", public_modules())
def test_public_docstrings(module_name):
    module = importlib.import_module(module_name)
    problems = [] if (module.__doc__ or "").strip() else [f"{module_name}: no module docstring"]
    for name, obj in public_names(module):
        problems += problems_of(f"{module_name}.{name}", obj, inspect.getdoc(obj), need_example=True)
        if inspect.isclass(obj):
            for method_name, method in public_methods(obj):
                problems += problems_of(f"{module_name}.{name}.{method_name}", method, inspect.getdoc(method),
                                        need_example=False)
    assert not problems, f"{len(problems)} docstring problems:\n" + "\n".join(problems)


def test_the_check_finds_what_it_should():
    def documented(images, beam_size=3):
        """Caption some images.

        Args:
            images: the images.
            beam_size: beams.

        Returns:
            Captions.

        Raises:
            ValueError: when empty.

        Examples:
            >>> 1
            1
        """
        if not images:
            raise ValueError("empty")
        return images

    def undocumented(images, beam_size=3):
        """caption some images
        over two lines"""
        if not images:
            raise KeyError("empty")
        return images

    assert problems_of("documented", documented, inspect.getdoc(documented), True) == []
    found = problems_of("undocumented", undocumented, inspect.getdoc(undocumented), True)
    assert len(found) == 5, found
    assert problems_of("f", documented, "Sum.\n\n>>> 1\n1\n", False) == [
        "f: Args: does not name images, beam_size", "f: gives something back but has no Returns: section",
        "f: raises ValueError but has no Raises: section",
        "f: examples belong under an indented 'Examples:' section (the docs render them as code only there)"]
    assert sections(inspect.getdoc(documented)) == {"Args": ["images", "beam_size"], "Returns": [],
                                                    "Raises": ["ValueError"], "Examples": []}
