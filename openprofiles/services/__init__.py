"""The API surface: one handler per operation, grouped in one module per resource family.

A handler maps the operation's input dict to engine calls and the engine's results back to the
operation's output dict. It holds no SQL and no business rule.
"""
