"""Website views, one blueprint per area."""
