"""The training engine shared by the CLI and the web app.

It validates a config (``parse_config``), builds the task's data and network, and runs
a ``TrainingJob`` that reports events through a callable it is given. It knows nothing
of Flask or of terminals: each front end decides where the events go.
"""

from ..errors import ConfigError
from .config import as_dict, parse_update
from .job import TrainingJob
from .tasks import TASKS, defaults, parse_config

__all__ = [
    "TASKS",
    "ConfigError",
    "TrainingJob",
    "as_dict",
    "defaults",
    "parse_config",
    "parse_update",
]
