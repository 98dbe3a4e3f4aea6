"""The behaviour of the service, in plain Python over the store: no HTTP, no protocol."""
