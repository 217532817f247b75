"""The election itself: package model, voter register, eligibility rules, domain events, documents and reports.

Headless and independent of sync/, reader/ and kiosk/.
"""
