"""The contracts every part shares: the wire format of events, its strict decoder, and the floor's configuration."""
