"""The training engine shared by the CLI and the web app.

It validates a config (``parse_config``), builds the task's data and network, and runs
a ``TrainingJob`` that reports events through a callable it is given. It knows nothing
of Flask or of terminals: each front end decides where the events go.
"""

from ..errors import ConfigError
from .config import TASKS, as_dict, defaults, parse_config, parse_update
from .job import TrainingJob

__all__ = [
    "TASKS",
    "ConfigError",
    "TrainingJob",
    "as_dict",
    "defaults",
    "parse_config",
    "parse_update",
]
