"""tfmini.server: the master (prune, place, partition, run steps) and the tfmini-server daemon."""
