"""Segments: definitions checked and stored (`definitions`), compiled into one SQL predicate
over profiles (`compiler`), and evaluated for estimates and membership checks (`evaluate`)."""
