"""vetbot: a Chinese-language assistant for veterans' services and preferential treatment."""

__version__ = "0.1.0"
