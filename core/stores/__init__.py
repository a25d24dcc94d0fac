"""Built-in storage engines: each package (``sqlite``, ``mongo``) is a plugin that registers
its URL schemes; ``salvage`` reads a stored task field by field, for both."""
