"""Agent types: households, firms, local authorities, platforms."""
