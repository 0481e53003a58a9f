"""Command modules; each defines ``register(app)``."""
