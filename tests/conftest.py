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



# Three pytest workers on CI's two cores (`make test`: -n 3 --dist loadfile --no-loadscope-reorder): much
# of a test is single-threaded tracing or waiting on a child process, so a third worker keeps both cores
# busy (a clean clone: 23.6 min in pytest with -n 3 against 26.8 with -n 2). A test file's tests stay on
# one worker, so the models its module fixtures train are trained once. The files that take longest
# start first, so that no worker is left with a long file at the end.
SLOW_FIRST = ("test_notebooks.py", "test_guides.py", "test_tuning.py", "test_viewer_browser.py", "test_tuning_training.py",
              "test_signals.py",
              "test_tune_cli.py", "test_file_faults.py", "test_training.py", "test_distribution.py",
              "test_mixed_precision.py", "test_transformer.py", "test_multi_worker_train.py", "test_hub.py",
              "test_docstring_examples.py", "test_compiled_search.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
