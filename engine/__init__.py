"""Everything that runs without HTTP: workflow host, persistence, org tree, timers.

This package never imports Flask.
"""
