"""The protocol-independent model: OCPP 1.6 and 2.0.1 disappear behind these types.

`StationTranslator` turns relayed frames into `events`; `commands` turn what the controller
wants into each version's calls and their answers into typed outcomes; `profiles`,
`clearing`, `schedules` and `composite` are the charging-profile codec and its arithmetic.
Nothing here does I/O, reads a clock or logs.
"""
