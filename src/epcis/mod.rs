//! EPCIS model and streaming readers/writers. Pure: no storage, no web code.
