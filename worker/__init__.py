"""tfmini.worker: runs registered graph partitions with numpy kernels and keeps variables."""
