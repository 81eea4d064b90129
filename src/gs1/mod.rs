//! GS1 identifiers: parse, validate and convert. Pure: no I/O, no storage, no web code.
