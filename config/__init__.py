"""Settings for every kalepool process: networks, pool terms and limits."""
from config.networks import NETWORKS, Network
from config.settings import ConfigError, Settings, load_settings

__all__ = ["NETWORKS", "ConfigError", "Network", "Settings", "load_settings"]
