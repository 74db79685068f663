"""The ``triops`` command line (Typer + rich). Heavy libraries are imported inside commands."""
