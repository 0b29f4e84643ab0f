"""The version of steer-llm-sdk, single-sourced for all three packages and the build."""

__version__ = "0.1.0"
