"""``showattend.datasets`` and the other subpackages are attributes of the package, imported on first use."""
import json
import subprocess
import sys

import pytest

import showattend

# Run in a fresh interpreter: this test session has imported most of the package already.
PROBE = """
import json, sys, types
import showattend
before = {name: name in sys.modules for name in ("showattend.tuning", "keras_tuner", "showattend.datasets")}
listed = [name for name in showattend.SUBMODULES if name in dir(showattend)]
modules = {name: getattr(showattend, name) for name in showattend.SUBMODULES}
after = {name: name in sys.modules for name in ("showattend.tuning", "keras_tuner", "showattend.datasets")}
print(json.dumps({"before": before, "after": after, "listed": listed,
                  "names": {k: v.__name__ for k, v in modules.items() if isinstance(v, types.ModuleType)},
                  "load": showattend.datasets.load.__module__}))
"""


def test_subpackages_are_lazy_attributes_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # `import showattend` alone imports neither the tuner nor the readers …
    assert report["before"] == {"showattend.tuning": False, "keras_tuner": False, "showattend.datasets": False}
    # … and each of the 12 subpackages is listed by dir() and reachable afterwards
    assert len(showattend.SUBMODULES) == 12 and report["listed"] == list(showattend.SUBMODULES)
    assert report["names"] == {name: f"showattend.{name}" for name in showattend.SUBMODULES}
    assert report["after"] == {"showattend.tuning": True, "keras_tuner": True, "showattend.datasets": True}
    assert report["load"] == "showattend.datasets.load"


def test_an_unknown_attribute_names_itself_and_the_subpackages():
    with pytest.raises(AttributeError, match=r"module 'showattend' has no attribute 'dataset'\. Available "
                                             r"subpackages: callbacks, data, datasets, .*visualize; and Caption, "
                                             r"Captioner"):
        showattend.dataset  # noqa: B018 (the attribute access is the test)
    assert not hasattr(showattend, "tunning")
    assert {"datasets", "tuning", "Captioner", "__version__"} <= set(dir(showattend))
