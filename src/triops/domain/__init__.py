"""Pure domain layer: frozen records, ids, events, the clock protocol and validation rules. No I/O here."""
