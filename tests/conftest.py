import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402

from showattend import Captioner, Vocabulary  # noqa: E402
from showattend.datasets import shapes  # noqa: E402


@pytest.fixture(scope="session")
def small_data():
    return shapes("train", num_images=24, seed=3)


@pytest.fixture(scope="session")
def vocabulary(small_data):
    return Vocabulary.build(small_data.all_captions(), min_count=1)


@pytest.fixture(scope="session")
def captioner(vocabulary):
    """An untrained, small captioner: enough for shapes, inputs and save/load."""
    keras.utils.set_random_seed(0)
    return Captioner("small_vgg", vocabulary, embed_dim=16, units=32, attention_dim=16, max_length=12)


# Two pytest workers (`make test`: -n 2 --dist loadgroup). A test file's tests stay on one worker, so
# the models its module fixtures train are trained once; the files below hold many independent tests
# (a page, a module's examples) and spread over both workers, test by test.
SPREAD = {"test_docstring_examples.py", "test_guides.py", "test_docstrings.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        name = item.path.name
        group = item.nodeid if name in SPREAD else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
