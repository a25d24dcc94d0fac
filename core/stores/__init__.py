"""Built-in storage engines. Each module is a plugin that registers its URL schemes."""
