"""composite: one uvicorn process serving several applications, each on its own port.

``composite.server`` is the generic server (sockets, port router, lifespan fan-out,
protocol guard, middleware); ``composite.db`` is the shared in-process DuckDB layer;
``composite.library`` is the prompt library the project ships as its reference site.
The server imports nothing from the library.
"""

__version__ = "1.0.0"
