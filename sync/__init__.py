"""Storing and moving events: canonical encoding, signing and hash chain, local ledger, sync client, tally server."""
