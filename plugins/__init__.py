"""Built-in plugins: each package registers what it provides through the hooks in roost.core.hookspecs."""
