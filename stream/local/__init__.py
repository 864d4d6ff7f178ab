"""The whole floor on one machine: embedded broker and Redis, and ``floorwatch up``."""
