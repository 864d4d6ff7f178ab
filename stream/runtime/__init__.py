"""The runtime shells around the fold: the Kafka worker and its partitions, the Redis sink, publishing and replay."""
