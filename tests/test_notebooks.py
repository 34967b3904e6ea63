"""Every notebook in notebooks/ runs top to bottom (small budget) and is stored with a real run's outputs."""
import asyncio
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

# TensorFlow's C++ start-up lines ("Could not find cuda drivers", …) go to the terminal, not into the notebook
QUIET_KERNEL = ["--IPKernelApp.capture_fd_output=False"]

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def _figures(notebook):
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs)


def test_the_six_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_attention.ipynb", "03_backbones.ipynb",
                                           "04_your_own_data.ipynb", "05_tuning.ipynb",
                                           "06_attention_without_recurrence.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "run top to bottom once, then save"
    assert not any(output.output_type == "error" for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs)
    assert _figures(notebook) >= 1


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """All notebooks run at once with the small budget: tracing and kernel start-up are mostly
    single-threaded, so on 2 cores running them side by side takes about half the time."""
    async def run_all(clients):
        return await asyncio.gather(*(client.async_execute() for client in clients), return_exceptions=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOWATTEND_NOTEBOOK_BUDGET", "small")
        notebooks = {path.stem: nbformat.read(path, as_version=4) for path in NOTEBOOKS}
        stored = {name: _figures(notebook) for name, notebook in notebooks.items()}
        clients = [NotebookClient(notebook, timeout=900, kernel_name="python3", extra_arguments=QUIET_KERNEL,
                                  resources={"metadata": {"path": str(tmp_path_factory.mktemp(name))}})
                   for name, notebook in notebooks.items()]
        outcomes = asyncio.run(run_all(clients))
    return {name: (notebook, stored[name], outcome)
            for (name, notebook), outcome in zip(notebooks.items(), outcomes)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_a_small_budget(path, executed):
    notebook, stored_figures, outcome = executed[path.stem]
    if isinstance(outcome, BaseException):
        raise outcome  # a cell's error (nbclient's CellExecutionError names the cell) or a timeout
    assert _figures(notebook) == stored_figures
