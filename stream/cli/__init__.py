"""The ``floorwatch`` command line and its terminal view."""
