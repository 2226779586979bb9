"""netwatch-tui: per-process network bandwidth measured in the kernel with eBPF."""

__version__ = "0.1.0"
