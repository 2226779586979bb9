"""Sizes of the probe's BPF maps, and what happens when one fills up.

- ``procs`` (hash, PROC_ENTRIES): one entry per process that moved a counted byte. Entries leave
  when the process exits (moved to ``exited``) or when user space sees the pid gone. If it is full,
  a new process's bytes are not counted and ``drops[0]`` grows: the JSON record then carries
  ``dropped_updates`` and the TUI says so. 16,384 live processes with traffic is far past any
  machine we know.
- ``exited`` (hash, EXITED_ENTRIES): processes that exited since the last read; emptied every
  interval. If it is full (more exits per interval than it holds), the exiting process's entry
  stays in ``procs`` and user space reports it when it sees the pid gone (``drops[1]`` counts it);
  no byte is lost, but a pid reused within that interval would share the entry.
- ``socks`` (LRU hash, SOCK_ENTRIES): per-socket bytes and addresses for the detail view. LRU:
  when full, the least recently used socket's entry is evicted; per-process totals do not depend
  on it. Entry size about 100 bytes, so 65,536 entries cost about 6.5 MB of kernel memory.
"""

MAP_SIZES = {"PROC_ENTRIES": 16384, "EXITED_ENTRIES": 16384, "SOCK_ENTRIES": 65536}
