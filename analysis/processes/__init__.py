"""One module per process: its :class:`~analysis.contract.ProcessDefinition` as ``PROCESS``."""
