"""Where events come from: readers that turn a floor's logs into wire-format events."""
