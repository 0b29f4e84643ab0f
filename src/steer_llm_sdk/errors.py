"""``steer_llm_sdk.errors``: the error tree of ``steer_common.errors``."""

from steer_common.errors import *  # noqa: F403
from steer_common.errors import __all__  # noqa: F401
