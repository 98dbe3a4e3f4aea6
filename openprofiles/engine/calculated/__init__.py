"""Calculated attributes (REFERENCE 3): definitions, their Expression, Filter and values.

``expression`` parses ``{ObjectTypeName.AttributeName}`` arithmetic; ``filters`` decides which
objects feed an attribute; ``definitions`` checks and keeps definitions; ``values`` computes a
profile's value from its stored objects.
"""
