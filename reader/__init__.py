"""The My Number card: transport port, PC/SC implementation, card protocol per generation, software card.

Imports nothing from ballots/, sync/ or kiosk/.

- ``reader.service``: ``CardReader`` / ``CardSession`` — what the kiosk calls (from a background thread).
- ``reader.outcomes``: ``BasicInfo`` and the typed outcomes, each failure with a Japanese ``message`` for the clerk.
- ``reader.pcsc``: ``PcscConnector`` (the real reader), ``PcscMonitor`` (readers and cards coming and going),
  ``list_readers``. The only module that imports pyscard; import it only where PC/SC is used.
- ``reader.softcard``: ``SoftwareCard.from_persona(path)`` for tests and the demo; ``reader.vpcd``: ``VpcdCard``
  puts it into pcscd's virtual reader.
- ``reader.transport`` (the port and its errors), ``reader.apdu`` (commands, Le dialogue, piecewise file reads),
  ``reader.tlv`` (BER-TLV), ``reader.collation`` (照合番号B), ``reader.profiles`` (one module per card generation).
"""
