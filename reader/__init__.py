"""The My Number card: transport port, PC/SC implementation, card protocol per generation, software card.

Imports nothing from ballots/, sync/ or kiosk/.
"""
