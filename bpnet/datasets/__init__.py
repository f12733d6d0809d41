"""Data sets for bpnet: functions a learner types, and small image sets to classify.

``curve`` and ``surface`` sample a typed expression into normalised training and validation
arrays; ``load_mnist`` and ``load_dataset`` give MNIST (shipped) and Fashion-MNIST (if installed)
as one shared read-only copy per process; ``read_idx`` reads the IDX files they come in.
"""

from bpnet.datasets.functions import (
    CURVE_PRESETS,
    SURFACE_PRESETS,
    FunctionDataset,
    Points,
    curve,
    surface,
)
from bpnet.datasets.idx import load_idx_pair, read_idx
from bpnet.datasets.mnist import (
    CLASS_NAMES,
    DATASETS,
    DatasetInfo,
    available_datasets,
    data_dir,
    load_dataset,
    load_mnist,
    load_mnist_uint8,
)

__all__ = [
    "CLASS_NAMES",
    "CURVE_PRESETS",
    "DATASETS",
    "SURFACE_PRESETS",
    "DatasetInfo",
    "FunctionDataset",
    "Points",
    "available_datasets",
    "curve",
    "data_dir",
    "load_dataset",
    "load_idx_pair",
    "load_mnist",
    "load_mnist_uint8",
    "read_idx",
    "surface",
]
