"""Local development: the embedded default (SQLite, eager tasks) unless the
environment names a database and broker."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
