"""The fold: a pure function of events into live figures, snapshots, deltas and reports (no I/O, no clock)."""
