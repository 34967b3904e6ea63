"""Distribution of showattend: attention-based image captioning in Keras 3."""
from pathlib import Path

from setuptools import find_packages, setup

README = Path(__file__).with_name("README.md")
DOCS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"]
HUB = ["keras-hub>=0.32"]  # create_backbone("hub:PRESET"): keras-hub's image encoders (DINOv2, CLIP, ViT, …)

setup(
    name="showattend",
    version="0.1.0",
    description='"Show, Attend and Tell" image captioning in Keras 3 on TensorFlow',
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["showattend", "showattend.*", "cnn_backbones", "cnn_backbones.*"]),
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "numpy",
        "pillow",
        "matplotlib",
        "pycocoevalcap>=1.2",
        "nltk",  # corpus_bleu for the per-epoch validation BLEU (no nltk data is downloaded)
        "tensorflow-datasets",  # showattend.datasets.tfds; imported lazily
        "keras-tuner[bayesian]>=1.4.7,<1.5",  # showattend.tuning (imported lazily); [bayesian]: scipy, scikit-learn
        "tensorboard",  # `showattend train --tensorboard`: tf.summary needs it to write logs
        "flask>=3",  # `showattend serve`: the attention viewer as a local web app
    ],
    extras_require={
        # the tests execute the notebooks too (nbclient on an ipykernel)
        # pytest-xdist: two workers (the suite's subprocess tests wait on their children half the time)
        # the tests build the docs site strictly once, so they need its tools too; and they test the hub extra
        "test": ["pytest>=7", "pytest-xdist>=3", "selenium>=4.10", "nbclient>=0.7", "nbformat>=5", "ipykernel>=6", *DOCS, *HUB],
        "docs": DOCS,
        "hub": HUB,
        "notebooks": ["jupyterlab"],
    },
    entry_points={"console_scripts": ["showattend=showattend.cli:main"]},
)
