"""Applications written as outsiders write them, served by ``composite serve`` in the tests."""
