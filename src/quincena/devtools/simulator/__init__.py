"""A DeepSeek-compatible simulator: ``quincena simulator`` or ``start_simulator()`` in-process."""

from quincena.devtools.simulator.config import SimulatorConfig
from quincena.devtools.simulator.server import SimulatorHandle, start_simulator

__all__ = ["SimulatorConfig", "SimulatorHandle", "start_simulator"]
