"""Each door's words: the layer's answers (statuses, numbers, codes) rendered per channel.

`ukrainian.py` holds what every channel says alike (names of kinds and units, dates, plurals);
`web.py` renders the cabinet's JSON; `viber.py` and `phone.py` render messages and TwiML.
"""
